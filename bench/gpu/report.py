#!/usr/bin/env python3
"""One table from Magma.Bench.Gpu's results.json and torch_reference.py's torch.json (bench/gpu/run.sh, issue 7).

Floors use the copy bandwidth and bf16 matmul rate measured in the same run (torch.json "floors"):
* decode: decoder weights read once per token (fp16 bytes of the layers + LM head) / bandwidth;
* prefill of N positions: max(2 * N * layer params + 2 * LM head params FLOPs / matmul rate, weights / bandwidth);
* vision: 1.58 TFLOP per 512x512 crop (ConvNeXt-XXLarge, docs: ../shared/research/ort_perf.md 4.4) / matmul rate;
* LIBERO step: vision (1 crop) + prefill (prompt) + 6 decode steps (the first action token comes from the prefill and
  the EOS after the seventh is forced, so no run picks it); UI step: vision (4 crops) + prefill + 31 decode steps.

    python3 bench/gpu/report.py --dotnet OUT/results.json --torch OUT/torch.json --config PKG/config.json --out OUT/table.md
"""
import argparse
import json
import os

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
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
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

    lines = ["| measure | .NET ORT fp16, median / p90 ms | PyTorch eager bf16 | PyTorch static + compile | .NET speed-up vs eager | floor ms | .NET / floor |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for label, dkey, tkey, skey, floor in spec:
        d = find(dn["rows"], dkey)
        t = find(tr["rows"], tkey) if tkey else None
        s = find(tr["rows"], skey) if skey else None
        speed = f"{t['median'] / d['median']:.1f}x" if d and t else "—"
        ratio = f"{d['median'] / floor:.2f}" if d and floor and floor == floor else "—"
        fcell = f"{floor:.1f}" if floor and floor == floor else "—"
        lines.append(f"| {label} | {cell(d)} | {cell(t)} | {cell(s)} | {speed} | {fcell} | {ratio} |")

    batched = [r for r in dn["rows"] if r["name"].startswith("batched LIBERO steps")]
    if batched:
        base = batched[0].get("actions_per_s")
        lines += ["", "| batched LIBERO steps | median / p90 ms per call | actions/s | vs N = 1 |", "| --- | --- | --- | --- |"]
        for r in batched:
            aps = r.get("actions_per_s")
            lines.append(f"| {r['name'].split(', ')[-1]} | {cell(r)} | {aps} | {aps / base:.1f}x |" if base and aps else f"| {r['name']} | {cell(r)} | — | — |")

    notes = []
    if args.memory and os.path.exists(args.memory):
        samples = [int(x) for x in open(args.memory).read().split() if x.strip().isdigit()]
        if samples:
            notes.append(f"peak GPU memory, .NET process (nvidia-smi, every 200 ms): {max(samples) / 1024:.1f} GiB")
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
    text = "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    open(args.out, "w").write(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
