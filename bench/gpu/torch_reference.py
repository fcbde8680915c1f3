#!/usr/bin/env python3
"""The PyTorch reference of bench/gpu/run.sh (issue 7): Hugging Face generate on the same weights and inputs.

Builds Magma-8B's parts from the checkpoint on the GPU in bf16 (transformers LlamaForCausalLM, timm ConvNeXt trunk,
mlp2x_gelu projector, row separator; Magma's own forward does exactly vision -> projector -> stitch with separators ->
merge at <image> -> language model generate), reads the token ids and pre-processed pixels the .NET harness used
(--inputs, written by Magma.Bench.Gpu) and times, with torch.cuda.synchronize around each call:

* LIBERO step (1 crop + prompt -> 8 tokens: 7 action tokens + EOS, as the reference generates), UI step (4 crops ->
  32 tokens) and its time to first token, vision per crop, prefill of 312 / 1116 positions, decode per token at 1k
  and 4k context: HF generate with its default dynamic cache ("eager": no compilation);
* LIBERO step and decode per token with cache_implementation="static", whose generate compiles the forward with
  HF's compile config (the strongest PyTorch path tried);
* the floors' inputs: device copy bandwidth and bf16 matmul rate measured here;
* greedy tokens on the LIBERO and UI inputs (16, no EOS stop) for the agreement check with .NET.

    python3 bench/gpu/torch_reference.py --checkpoint /tmp/magma8b-ckpt --inputs OUT/inputs --out OUT/torch.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools", "export"))
import export_magma  # noqa: E402
from make_tiny_model import stitch  # noqa: E402

DEV = "cuda"
DT = torch.bfloat16


def sync_time(fn, reps: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t) * 1000)
    return times


def stats(times: list[float]) -> dict:
    s = sorted(times)
    return {"median": round(statistics.median(s), 3), "p90": round(s[min(len(s) - 1, int(np.ceil(len(s) * 0.9)) - 1)], 3),
            "n": len(s)}


class Reference:
    def __init__(self, checkpoint: str):
        from transformers import LlamaConfig, LlamaForCausalLM

        ckpt = export_magma.Checkpoint(checkpoint)
        arch = export_magma.Arch(ckpt, checkpoint, 1e-5)
        self.arch = arch
        t0 = time.time()
        vision, sep = export_magma.torch_vision(ckpt, arch)
        self.vision = vision.to(DEV, DT).eval()
        self.sep = sep.to(DEV, DT)
        cfg = LlamaConfig(**export_magma.llama_config_dict(arch.text_config))
        cfg._attn_implementation = "sdpa"  # transformers' default
        torch.set_default_dtype(DT)
        with torch.device(DEV):
            model = LlamaForCausalLM(cfg)
        torch.set_default_dtype(torch.float32)
        state = {"model." + k[len(arch.lm):]: ckpt.torch(k) for k in ckpt.keys() if k.startswith(arch.lm)}
        state["lm_head.weight"] = ckpt.torch(arch.lm_head)
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [m for m in missing if "rotary" not in m]
        if missing or unexpected:
            raise SystemExit(f"load: missing {missing[:4]} unexpected {unexpected[:4]}")
        del state
        ckpt.close()
        self.llm = model.eval()
        self.table = model.model.embed_tokens.weight
        self.load_s = time.time() - t0

    def embeds(self, ids: list[int], pixels: torch.Tensor, rows: int, cols: int, image_token: int) -> torch.Tensor:
        """Magma's merge: the stitched image block replaces the <image> id; text ids are embedded around it."""
        feats = self.vision(pixels)
        block = stitch(feats, rows, cols, self.sep)
        ids_t = torch.tensor(ids, device=DEV)
        at = int((ids_t == image_token).nonzero()[0])
        text = self.table[ids_t]
        return torch.cat([text[:at], block, text[at + 1:]], dim=0)[None]

    def generate(self, embeds: torch.Tensor, new: int, **kw) -> list[int]:
        out = self.llm.generate(inputs_embeds=embeds, attention_mask=torch.ones(embeds.shape[:2], dtype=torch.long, device=DEV),
                                max_new_tokens=new, min_new_tokens=new, do_sample=False, eos_token_id=None,
                                pad_token_id=0, **kw)
        return out[0].tolist()


def load_inputs(folder: str, name: str, crop: int):
    meta = json.load(open(os.path.join(folder, name + ".json")))
    n = meta["rows"] * meta["cols"]
    pixels = np.fromfile(os.path.join(folder, name + ".f32"), dtype=np.float32).reshape(n, 3, crop, crop)
    return meta, torch.from_numpy(pixels).to(DEV, DT)


def floors() -> dict:
    x = torch.empty(4 << 30, dtype=torch.uint8, device=DEV)
    y = torch.empty_like(x)
    t = stats(sync_time(lambda: y.copy_(x), 10, 2))["median"]
    bandwidth = 2 * x.numel() / (t / 1000)  # read + write
    del x, y
    a = torch.randn(8192, 8192, device=DEV, dtype=DT)
    b = torch.randn(8192, 8192, device=DEV, dtype=DT)
    t = stats(sync_time(lambda: a @ b, 20, 3))["median"]
    flops = 2 * 8192 ** 3 / (t / 1000)
    return {"copy_bytes_per_s": bandwidth, "bf16_matmul_flops": flops}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--no-compile", action="store_true", help="skip the static cache + compile rows")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = True
    res = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0), "rows": []}

    def row(name, times, **extra):
        r = {"name": name, "unit": "ms", **stats(times), **extra}
        res["rows"].append(r)
        print(f"{name:<56} median {r['median']:9.2f} ms   p90 {r['p90']:9.2f} ms", flush=True)
        json.dump(res, open(args.out, "w"), indent=2)

    res["floors"] = floors()
    print("floors", res["floors"], flush=True)
    ref = Reference(args.checkpoint)
    res["load_s"] = round(ref.load_s, 1)
    crop = ref.arch.crop
    libero, libero_px = load_inputs(args.inputs, "libero", crop)
    ui, ui_px = load_inputs(args.inputs, "ui", crop)
    tok = libero["image_token"]
    with torch.inference_mode():
        # agreement: greedy tokens on the same inputs
        for name, meta, px in (("libero", libero, libero_px), ("ui", ui, ui_px)):
            ids = ref.generate(ref.embeds(meta["ids"], px, meta["rows"], meta["cols"], tok), 16)
            dn = meta["dotnet_greedy_16"]
            agree = next((i for i, (p, q) in enumerate(zip(ids, dn)) if p != q), min(len(ids), len(dn)))
            res[f"greedy_{name}"] = {"torch": ids, "dotnet": dn, "leading_tokens_equal": agree}
            print(f"greedy {name}: torch {ids}\n           .NET  {dn}\n           first {agree} equal", flush=True)

        for crops, px in ((1, libero_px), (4, ui_px)):
            row(f"vision per crop ({crops} crop{'s' if crops > 1 else ''} per call)",
                [t / crops for t in sync_time(lambda: ref.vision(px), args.reps, 2)])

        def step(meta, px, new):
            return lambda: ref.generate(ref.embeds(meta["ids"], px, meta["rows"], meta["cols"], tok), new)

        row("LIBERO step (8 tokens, HF generate, dynamic cache)", sync_time(step(libero, libero_px, 8), args.reps))
        row("UI step, 4 crops -> 32 tokens (dynamic cache)", sync_time(step(ui, ui_px, 32), max(3, args.reps // 2)))

        def first_token():
            e = ref.embeds(ui["ids"], ui_px, ui["rows"], ui["cols"], tok)
            return ref.llm(inputs_embeds=e, use_cache=True, logits_to_keep=1).logits.argmax(-1)

        row("UI step time to first token", sync_time(first_token, args.reps))

        filler = torch.randint(0, 128000, (4096 + 80,), generator=torch.Generator().manual_seed(0)).to(DEV)
        emb_all = ref.table[filler][None]
        for n in (312, 1116):
            row(f"prefill {n} tokens (first token)",
                sync_time(lambda: ref.llm(inputs_embeds=emb_all[:, :n], use_cache=True, logits_to_keep=1).logits.argmax(-1), args.reps))

        def decode_rows(label: str, contexts, reps: int, **kw):
            for ctx in contexts:
                e = emb_all[:, :ctx]
                base = stats(sync_time(lambda: ref.llm.generate(inputs_embeds=e, max_new_tokens=1, min_new_tokens=1, do_sample=False,
                                                                eos_token_id=None, pad_token_id=0, **kw), reps))["median"]
                full = sync_time(lambda: ref.llm.generate(inputs_embeds=e, max_new_tokens=65, min_new_tokens=65, do_sample=False,
                                                          eos_token_id=None, pad_token_id=0, **kw), reps)
                row(f"decode per token at {ctx} context ({label})", [(t - base) / 64 for t in full])

        decode_rows("dynamic cache", (1024, 4096), 3)
        res["peak_memory_bytes_eager"] = torch.cuda.max_memory_allocated()

        if not args.no_compile:
            t0 = time.time()
            static = {"cache_implementation": "static"}
            e = ref.embeds(libero["ids"], libero_px, libero["rows"], libero["cols"], tok)
            ref.generate(e, 8, **static)  # compiles
            res["compile_s"] = round(time.time() - t0, 1)
            print(f"static cache + compile: first generate took {res['compile_s']} s", flush=True)
            row("LIBERO step (8 tokens, static cache + compile)",
                sync_time(lambda: ref.generate(ref.embeds(libero["ids"], libero_px, libero["rows"], libero["cols"], tok), 8, **static),
                          args.reps, 2))
            decode_rows("static cache + compile", (1024,), 3, **static)
    res["peak_memory_bytes"] = torch.cuda.max_memory_allocated()
    json.dump(res, open(args.out, "w"), indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
