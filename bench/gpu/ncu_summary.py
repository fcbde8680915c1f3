#!/usr/bin/env python3
"""Summarises an Nsight Compute CSV of decode steps (bench/gpu/variants.sh `profile`) kernel by kernel.

ncu --profile-from-start off --metrics gpu__time_duration.sum --csv --log-file X.csv Magma.Bench.Gpu ... --profile-steps N
records every kernel launched inside the app's cudaProfilerStart/Stop range (N decode steps, CUDA-graph nodes
included). This prints, per step: the kernel count, the sum of kernel durations (what the step would take with no gap
between kernels), and the kernels grouped by kind and by name, largest first; --json writes the same as JSON.
"""
import argparse
import collections
import csv
import gzip
import json
import re
import sys

UNITS = {"nsecond": 1e-3, "ns": 1e-3, "usecond": 1.0, "us": 1.0, "msecond": 1e3, "ms": 1e3, "second": 1e6, "s": 1e6}
KINDS = [  # first match wins; names are ORT 1.31 / cuBLAS / cuDNN kernel names (demangled)
    ("int4/int8 matmul (MatMulNBits)", r"MatMulFloatInt|matmul_?[48]bits|Dequantize|BlkQ|nbits|MatMulNBits|fpA_intB"),
    ("attention (GQA)", r"flash|fmha|attention|Attention|xqa|Xqa|masked_multihead|Rotary|rotary|ConcatNewToPast|ConcatPastToPresent|ConcatKV|kv_?cache|UnpackQKV|PackedQKV"),
    ("fp16 GEMM/GEMV (cuBLAS, tuned)", r"gemv|gemm|Gemm|Gemv|sm90_|cutlass|tinygemm|ampere_|hopper|nvjet|xmma|splitK|splitk|reduce_?k"),
    ("norms (SkipSimplifiedLayerNorm)", r"LayerNorm|layer_norm|RMSNorm|rms_?norm|SkipLayer"),
    ("SiLU / elementwise", r"QuickGelu|Gelu|Silu|SiLU|Sigmoid|Elementwise|BinaryElementWise|_Mul|Mul|Add|Cast|Impl_"),
    ("argmax / reduce", r"ArgMax|argmax|Reduce|reduce|cub"),
    ("copies / gather", r"Gather|gather|Copy|copy|Transpose|transpose|Slice|Concat|Split|Expand|Memcpy|memcpy|Fill"),
]


def kind(name: str, kinds=KINDS) -> str:
    for k, pattern in kinds:
        if re.search(pattern, name):
            return k
    return "other"


def kernel_times(path: str) -> list:
    """(kernel name, microseconds) of every gpu__time_duration.sum row of an ncu --csv log (plain or .gz)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="", errors="replace") as f:
        lines = [line for line in f if line.startswith('"')]  # ncu prefixes its own log lines with ==PROF==
    times = []
    for r in csv.DictReader(lines):
        if r.get("Metric Name") != "gpu__time_duration.sum":
            continue
        value = float(str(r["Metric Value"]).replace(",", ""))
        times.append((r.get("Kernel Name") or r.get("Function Name") or "?", value * UNITS.get(r.get("Metric Unit", "ns"), 1e-3)))
    return times


def group(times: list, kinds=KINDS):
    """Count and total time by kind and by kernel name: two dicts of key -> [count, microseconds]."""
    by_kind, by_name = collections.defaultdict(lambda: [0, 0.0]), collections.defaultdict(lambda: [0, 0.0])
    for name, t in times:
        for d, key in ((by_kind, kind(name, kinds)), (by_name, name)):
            d[key][0] += 1
            d[key][1] += t
    return by_kind, by_name


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    times = kernel_times(a.csv)
    if not times:
        print(f"no gpu__time_duration rows in {a.csv}", file=sys.stderr)
        return 1
    s = a.steps
    total = sum(t for _, t in times)
    by_kind, by_name = group(times)
    print(f"{len(times) / s:.0f} kernels per step; kernel time {total / s / 1000:.3f} ms per step (sum of durations, {s} steps)")
    print(f"{'kind':<36} {'per step':>8} {'us/step':>9} {'share':>6}")
    for k, (n, t) in sorted(by_kind.items(), key=lambda x: -x[1][1]):
        print(f"{k:<36} {n / s:8.0f} {t / s:9.1f} {t / total:6.1%}")
    print(f"{'kernel':<90} {'per step':>8} {'avg us':>8} {'us/step':>9}")
    for name, (n, t) in sorted(by_name.items(), key=lambda x: -x[1][1])[:a.top]:
        short = name if len(name) <= 90 else name[:87] + "..."
        print(f"{short:<90} {n / s:8.1f} {t / n:8.2f} {t / s:9.1f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"steps": s, "kernels_per_step": len(times) / s, "kernel_ms_per_step": total / s / 1000,
                       "by_kind": {k: {"per_step": n / s, "us_per_step": t / s} for k, (n, t) in by_kind.items()},
                       "by_name": {k: {"per_step": n / s, "avg_us": t / n, "us_per_step": t / s}
                                   for k, (n, t) in sorted(by_name.items(), key=lambda x: -x[1][1])}}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
