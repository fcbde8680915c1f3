#!/usr/bin/env python3
"""One table from Magma.Bench.Gpu's results.json and torch_reference.py's torch.json (bench/gpu/run.sh, issue 7).

Floors use the copy bandwidth and bf16 matmul rate measured in the same run (torch.json "floors"):
* decode: decoder weights read once per token (fp16 bytes of the layers + LM head) / bandwidth;
* prefill of N positions: max(2 * N * layer params + 2 * LM head params FLOPs / matmul rate, weights / bandwidth);
* vision: 1.58 TFLOP per 512x512 crop (ConvNeXt-XXLarge, docs: ../shared/research/ort_perf.md 4.4) / matmul rate;
* LIBERO step: vision (1 crop) + prefill (prompt) + 6 decode steps (the first action token comes from the prefill and
  the EOS after the seventh is forced, so no run picks it); UI step: vision (4 crops) + prefill + 31 decode steps.

    python3 bench/gpu/report.py --dotnet OUT/results.json --torch OUT/torch.json --config PKG/config.json --out OUT/table.md \
        [--int4 OUT/int4/results.json --int4-memory OUT/dotnet-int4-memory.txt --int4-check INT4PKG/quantization_check.json]

With --int4 (issue 19) the table gains the int4 package's column and its ratio to fp16, and the notes its load time,
package size, peak memory, greedy agreement with fp16 and the first-step logits error against fp16 (logits_*.f32
written by both runs next to their results.json).
"""
import argparse
import json
import math
import os
import struct

VISION_FLOP_PER_CROP = 1.584e12


def params(cfg: dict) -> tuple[float, float]:
    text = dict(cfg)
    text.update(cfg.get("text_config") or {})
    h, i, layers = text["hidden_size"], text["intermediate_size"], text["num_hidden_layers"]
    nh, nkv = text["num_attention_heads"], text["num_key_value_heads"]
    d = text.get("head_dim") or h // nh
    per_layer = h * nh * d + 2 * h * nkv * d + nh * d * h + 3 * h * i
    return layers * per_layer, text["vocab_size"] * h


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dotnet", required=True)
    ap.add_argument("--torch", required=True)
    ap.add_argument("--config", required=True, help="the package's config.json (model dimensions for the floors)")
    ap.add_argument("--memory", default=None, help="nvidia-smi samples (MiB, one per line) taken during the .NET run")
    ap.add_argument("--int4", default=None, help="Magma.Bench.Gpu's results.json for the int4 package")
    ap.add_argument("--int4-memory", default=None, help="nvidia-smi samples taken during the int4 run")
    ap.add_argument("--int4-check", default=None, help="the int4 package's quantization_check.json")
    ap.add_argument("--cpu-int4", default=None, help="Magma.Bench.Gpu's results.json for the int4 package on the CPU")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    q4 = json.load(open(args.int4)) if args.int4 and os.path.exists(args.int4) else None
    dn = json.load(open(args.dotnet))
    tr = json.load(open(args.torch)) if os.path.exists(args.torch) else {"rows": []}
    body, head = params(json.load(open(args.config)))
    fl = tr.get("floors") or {}
    bw, flops = fl.get("copy_bytes_per_s"), fl.get("bf16_matmul_flops")
    weights = 2 * (body + head)

    def decode_floor():
        return weights / bw * 1000 if bw else None

    def prefill_floor(n):
        if not (bw and flops):
            return None
        return max((2 * n * body + 2 * head) / flops, weights / bw) * 1000

    def vision_floor(crops):
        return crops * VISION_FLOP_PER_CROP / flops * 1000 if flops else None

    def find(rows, prefix):
        return next((r for r in rows if r["name"].startswith(prefix)), None)

    lib = find(dn["rows"], "LIBERO step, greedy")
    ui = find(dn["rows"], "UI step, 4 crops")
    lib_prompt = lib.get("prompt_tokens", 318) if lib else 318
    ui_prompt = ui.get("prompt_tokens", 1122) if ui else 1122

    def add(*xs):
        return None if any(x is None for x in xs) else sum(xs)

    spec = [
        ("LIBERO step: 256x256 frame -> 7 action tokens", "LIBERO step, greedy", "LIBERO step (8 tokens, HF generate",
         "LIBERO step (8 tokens, static", add(vision_floor(1), prefill_floor(lib_prompt), 6 * (decode_floor() or float("nan")))),
        ("LIBERO step, sampled (T 0.7, top-k 50, on the host)", "LIBERO step, sampled", None, None, None),
        ("UI step: 1280x720 (4 crops) -> 32 tokens", "UI step, 4 crops", "UI step, 4 crops", None,
         add(vision_floor(4), prefill_floor(ui_prompt), 31 * (decode_floor() or float("nan")))),
        ("UI step: time to first token", "UI step time to first token", "UI step time to first token", None,
         add(vision_floor(4), prefill_floor(ui_prompt))),
        ("decode per token, 1k context", "decode per token at 1024 context (device", "decode per token at 1024 context (dynamic",
         "decode per token at 1024 context (static", decode_floor()),
        ("decode per token, 1k context, logits row to host", "decode per token at 1024 context (logits", None, None, decode_floor()),
        ("decode per token, 4k context", "decode per token at 4096 context (device", "decode per token at 4096 context (dynamic",
         None, decode_floor()),
        ("prefill 312 positions", "prefill 312", "prefill 312", None, prefill_floor(312)),
        ("prefill 1,116 positions", "prefill 1116", "prefill 1116", None, prefill_floor(1116)),
        ("vision per crop (1 crop)", "vision per crop (1 crop", "vision per crop (1 crop", None, vision_floor(1)),
        ("vision per crop (4 crops per call)", "vision per crop (4 crops", "vision per crop (4 crops", None, vision_floor(1)),
    ]

    def cell(r):
        return f"{r['median']:.1f} / {r['p90']:.1f}" if r else "—"

    int4_head = " .NET ORT int4, median / p90 ms | int4 / fp16 |" if q4 else ""
    lines = ["| measure | .NET ORT fp16, median / p90 ms |" + int4_head + " PyTorch eager bf16 | PyTorch static + compile | .NET speed-up vs eager | floor ms | .NET / floor |",
             "| --- | --- |" + (" --- | --- |" if q4 else "") + " --- | --- | --- | --- | --- |"]
    for label, dkey, tkey, skey, floor in spec:
        d = find(dn["rows"], dkey)
        t = find(tr["rows"], tkey) if tkey else None
        s = find(tr["rows"], skey) if skey else None
        speed = f"{t['median'] / d['median']:.1f}x" if d and t else "—"
        ratio = f"{d['median'] / floor:.2f}" if d and floor and floor == floor else "—"
        fcell = f"{floor:.1f}" if floor and floor == floor else "—"
        q = ""
        if q4:
            r4 = find(q4["rows"], dkey)
            q = f" {cell(r4)} | {r4['median'] / d['median']:.2f} |" if r4 and d else f" {cell(r4)} | — |"
        lines.append(f"| {label} | {cell(d)} |{q} {cell(t)} | {cell(s)} | {speed} | {fcell} | {ratio} |")

    batched = [r for r in dn["rows"] if r["name"].startswith("batched LIBERO steps")]
    if batched:
        base = batched[0].get("actions_per_s")
        lines += ["", "| batched LIBERO steps | median / p90 ms per call | actions/s | vs N = 1 |" + (" int4 median / p90 ms | int4 actions/s |" if q4 else ""),
                  "| --- | --- | --- | --- |" + (" --- | --- |" if q4 else "")]
        for r in batched:
            aps = r.get("actions_per_s")
            extra = ""
            if q4:
                r4 = find(q4["rows"], r["name"])
                extra = f" {cell(r4)} | {r4.get('actions_per_s') if r4 else '—'} |"
            lines.append((f"| {r['name'].split(', ')[-1]} | {cell(r)} | {aps} | {aps / base:.1f}x |" if base and aps else f"| {r['name']} | {cell(r)} | — | — |") + extra)
        agree = [f"{r['name'].split(', ')[-1]} {r['actions_equal_to_alone']}" for r in batched if "actions_equal_to_alone" in r]
        if agree:
            lines += ["", "Batched actions equal to one-at-a-time calls (greedy): " + "; ".join(agree) + "."]

    arrivals = [r for r in dn["rows"] if r["name"].startswith("arrivals at")]
    if arrivals:
        lines += ["", "| continuous batching, Poisson arrivals of LIBERO steps: offered req/s | served req/s | latency p50 ms | latency p90 ms | actions equal to alone |",
                  "| --- | --- | --- | --- | --- |"]
        for r in arrivals:
            lines.append(f"| {r.get('offered_per_s')} | {r.get('served_per_s')} | {r['median']:.1f} | {r['p90']:.1f} | {r.get('actions_equal_to_alone', '—')} |")

    notes = []
    peak = peak_gib(args.memory)
    if peak:
        notes.append(f"peak GPU memory, .NET process (nvidia-smi, every 200 ms): {peak:.1f} GiB")
    if q4:
        notes += int4_notes(args, dn, q4)
    if args.cpu_int4 and os.path.exists(args.cpu_int4):
        cpu = json.load(open(args.cpu_int4))
        rows = "; ".join(f"{r['name']} {r['median']:.1f} / {r['p90']:.1f} ms" + (f" ({1000 / r['median']:.1f} tokens/s)" if r["name"].startswith("decode") else "")
                         for r in cpu["rows"])
        notes.append(f"int4 package on the CPU ({cpu.get('intra_op_threads')} cores, {cpu.get('dtype')} activations, "
                     f"{cpu.get('quantization')}, load {cpu.get('load_s')} s): {rows}")
    if "peak_memory_bytes" in tr:
        notes.append(f"peak GPU memory, PyTorch (torch.cuda.max_memory_allocated): {tr['peak_memory_bytes'] / 2 ** 30:.1f} GiB")
    if bw:
        notes.append(f"measured copy bandwidth {bw / 1e12:.2f} TB/s (read + write), bf16 matmul {flops / 1e12:.0f} TFLOP/s; "
                     f"decoder weights {weights / 1e9:.2f} GB")
    for name in ("libero", "ui"):
        g = tr.get(f"greedy_{name}")
        if g:
            notes.append(f"greedy agreement on the {name} inputs (.NET fp16 vs PyTorch bf16, 16 tokens): first "
                         f"{g['leading_tokens_equal']} equal; .NET {g['dotnet']}, PyTorch {g['torch']}")
    notes.append(f".NET: load {dn.get('load_s')} s (with warm-up), CUDA graphs {dn.get('cuda_graphs')}, shared KV "
                 f"{dn.get('shared_kv')}, device token choice {dn.get('device_selection')}; PyTorch {tr.get('torch')} on "
                 f"{tr.get('gpu')}, compile {tr.get('compile_s', '—')} s")
    for label, res in (("fp16", dn), ("int4", q4 or {})):
        if res.get("load_stages"):
            notes.append(f".NET load stages, {label} (s; GiB in use after): " + "; ".join(
                f"{st['name']} {st['s']:.1f}" + (f" ({st['device_gib']})" if st.get("device_gib") is not None else "")
                for st in res["load_stages"] if st["s"] >= 0.1))
    text = "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    open(args.out, "w").write(text)
    print(text)
    return 0


def peak_gib(path):
    if not path or not os.path.exists(path):
        return None
    samples = [int(x) for x in open(path).read().split() if x.strip().isdigit()]
    return max(samples) / 1024 if samples else None


def read_f32(path):
    data = open(path, "rb").read()
    return struct.unpack(f"<{len(data) // 4}f", data)


def int4_notes(args, dn: dict, q4: dict) -> list:
    notes = [f"int4 package: {q4.get('quantization')}; {q4.get('dtype')} activations; "
             f"{q4.get('package_bytes', 0) / 2 ** 30:.2f} GiB on disk (fp16 {dn.get('package_bytes', 0) / 2 ** 30:.2f} GiB); "
             f"load {q4.get('load_s')} s (fp16 {dn.get('load_s')} s, both with warm-up, files in the page cache)"]
    peak = peak_gib(args.int4_memory)
    if peak:
        notes.append(f"peak GPU memory, .NET process, int4 package: {peak:.1f} GiB")
    for name in ("libero", "ui"):
        a, b = dn.get(f"greedy_{name}") or {}, q4.get(f"greedy_{name}") or {}
        for key, what in (("dotnet_greedy_16", "16 free tokens"), ("dotnet_action_greedy", "constrained action tokens")):
            x, y = a.get(key), b.get(key)
            if x and y:
                lead = next((i for i, (u, v) in enumerate(zip(x, y)) if u != v), min(len(x), len(y)))
                same = sum(u == v for u, v in zip(x, y))
                notes.append(f"greedy agreement int4 vs fp16, {name} inputs, {what}: first {lead} of {len(x)} equal, "
                             f"{same} positions equal; fp16 {x}, int4 {y}")
        fa = os.path.join(os.path.dirname(args.dotnet), f"logits_{name}.f32")
        fb = os.path.join(os.path.dirname(args.int4), f"logits_{name}.f32")
        if os.path.exists(fa) and os.path.exists(fb):
            ref, got = read_f32(fa), read_f32(fb)
            diff = math.sqrt(sum((u - v) ** 2 for u, v in zip(got, ref)))
            norm = math.sqrt(sum(v * v for v in ref)) or 1e-30
            top = max(abs(v) for v in ref) or 1e-30
            maxd = max(abs(u - v) for u, v in zip(got, ref))
            am = lambda xs: max(range(len(xs)), key=xs.__getitem__)  # noqa: E731
            notes.append(f"first-step logits, {name} prompt, int4 vs fp16: relative L2 {diff / norm:.4f}, max |diff| "
                         f"{maxd:.3f} ({maxd / top:.4f} of max |fp16|), same argmax {am(got) == am(ref)}")
    if args.int4_check and os.path.exists(args.int4_check):
        c = json.load(open(args.int4_check))
        head = [m for m in c["matrices"] if m.get("role") == "lm_head"]
        emb = [m for m in c["matrices"] if m.get("role") == "embed"]
        notes.append(f"quantization ({c.get('seconds')} s): layer matrices' relative reconstruction error mean "
                     f"{c['layer_rel_error']['mean']:.4f}, max {c['layer_rel_error']['max']:.4f}"
                     + (f"; LM head {head[0]['bits']}-bit {head[0]['rel_error']:.4f}" if head else "")
                     + (f"; embedding int8 rows {emb[0]['rel_error']:.4f}" if emb else ""))
    notes.append("accuracy with the real Magma-8B weights was not measured here (random weights): the errors above are "
                 "against the fp16 package on the same random weights")
    return notes


if __name__ == "__main__":
    raise SystemExit(main())
