#!/usr/bin/env python3
"""Where the vision graph's time goes (issue 18 item 1), from either profile the bench app can record.

  vision_profile.py ncu ncu.csv --runs N --crops C [--json out.json]
      Nsight Compute CSV of N vision runs of C crops (`ncu --profile-from-start off --metrics gpu__time_duration.sum
      --csv ... Magma.Bench.Gpu --vision-profile N --vision-profile-crops C`): GPU kernel time per run and per crop,
      grouped by kind (convolutions, layout transposes, LayerNorm, GELU, GEMMs, elementwise) and by kernel name.
  vision_profile.py ort ort-vision_*.json [--skip 2] [--json out.json]
      ONNX Runtime's own profile of the vision session (`--vision-ort-profile`): per run (grouped by the crop count of
      the run's input), time per ONNX op type and the slowest nodes. On CUDA these are the host's times inside each
      kernel launch, not GPU time (ORT's release build has no CUPTI tracing): read them for the node and op counts and
      for what blocks the host; the GPU time per kind is ncu's view.
"""
import argparse
import collections
import gzip
import json
import sys

import ncu_summary  # beside this file: the ncu CSV reader and the grouping by kind

KINDS = [  # first match wins; cuDNN / cuBLAS / ORT 1.31 kernel names (demangled)
    ("layout transposes (NCHW<->NHWC)", r"[Tt]ranspose|nchwToNhwc|nhwcToNchw|NCHWToNHWC|NHWCToNCHW|permute|Permute|swizzle"),
    ("convolutions (cuDNN)", r"conv|Conv|fprop|dgrad|implicit|depthwise|Depthwise|cudnn|xmma_fprop|winograd|fft|precomputed"),
    ("LayerNorm", r"LayerNorm|layer_norm|LayerNormalization|RMSNorm"),
    ("GELU / erf", r"Gelu|gelu|Erf|erf"),
    ("GEMMs (Linear 1x1, projector)", r"gemm|Gemm|gemv|Gemv|nvjet|cutlass|sm90_|tinygemm|ampere_|hopper|splitK|MatMul"),
    ("elementwise (scale, residual add, cast)", r"Elementwise|BinaryElementWise|_Add|_Mul|Add|Mul|Cast|Div|Sub|Impl_|Pow|Sqrt"),
    ("reduce / pooling", r"Reduce|reduce|cub|Pool|pool|Mean"),
    ("copies / concat / slice", r"Copy|copy|Concat|Slice|Gather|Memcpy|memcpy|Fill|Expand|Pad"),
]


def _open(path: str):
    return gzip.open(path, "rt", newline="", errors="replace") if path.endswith(".gz") else open(path, newline="", errors="replace")


def table(title, groups, per, unit_note, top=None):
    lines = [f"| {title} | kernels / nodes per run | ms per run | share |", "| --- | ---: | ---: | ---: |"]
    total = sum(t for _, t in groups.values())
    for key, (count, t) in sorted(groups.items(), key=lambda kv: -kv[1][1])[:top]:
        lines.append(f"| {key[:110]} | {count / per:.1f} | {t / per / 1000:.3f} | {100 * t / max(total, 1e-9):.1f} % |")
    lines.append(f"| total{unit_note} | {sum(c for c, _ in groups.values()) / per:.1f} | {total / per / 1000:.3f} | |")
    return "\n".join(lines)


def ncu(a) -> dict:
    times = ncu_summary.kernel_times(a.file)
    if not times:
        sys.exit(f"no gpu__time_duration rows in {a.file}")
    by_kind, by_name = ncu_summary.group(times, KINDS)
    total = sum(t for _, t in times)
    print(f"{len(times)} kernels in {a.runs} runs of {a.crops} crops: {total / a.runs / 1000:.3f} ms of GPU time per run, "
          f"{total / a.runs / a.crops / 1000:.3f} ms per crop (sum of kernel durations: no launch gaps)\n")
    print(table("kind", by_kind, a.runs, " (GPU)"))
    print()
    print(table("kernel", by_name, a.runs, " (all kernels)", top=a.top))
    return {"runs": a.runs, "crops": a.crops, "ms_per_run": total / a.runs / 1000, "ms_per_crop": total / a.runs / a.crops / 1000,
            "by_kind": {k: {"per_run": c / a.runs, "ms_per_run": t / a.runs / 1000} for k, (c, t) in by_kind.items()},
            "top": [{"name": n, "per_run": c / a.runs, "ms_per_run": t / a.runs / 1000}
                    for n, (c, t) in sorted(by_name.items(), key=lambda kv: -kv[1][1])[:a.top]]}


def ort(a) -> dict:
    with _open(a.file) as f:
        events = json.load(f)
    runs = sorted((e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"), key=lambda e: e["ts"])
    nodes = sorted((e for e in events if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time")), key=lambda e: e["ts"])
    per_batch = collections.defaultdict(list)
    i = 0
    for run in runs:
        start, end = run["ts"], run["ts"] + run["dur"]
        inside = []
        while i < len(nodes) and nodes[i]["ts"] < start:
            i += 1
        while i < len(nodes) and nodes[i]["ts"] <= end:
            inside.append(nodes[i])
            i += 1
        if not inside:
            continue
        shapes = inside[0]["args"].get("input_type_shape") or [{}]
        dims = next(iter(shapes[0].values()), [0])
        per_batch[dims[0] if dims else 0].append((run, inside))
    out = {}
    for batch, items in sorted(per_batch.items()):
        kept = items[a.skip:]
        if not kept:
            print(f"## {batch} crop(s) per run: only {len(items)} warm-up run(s), left out\n")
            continue
        n = len(kept)
        by_op, by_node = collections.defaultdict(lambda: [0, 0.0]), collections.defaultdict(lambda: [0, 0.0])
        provider = collections.Counter()
        for _, inside in kept:
            for e in inside:
                op = e["args"].get("op_name", "?")
                provider[e["args"].get("provider", "?")] += 1
                for d, key in ((by_op, op), (by_node, f"{e['name'][:-len('_kernel_time')]} ({op})")):
                    d[key][0] += 1
                    d[key][1] += e["dur"]
        wall = sum(r["dur"] for r, _ in kept) / n / 1000
        print(f"## {batch} crop(s) per run: {n} runs (first {a.skip} of {len(items)} skipped), model_run {wall:.3f} ms, "
              f"nodes per run {sum(c for c, _ in by_op.values()) / n:.0f}, providers {dict(provider)}\n")
        print(table("ONNX op type", by_op, n, " (host time in the nodes)"))
        print()
        print(table("node", by_node, n, " (slowest nodes)", top=a.top))
        print()
        out[str(batch)] = {"runs": n, "model_run_ms": wall,
                           "by_op": {k: {"per_run": c / n, "ms_per_run": t / n / 1000} for k, (c, t) in by_op.items()}}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    n = sub.add_parser("ncu")
    n.add_argument("file")
    n.add_argument("--runs", type=int, required=True)
    n.add_argument("--crops", type=int, required=True)
    o = sub.add_parser("ort")
    o.add_argument("file")
    o.add_argument("--skip", type=int, default=2, help="runs per crop count left out (warm-up: cuDNN's set-up)")
    for p in (n, o):
        p.add_argument("--top", type=int, default=25)
        p.add_argument("--json")
    a = ap.parse_args(argv)
    result = ncu(a) if a.what == "ncu" else ort(a)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
