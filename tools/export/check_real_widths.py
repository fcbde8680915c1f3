#!/usr/bin/env python3
"""Run export_magma.py at Magma-8B widths on a seeded, 2-layer checkpoint and report its self-check.

    python tools/export/check_real_widths.py --work /tmp/magma-real-widths --report-dir /tmp/report --jobs 2

The tiny test model (hidden 32, head size 8) never takes the exporter's real-size paths: GroupQueryAttention's fused
rotary (head size 128, cos/sin caches [8192, 64]), ConvNeXt-XXLarge widths, the 3072->4096->4096 projector, a
128263-row untied LM head, multi-GB external-data files and the fp16 export. This script builds, from a fixed seed,
a checkpoint with exactly those widths but few layers so it stays fast:

* text: LLaMA-3-8B widths (hidden 4096, 32 heads / 8 KV heads, head size 128 inferred as real configs do, FFN 14336,
  rope_theta 500000, RMS eps 1e-5, 8192 positions), --layers decoder layers (2), vocabulary 128263, untied LM head;
* vision: timm ConvNeXt with the XXLarge stem (patch 4) and widths [384, 768, 1536, 3072], depths [1, 1, 1, 1];
* the mlp2x_gelu projector (3072 -> 4096 -> 4096) and the row separator (1, 1, 4096);
* bf16 safetensors in the real key layout (spec 1.5), three shards + index, config/preprocessor/generation json and
  the real tokenizer files (tests/assets/tokenizer).

Then, for each --dtypes entry, a worker process runs export_magma.export() (GQA decoder, packed QKV, last-position
logits) with its self-check in onnxruntime (CPU) against PyTorch (fp32, CPU): vision.onnx on --crops random crops
of 512x512, embed.onnx, decoder.onnx in normal mode (7-token prefill, 1-token step, 3-token chunk) and shared-buffer
mode (past and present bound to one [1, 8, 19, 128] buffer per layer through IOBinding, steps 7,1,1,1,3,1). It also asserts what the
real widths must produce: rotary "fused" (do_rotary=1 on every GroupQueryAttention node), cos/sin caches [8192, 64],
an untied lm_head.weight_T, and the manifest's dimensions. The table (max_abs / max_rel per output and dtype), the
package sizes and timings go to stdout and to --report-dir (real_widths.json, real_widths.md).

The checkpoint's random values are drawn on --device (cuda when available): the same seed gives the same values on
the same kind of device and torch version. Nothing here is committed; --work is deleted unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import export_magma  # noqa: E402
from checkpoint_files import dump, write_shards, write_side_files  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
VOCAB = 128263  # 128256 LLaMA-3 ids + <pad>, <image>, <image_start>, <image_end>, <action>, ... (the tokenizer's ids)
VISION_DIMS = [384, 768, 1536, 3072]  # ConvNeXt-XXLarge (spec 3.1)
VISION_DEPTHS = [1, 1, 1, 1]  # the real model has [3, 4, 30, 3]
TRUNK = "vision_tower.clip_vision_model.trunk."
PROJ = "multi_modal_projector.proj."
LANG = "language_model."
# worst max_rel accepted per dtype (fp32 graphs match to ~1e-6; fp16 weights and activations to ~1e-3)
LIMITS = {"float32": 1e-4, "float16": 1e-2}


def log(msg: str) -> None:
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# checkpoint
# ---------------------------------------------------------------------------------------------------------------

def text_config(layers: int) -> dict:
    # LLaMA-3-8B's config.json keys; no head_dim key (as in the real one: 4096 / 32 = 128 is inferred)
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": VOCAB, "hidden_size": 4096,
        "intermediate_size": 14336, "num_hidden_layers": layers, "num_attention_heads": 32, "num_key_value_heads": 8,
        "hidden_act": "silu", "max_position_embeddings": 8192, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
        "rope_scaling": None, "attention_bias": False, "attention_dropout": 0.0, "mlp_bias": False,
        "tie_word_embeddings": False, "bos_token_id": 128000, "eos_token_id": 128009, "pad_token_id": 128256,
        "initializer_range": 0.02, "pretraining_tp": 1, "torch_dtype": "bfloat16",
    }


def tensor_plan(text: dict) -> list[tuple[str, tuple, str, float]]:
    """(key, shape, kind, scale) for every checkpoint tensor, names and shapes from meta-device modules.

    Building the real module classes on the meta device costs no memory and guarantees the key names the exporter's
    PyTorch reference (timm ConvNeXt, transformers LlamaForCausalLM) loads with strict checks.
    """
    import timm.models.convnext as tc
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    def modules(device: str):
        with torch.device(device):
            trunk = tc.ConvNeXt(in_chans=3, num_classes=0, global_pool="", depths=VISION_DEPTHS, dims=VISION_DIMS,
                                patch_size=4, ls_init_value=1e-6, norm_eps=1e-5, drop_path_rate=0.0)
            return trunk, LlamaForCausalLM(LlamaConfig(**export_magma.llama_config_dict(text)))

    try:
        trunk, llama = modules("meta")
    except Exception as exc:  # an init function without a meta kernel: pay for real tensors once
        log(f"meta-device modules failed ({type(exc).__name__}: {exc}); building them on the CPU")
        trunk, llama = modules("cpu")
    plan = []
    for mname, module in trunk.named_modules():
        for pname, p in module.named_parameters(recurse=False):
            key = TRUNK + (f"{mname}.{pname}" if mname else pname)
            shape = tuple(p.shape)
            if pname == "gamma":
                plan.append((key, shape, "uniform", 0.0))
            elif isinstance(module, torch.nn.LayerNorm):
                plan.append((key, shape, "one" if pname == "weight" else "normal", 0.1))
            elif isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)) and pname == "weight":
                plan.append((key, shape, "normal", 1.0 / np.sqrt(int(np.prod(shape[1:])))))
            else:
                plan.append((key, shape, "normal", 0.1))
    hv, mm = text["hidden_size"], VISION_DIMS[-1]
    plan += [(PROJ + "0.weight", (hv, mm), "normal", 1.0 / np.sqrt(mm)), (PROJ + "0.bias", (hv,), "normal", 0.1),
             (PROJ + "2.weight", (hv, hv), "normal", 1.0 / np.sqrt(hv)), (PROJ + "2.bias", (hv,), "normal", 0.1),
             ("multi_modal_projector.row_seperator", (1, 1, hv), "normal", 1.0)]
    for key, p in llama.state_dict().items():
        if "rotary_emb" in key:
            continue
        shape = tuple(p.shape)
        if key.endswith("norm.weight"):
            plan.append((LANG + key, shape, "one", 0.1))
        elif key.endswith("embed_tokens.weight"):
            plan.append((LANG + key, shape, "normal", 0.02))  # initializer_range, like a real table's spread
        else:
            plan.append((LANG + key, shape, "normal", 1.0 / np.sqrt(shape[1])))  # unit-variance activations
    keys = [k for k, *_ in plan]
    if len(set(keys)) != len(keys) or (LANG + "lm_head.weight") not in keys:
        raise SystemExit("tensor plan: duplicate keys or no untied lm_head.weight")
    return plan


def shard_of(key: str, layers: int) -> str:
    if not key.startswith(LANG):
        return "model-00001-of-00003.safetensors"
    if key.endswith("lm_head.weight") or key == LANG + "model.norm.weight":
        return "model-00003-of-00003.safetensors"
    return "model-00002-of-00003.safetensors"


def build_checkpoint(folder: str, tokenizer_dir: str, seed: int, layers: int, device: str) -> dict:
    import torch

    t0 = time.time()
    os.makedirs(folder, exist_ok=True)
    text = text_config(layers)
    plan = tensor_plan(text)
    gen = torch.Generator(device=device).manual_seed(seed)
    shards: dict[str, dict] = {}
    total = 0
    for key, shape, kind, scale in plan:  # fixed order: the seed alone decides every value
        if kind == "uniform":  # layer scale in [0.2, 0.8]: blocks contribute, residuals stay bounded
            t = torch.rand(shape, generator=gen, device=device) * 0.6 + 0.2
        else:
            t = torch.randn(shape, generator=gen, device=device) * scale + (1.0 if kind == "one" else 0.0)
        t = t.to(torch.bfloat16).cpu().contiguous()  # the real checkpoint ships bf16
        shards.setdefault(shard_of(key, layers), {})[key] = t
        total += t.numel() * t.element_size()
    t_gen = time.time() - t0
    write_shards(folder, dict(sorted(shards.items())))

    config = {k: v for k, v in text.items() if k not in ("architectures", "model_type")}
    config.update({
        "_name_or_path": f"magma-agents/magma-8b-widths-{layers}-layers-random",
        "architectures": ["MagmaForCausalLM"],
        "auto_map": {"AutoConfig": "configuration_magma.MagmaConfig",
                     "AutoModelForCausalLM": "modeling_magma.MagmaForCausalLM"},
        "model_type": "magma", "image_token_index": 128257, "img_size": 512, "mm_use_image_start_end": True,
        "tokenizer_vocab_size": 128000, "text_config": text,
        "vision_config": {
            "vision_backbone": "convnextxxlarge", "vision_feature_layer": "clip_vis_dense",
            "img_anyres_strategy": "crop", "img_size": 512, "max_num_crops": 4, "mm_hidden_size": VISION_DIMS[-1],
            "hidden_size": text["hidden_size"], "mm_projector_type": "mlp2x_gelu", "mm_use_im_start_end": False,
        },
    })
    write_side_files(folder, config, tokenizer_dir)
    ids = [t["id"] for t in json.load(open(os.path.join(folder, "tokenizer.json"), encoding="utf-8"))["added_tokens"]]
    if max(ids) >= VOCAB:
        raise SystemExit(f"tokenizer id {max(ids)} does not fit the {VOCAB}-row table")
    params = sum(int(np.prod(s)) for _, s, _, _ in plan)
    facts = {"params": params, "bytes": total, "tensors": len(plan), "seconds_generate": round(t_gen, 1),
             "seconds": round(time.time() - t0, 1), "device": device,
             "device_name": torch.cuda.get_device_name(0) if device.startswith("cuda") else platform.processor()}
    log(f"checkpoint: {len(plan)} tensors, {params / 1e9:.3f} B parameters, {total / 2 ** 30:.2f} GiB bf16 in "
        f"{len(shards)} shards, drawn on {device} in {t_gen:.1f}s, written in {facts['seconds']:.1f}s -> {folder}")
    return facts



# ---------------------------------------------------------------------------------------------------------------
# one export (worker process: keeps the two dtypes' memory apart and lets them run side by side)
# ---------------------------------------------------------------------------------------------------------------

def inspect_package(out: str, layers: int) -> dict:
    """Asserts the real-width facts of the written package; returns sizes and graph facts."""
    import onnx

    sizes = {f: os.path.getsize(os.path.join(out, f)) for f in sorted(os.listdir(out))}
    manifest = json.load(open(os.path.join(out, "magma.json"), encoding="utf-8"))
    dec = onnx.load(os.path.join(out, "decoder.onnx"), load_external_data=False)
    gqa = [n for n in dec.graph.node if n.op_type == "GroupQueryAttention"]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in gqa[0].attribute} if gqa else {}
    inits = {t.name: list(t.dims) for t in dec.graph.initializer}
    problems = []
    if len(gqa) != layers:
        problems.append(f"{len(gqa)} GroupQueryAttention nodes, expected {layers}")
    for n in gqa:
        a = {x.name: onnx.helper.get_attribute_value(x) for x in n.attribute}
        if a.get("do_rotary") != 1 or a.get("num_heads") != 32 or a.get("kv_num_heads") != 8 or len(n.input) < 9:
            problems.append(f"{n.name}: do_rotary {a.get('do_rotary')} heads {a.get('num_heads')}/{a.get('kv_num_heads')}"
                            f" inputs {len(n.input)}")
    for name in ("cos_cache", "sin_cache"):
        if inits.get(name) != [8192, 64]:
            problems.append(f"{name} dims {inits.get(name)}, expected [8192, 64]")
    if inits.get("lm_head.weight_T") != [4096, VOCAB]:
        problems.append(f"lm_head.weight_T dims {inits.get('lm_head.weight_T')}, expected [4096, {VOCAB}] (untied)")
    d = manifest["decoder"]
    want = {"num_layers": layers, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128,
            "hidden_size": 4096, "vocab_size": VOCAB, "max_position_embeddings": 8192, "attention": "gqa",
            "has_position_ids": False, "kv_cache_sharing": True}
    problems += [f"magma.json decoder.{k} = {d.get(k)!r}, expected {v!r}" for k, v in want.items() if d.get(k) != v]
    v = manifest["vision"]
    if (v["crop_size"], v["feature_grid"], v["hidden_size"]) != (512, 16, 4096):
        problems.append(f"magma.json vision {v}")
    return {"sizes": sizes, "gqa_attributes": {k: (float(x) if isinstance(x, float) else x) for k, x in attrs.items()},
            "problems": problems, "manifest_decoder": d}


def worker(args) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.time()
    result = export_magma.export(args.checkpoint, args.out, args.dtype, True, True,
                                 f"magma-agents/magma-8b-widths-{args.layers}-layers-random",
                                 check_vision_crops=args.crops)
    facts = inspect_package(args.out, args.layers)
    for p in facts["problems"]:
        log(f"[package] PROBLEM {p}")
    facts.update({"dtype": args.dtype, "check": result["check"], "seconds": result["seconds"],
                  "seconds_process": time.time() - t0,
                  "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20})
    dump(args.result, facts)
    return 0


# ---------------------------------------------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------------------------------------------

def versions() -> dict:
    out = {"python": platform.python_version()}
    for name in ("torch", "transformers", "timm", "onnx", "onnxruntime", "safetensors", "numpy"):
        try:
            out[name] = __import__(name).__version__
        except Exception as exc:  # reported, not fatal
            out[name] = f"unavailable ({exc})"
    return out


def run_workers(args, ckpt: str) -> dict:
    os.makedirs(args.report_dir, exist_ok=True)
    pending = list(args.dtypes)
    running: dict[str, tuple] = {}
    results: dict[str, dict] = {}
    deadline = time.time() + args.timeout
    while pending or running:
        while pending and len(running) < args.jobs:
            dt = pending.pop(0)
            out = os.path.join(args.work, f"onnx-{dt}")
            res = os.path.join(args.work, f"result-{dt}.json")
            logf = open(os.path.join(args.report_dir, f"export-{dt}.log"), "w", encoding="utf-8")
            cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--checkpoint", ckpt, "--out", out,
                   "--dtype", dt, "--crops", str(args.crops), "--layers", str(args.layers), "--result", res,
                   "--threads", str(args.threads)]
            log(f"[{dt}] {' '.join(cmd)}")
            proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"))
            running[dt] = (proc, logf, out, res, time.time())
        time.sleep(1)
        for dt, (proc, logf, out, res, started) in list(running.items()):
            rc = proc.poll()
            if rc is None and time.time() < deadline:
                continue
            if rc is None:  # our own child, by pid
                proc.kill()
                rc = proc.wait()
                log(f"[{dt}] killed at the {args.timeout}s deadline")
            logf.close()
            del running[dt]
            r = json.load(open(res, encoding="utf-8")) if rc == 0 and os.path.exists(res) else {"dtype": dt}
            r.update({"rc": rc, "wall_s": round(time.time() - started, 1)})
            results[dt] = r
            log(f"[{dt}] rc {rc} after {r['wall_s']}s; log {logf.name}")
            if rc != 0:
                with open(logf.name, encoding="utf-8", errors="replace") as f:
                    log("".join(f.readlines()[-25:]))
            if not args.keep and os.path.isdir(out):
                shutil.rmtree(out)
    return results


def table(results: dict, dtypes: list[str]) -> str:
    rows: list[str] = []
    for dt in dtypes:
        for k in results.get(dt, {}).get("check", {}):
            if k not in rows:
                rows.append(k)
    head = "| graph | output | " + " | ".join(f"{dt} max_abs | {dt} max_rel" for dt in dtypes) + " |"
    lines = [head, "| --- | --- | " + " | ".join("---: | ---:" for _ in dtypes) + " |"]
    for k in rows:
        graph, what = k.split(":", 1)
        cells = []
        for dt in dtypes:
            v = results.get(dt, {}).get("check", {}).get(k)
            cells.append(f"{v['max_abs']:.2e} | {v['max_rel']:.2e}" if v else "- | -")
        lines.append(f"| {graph} | {what} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="/tmp/magma-real-widths", help="checkpoint + packages (deleted unless --keep)")
    ap.add_argument("--report-dir", default=None, help="logs, real_widths.json, real_widths.md (default: --work)")
    ap.add_argument("--tokenizer", default=os.path.join(REPO, "tests", "assets", "tokenizer"))
    ap.add_argument("--seed", type=int, default=20251128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--device", default=None, help="where the random weights are drawn (default: cuda if present)")
    ap.add_argument("--dtypes", nargs="+", default=["float32", "float16"], choices=["float32", "float16"])
    ap.add_argument("--crops", type=int, default=1, help="512x512 crops in the vision check (export_magma uses 2)")
    ap.add_argument("--jobs", type=int, default=1, help="exports run side by side (each its own process)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads per export (0: torch's default)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds for all exports; later ones are killed")
    ap.add_argument("--keep", action="store_true", help="keep the checkpoint and packages in --work")
    # worker mode (one export in its own process)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--checkpoint", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--dtype", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)

    import torch

    t0 = time.time()
    args.report_dir = args.report_dir or args.work
    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    ckpt = os.path.join(args.work, "checkpoint")
    if os.path.isdir(ckpt):
        shutil.rmtree(ckpt)
    report = {"versions": versions(), "cpu_count": os.cpu_count(), "seed": args.seed, "layers": args.layers,
              "crops": args.crops, "jobs": args.jobs}
    log(json.dumps(report["versions"]))
    report["checkpoint"] = build_checkpoint(ckpt, args.tokenizer, args.seed, args.layers, args.device)
    report["checkpoint"]["size_on_disk"] = sum(os.path.getsize(os.path.join(ckpt, f)) for f in os.listdir(ckpt))
    results = run_workers(args, ckpt)
    report["exports"] = results
    report["seconds_total"] = round(time.time() - t0, 1)

    ok = True
    lines = []
    for dt in args.dtypes:
        r = results.get(dt, {})
        check = r.get("check") or {}
        worst = max((v["max_rel"] for v in check.values()), default=float("nan"))
        shared = any(k.startswith("decoder.onnx:shared logits") for k in check)
        passed = r.get("rc") == 0 and not r.get("problems") and shared and worst <= LIMITS[dt] and \
            any(k.startswith("vision.onnx:") for k in check)
        ok &= passed
        sizes = r.get("sizes", {})
        secs = r.get("seconds", {})
        lines.append(f"{dt}: {'PASS' if passed else 'FAIL'} worst max_rel {worst:.2e} (limit {LIMITS[dt]:.0e}); "
                     f"written in {secs.get('written', float('nan')):.1f}s, with check {secs.get('total', float('nan')):.1f}s, "
                     f"process {r.get('wall_s')}s, peak RSS {r.get('peak_rss_gib', float('nan')):.1f} GiB; sizes "
                     + ", ".join(f"{f} {s / 1e9:.3f} GB" if s > 1e7 else f"{f} {s / 1e3:.1f} kB" for f, s in sizes.items()
                                 if f.endswith((".onnx", ".data")))
                     + (f"; problems: {r['problems']}" if r.get("problems") else ""))
    md = table(results, args.dtypes)
    summary = "\n".join(lines)
    log("\n" + md + "\n\n" + summary)
    log(f"total {report['seconds_total']}s")
    report["ok"] = ok
    dump(os.path.join(args.report_dir, "real_widths.json"), report)
    with open(os.path.join(args.report_dir, "real_widths.md"), "w", encoding="utf-8") as f:
        f.write(md + "\n\n" + summary + "\n")
    if not args.keep:
        shutil.rmtree(ckpt, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
