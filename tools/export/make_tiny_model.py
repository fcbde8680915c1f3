#!/usr/bin/env python3
"""Build the tiny Magma-shaped test model, export it, and write PyTorch golden outputs.

    python tools/export/make_tiny_model.py --out tests/assets/tiny-magma \
        --processor .gpu/image_processing_magma.py --tokenizer tests/assets/tokenizer

1. From a fixed seed, build a checkpoint in the real Magma layout (two safetensors shards + index, real key names,
   config.json with text_config/vision_config, preprocessor_config.json base 512 / 4 crops, generation_config.json,
   the real LLaMA-3 + Magma tokenizer): a 2-layer LLaMA-3 (GQA 4/2 heads, rope_theta 500000, tied embeddings over
   the full 128263-id vocabulary), a 4-stage timm ConvNeXt at tiny widths (stride 32) and the projector.
2. Export it with export_magma.py (fp32) into --out (the exporter's self-check runs here).
3. Write goldens computed in PyTorch (fp32, CPU) into --out/goldens (format: goldens/README.md), and replay the
   same prompts through the exported ONNX graphs in onnxruntime to record the parity the C# engine must reach.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_magma  # noqa: E402
from checkpoint_files import dump, magma_shards, write_shards, write_side_files  # noqa: E402

SYSTEM = "You are agent that can see, talk and act."
IMAGE = "<image_start><image><image_end>"
VISION_DEPTHS = [1, 1, 2, 1]
VISION_DIMS = [8, 16, 24, 32]
NEW_TOKENS = 32
IMAGES = [  # name, width, height, expected (rows, cols)
    ("square_256x256", 256, 256, (1, 1)),
    ("tall_400x900", 400, 900, (2, 1)),
    ("wide_900x400", 900, 400, (1, 2)),
    ("screen_1280x720", 1280, 720, (2, 2)),
]
PROMPTS = [  # name, user content, image names in order
    ("text_only", "What is the capital of France? Answer briefly.", []),
    ("one_image", f"{IMAGE}\nWhat is in the image?", ["screen_1280x720"]),
    ("two_images", f"{IMAGE}\n{IMAGE}\nWhat is different between the two images?", ["tall_400x900", "wide_900x400"]),
]
PIXEL_ROWS = [0, 1, 255, 256, 511]
PIXEL_STRIDE = 16


def log(msg: str) -> None:
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# model
# ---------------------------------------------------------------------------------------------------------------

def text_config(vocab: int) -> dict:
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab, "hidden_size": 32,
        "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "head_dim": 8, "hidden_act": "silu", "max_position_embeddings": 8192, "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0, "rope_scaling": None, "attention_bias": False, "attention_dropout": 0.0,
        "mlp_bias": False, "tie_word_embeddings": True, "bos_token_id": 128000, "eos_token_id": 128009,
        "pad_token_id": 128256, "initializer_range": 0.02, "pretraining_tp": 1, "torch_dtype": "float32",
    }


def build_models(seed: int, vocab: int):
    import timm.models.convnext as tc
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)

    def normal(t, std, mean=0.0):
        with torch.no_grad():
            t.copy_(torch.randn(t.shape, generator=gen) * std + mean)

    text = text_config(vocab)
    cfg = LlamaConfig(**export_magma.llama_config_dict(text))
    cfg._attn_implementation = "eager"
    llama = LlamaForCausalLM(cfg).eval()
    for name, p in sorted(llama.named_parameters()):
        if name.endswith("embed_tokens.weight"):
            normal(p, 0.25)  # larger than 0.02 so greedy argmax margins are wide
        elif name == "model.norm.weight":
            # zero-mean final norm: with a tied head, a positive norm makes every token predict itself and the
            # greedy goldens collapse into one repeated id; random signs remove that self-attraction
            normal(p, 1.5)
        elif name.endswith("norm.weight"):
            normal(p, 0.1, 1.0)
        else:
            normal(p, 1.0 / np.sqrt(p.shape[1]))
    llama.lm_head.weight = llama.model.embed_tokens.weight

    trunk = tc.ConvNeXt(in_chans=3, num_classes=0, global_pool="", depths=VISION_DEPTHS, dims=VISION_DIMS,
                        patch_size=4, ls_init_value=1e-6, norm_eps=1e-5, drop_path_rate=0.0).eval()
    proj = torch.nn.Sequential(torch.nn.Linear(VISION_DIMS[-1], 32), torch.nn.GELU(), torch.nn.Linear(32, 32)).eval()
    for module in list(trunk.modules()) + list(proj.modules()):
        if isinstance(module, torch.nn.LayerNorm):
            normal(module.weight, 0.1, 1.0)
            normal(module.bias, 0.1)
        elif isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            fan_in = int(np.prod(module.weight.shape[1:]))
            normal(module.weight, 1.0 / np.sqrt(fan_in))
            normal(module.bias, 0.1)
    for name, p in sorted(trunk.named_parameters()):
        if name.endswith("gamma"):
            with torch.no_grad():
                p.copy_(torch.rand(p.shape, generator=gen) * 0.6 + 0.2)
    row_sep = torch.randn((1, 1, 32), generator=gen)
    return text, llama, trunk, proj, row_sep


def write_checkpoint(folder: str, tokenizer_dir: str, text: dict, llama, trunk, proj, row_sep) -> None:
    os.makedirs(folder, exist_ok=True)
    write_shards(folder, magma_shards(llama, trunk, proj, row_sep))

    config = {k: v for k, v in text.items() if k not in ("architectures", "model_type")}
    config.update({
        "_name_or_path": "magma-agents/tiny-magma-random",
        "architectures": ["MagmaForCausalLM"],
        "auto_map": {"AutoConfig": "configuration_magma.MagmaConfig",
                     "AutoModelForCausalLM": "modeling_magma.MagmaForCausalLM"},
        "model_type": "magma",
        "image_token_index": 128257,
        "img_size": 512,
        "mm_use_image_start_end": True,
        "tokenizer_vocab_size": 128000,
        "text_config": text,
        "vision_config": {
            "vision_backbone": "convnext_tiny_random", "vision_feature_layer": "clip_vis_dense",
            "img_anyres_strategy": "crop", "img_size": 512, "max_num_crops": 4, "mm_hidden_size": VISION_DIMS[-1],
            "hidden_size": 32, "mm_projector_type": "mlp2x_gelu", "mm_use_im_start_end": False,
            "mm_use_row_seperator": True, "vision_depths": VISION_DEPTHS, "vision_dims": VISION_DIMS,
        },
    })
    write_side_files(folder, config, tokenizer_dir)



# ---------------------------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------------------------

def make_image(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Smooth ramps + flat boxes (compress well as PNG) + one noise patch (high frequencies)."""
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.stack([xx * 255.0 / max(width - 1, 1), yy * 255.0 / max(height - 1, 1), (xx + 2 * yy) % 256], -1)
    for _ in range(10):
        w, h = int(rng.integers(width // 10, width // 3)), int(rng.integers(height // 10, height // 3))
        x0, y0 = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
        img[y0:y0 + h, x0:x0 + w] = rng.integers(0, 256, 3)
    n = min(48, width // 4, height // 4)
    x0, y0 = int(rng.integers(0, width - n)), int(rng.integers(0, height - n))
    img[y0:y0 + n, x0:x0 + n] = rng.integers(0, 256, (n, n, 3))
    return img.astype(np.uint8)


def load_processor(path: str):
    """Magma's own MagmaImageProcessor; if that file cannot import here, its two pure-torch functions."""
    import torch

    spec = importlib.util.spec_from_file_location("magma_image_processing", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the trailing AutoImageProcessor.register may fail on newer transformers
        log(f"image_processing_magma.py import stopped: {type(exc).__name__}: {exc}")
    if hasattr(module, "MagmaImageProcessor"):
        try:
            proc = module.MagmaImageProcessor(anyres_strategy="crop", base_img_size=512, num_crops=4)

            def run(img):
                out = proc.preprocess(img, return_tensors=None)
                return torch.as_tensor(out["pixel_values"]).float(), tuple(int(v) for v in out["image_sizes"][0])

            run(np.zeros((40, 60, 3), np.uint8))
            return run, "image_processing_magma.MagmaImageProcessor.preprocess"
        except Exception as exc:
            log(f"MagmaImageProcessor unusable: {type(exc).__name__}: {exc}")
    ns = {"torch": torch, "ast": ast}
    tree = ast.parse(open(path, encoding="utf-8").read())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in ("select_best_resolution", "process_anyres_image"):
            exec(compile(ast.Module(body=[node], type_ignores=[]), path, "exec"), ns)
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073])[:, None, None]
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711])[:, None, None]

    def run_fallback(img):
        x = torch.from_numpy(img.transpose(2, 0, 1).copy()).float().div(255)
        x = (x - mean) / std
        patches, grid = ns["process_anyres_image"](x, 4, base_width=512, base_height=512)
        return patches.float(), tuple(int(v) for v in grid)

    return run_fallback, "image_processing_magma.process_anyres_image (+ ToTensor/Normalize)"


def stitch(features, rows: int, cols: int, row_sep):
    """Spec 3.4, as modeling_magma.py does it: crops in place, then one separator after every feature row."""
    import torch

    f = features.view(rows, cols, *features.shape[1:]).permute(0, 2, 1, 3, 4).flatten(2, 3).flatten(0, 1)
    f = torch.cat((f, row_sep.reshape(1, 1, -1).repeat(f.shape[0], 1, 1)), dim=1)
    return f.flatten(0, 1)


def render(messages: list[dict]) -> str:
    """The LLaMA-3 template of tokenizer_config.json, written out (used only if transformers cannot render it)."""
    out = ""
    for i, m in enumerate(messages):
        part = f"<|start_header_id|>{m['role']}<|end_header_id|>\n\n{m['content'].strip()}<|eot_id|>"
        out += ("<|begin_of_text|>" + part) if i == 0 else part
    return out + "<|start_header_id|>assistant<|end_header_id|>\n\n"


# ---------------------------------------------------------------------------------------------------------------
# goldens
# ---------------------------------------------------------------------------------------------------------------

class Goldens:
    def __init__(self, folder: str):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)

    def tensor(self, name: str, array) -> dict:
        array = np.ascontiguousarray(np.asarray(array, dtype="<f4"))
        array.tofile(os.path.join(self.folder, name))
        return {"file": name, "shape": list(array.shape), "dtype": "float32",
                "sum": float(array.astype(np.float64).sum()), "abs_sum": float(np.abs(array.astype(np.float64)).sum())}


def greedy_torch(llama, embeds, table, steps: int):
    import torch

    t = embeds.shape[0]
    out = llama(inputs_embeds=embeds[None], position_ids=torch.arange(t)[None],
                attention_mask=torch.ones(1, t, dtype=torch.long), use_cache=True)
    first = out.logits[0, -1].float().clone()
    cache, logits, ids, margins = out.past_key_values, first, [], []
    for step in range(steps):
        top = torch.topk(logits, 2)
        nxt = int(top.indices[0])
        ids.append(nxt)
        margins.append(float(top.values[0] - top.values[1]))
        pos = t + step
        out = llama(inputs_embeds=table[nxt][None, None], position_ids=torch.tensor([[pos]]),
                    attention_mask=torch.ones(1, pos + 1, dtype=torch.long), past_key_values=cache, use_cache=True)
        cache, logits = out.past_key_values, out.logits[0, -1].float()
    return first.numpy(), ids, margins


def greedy_onnx(pkg: str, manifest: dict, embeds: np.ndarray, steps: int):
    """The greedy loop on the exported graphs, fed the way the C# engine feeds them.

    GroupQueryAttention decoders (`kv_cache_sharing`): one [1,KV,capacity,D] buffer per layer and K/V, bound through
    IOBinding as both past_key_values.* and present.*, attention_mask [1,P+T] of ones. Plain decoders: present fed back
    as past, position_ids P..P+T-1.
    """
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    dec = ort.InferenceSession(os.path.join(pkg, "decoder.onnx"), so, providers=["CPUExecutionProvider"])
    emb = ort.InferenceSession(os.path.join(pkg, "embed.onnx"), so, providers=["CPUExecutionProvider"])
    d = manifest["decoder"]
    shared = bool(d.get("kv_cache_sharing"))
    names = [o.name for o in dec.get_outputs()]
    kv_shape = (1, d["num_key_value_heads"], 0, d["head_dim"])
    past, io, keep = {}, None, []
    if shared:
        capacity = embeds.shape[0] + steps
        io = dec.io_binding()
        for i in range(d["num_layers"]):
            for kind in ("key", "value"):
                buf = np.zeros((1, d["num_key_value_heads"], capacity, d["head_dim"]), np.float32)
                ov = ort.OrtValue.ortvalue_from_numpy(buf)
                keep += [buf, ov]
                io.bind_ortvalue_input(f"past_key_values.{i}.{kind}", ov)
                io.bind_ortvalue_output(f"present.{i}.{kind}", ov)
    else:
        for i in range(d["num_layers"]):
            for kind in ("key", "value"):
                past[f"past_key_values.{i}.{kind}"] = np.zeros(kv_shape, np.float32)
    x, start, ids, first = embeds[None].astype(np.float32), 0, [], None
    for _ in range(steps + 1):
        n = x.shape[1]
        mask = np.ones((1, start + n), np.int64)
        if shared:
            x = np.ascontiguousarray(x)
            logits_buf = np.zeros((1, 1 if d["logits_last_only"] else n, d["vocab_size"]), np.float32)
            lv = ort.OrtValue.ortvalue_from_numpy(logits_buf)
            keep += [x, mask, logits_buf, lv]
            io.bind_cpu_input("inputs_embeds", x)
            io.bind_cpu_input("attention_mask", mask)
            io.bind_ortvalue_output("logits", lv)
            dec.run_with_iobinding(io)
            logits = logits_buf[0, -1]
        else:
            feed = {"inputs_embeds": x, "attention_mask": mask}
            if d["has_position_ids"]:
                feed["position_ids"] = np.arange(start, start + n, dtype=np.int64)[None]
            feed.update(past)
            outs = dict(zip(names, dec.run(None, feed)))
            logits = outs["logits"][0, -1]
            past = {k.replace("present.", "past_key_values."): v for k, v in outs.items() if k.startswith("present.")}
        if first is None:
            first = logits.copy()
        if len(ids) == steps:
            break
        ids.append(int(np.argmax(logits)))
        start += n
        (x,) = emb.run(None, {"input_ids": np.array([[ids[-1]]], np.int64)})
    return first, ids


def make_goldens(out: str, text: dict, llama, trunk, proj, row_sep, tokenizer_dir: str, processor: str, seed: int,
                 manifest: dict) -> dict:
    import onnxruntime as ort
    import torch
    from PIL import Image

    g = Goldens(os.path.join(out, "goldens"))
    rng = np.random.default_rng(seed)
    preprocess, processor_note = load_processor(processor)
    log(f"pre-processing with {processor_note}")
    so = ort.SessionOptions()
    so.log_severity_level = 3
    vision_onnx = ort.InferenceSession(os.path.join(out, "vision.onnx"), so, providers=["CPUExecutionProvider"])
    embed_onnx = ort.InferenceSession(os.path.join(out, "embed.onnx"), so, providers=["CPUExecutionProvider"])
    table = llama.model.embed_tokens.weight.detach()
    index = {"format_version": 1, "seed": seed, "processor": processor_note, "system_prompt": SYSTEM,
             "images": [], "prompts": [], "parity": {}}
    image_embeds, image_embeds_onnx = {}, {}

    with torch.no_grad():
        for name, width, height, grid in IMAGES:
            pixels = make_image(rng, width, height)
            png = f"{name}.png"
            Image.fromarray(pixels, "RGB").save(os.path.join(g.folder, png), optimize=True)
            pixels = np.array(Image.open(os.path.join(g.folder, png)).convert("RGB"))
            pv, got_grid = preprocess(pixels)
            if got_grid != grid:
                raise SystemExit(f"{name}: processor chose grid {got_grid}, expected {grid}")
            feats = proj(trunk.stages(trunk.stem(pv)).permute(0, 2, 3, 1))
            embeds = stitch(feats, grid[0], grid[1], row_sep)
            image_embeds[name] = embeds
            onnx_feats, onnx_sep = vision_onnx.run(None, {"pixel_values": np.ascontiguousarray(pv.numpy())})
            onnx_embeds = stitch(torch.from_numpy(onnx_feats), grid[0], grid[1], torch.from_numpy(onnx_sep)).numpy()
            image_embeds_onnx[name] = onnx_embeds
            index["parity"][f"vision:{name}"] = export_magma.errors(onnx_feats, feats.numpy())
            pvn = pv.numpy()
            index["images"].append({
                "name": name, "file": png, "width": width, "height": height, "grid": list(grid),
                "num_crops": int(pvn.shape[0]), "num_image_tokens": int(embeds.shape[0]),
                "pixel_values": {
                    "shape": list(pvn.shape),
                    "channel_sums": pvn.astype(np.float64).sum(axis=(2, 3)).tolist(),
                    "subsampled": dict(g.tensor(f"{name}.pixel_values.sub{PIXEL_STRIDE}.bin",
                                                pvn[:, :, ::PIXEL_STRIDE, ::PIXEL_STRIDE]), stride=PIXEL_STRIDE),
                    "rows": dict(g.tensor(f"{name}.pixel_values.rows.bin", pvn[:, :, PIXEL_ROWS, :]), y=PIXEL_ROWS),
                },
                "image_features": g.tensor(f"{name}.image_features.bin", feats.numpy()),
                "image_embeddings": g.tensor(f"{name}.image_embeddings.bin", embeds.numpy()),
            })
            log(f"{name}: grid {grid}, pixel_values {list(pvn.shape)}, {embeds.shape[0]} image embeddings, "
                f"vision onnx max_abs {index['parity'][f'vision:{name}'][0]:.2e}")

        tok = tokenize_fn(tokenizer_dir)
        image_id = manifest["tokens"]["image"]
        for name, user, images in PROMPTS:
            messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
            prompt, ids, tok_note = tok(messages)
            if ids.count(image_id) != len(images):
                raise SystemExit(f"{name}: {ids.count(image_id)} <image> ids for {len(images)} images")
            parts, parts_onnx, k = [], [], 0
            (text_onnx,) = embed_onnx.run(None, {"input_ids": np.array([ids], np.int64)})
            for j, t in enumerate(ids):
                if t == image_id:
                    parts.append(image_embeds[images[k]])
                    parts_onnx.append(image_embeds_onnx[images[k]])
                    k += 1
                else:
                    parts.append(table[t][None])
                    parts_onnx.append(text_onnx[0, j][None])
            merged = torch.cat(parts, 0)
            merged_onnx = np.concatenate(parts_onnx, 0)
            logits, new_ids, margins = greedy_torch(llama, merged, table, NEW_TOKENS)
            onnx_logits, onnx_ids = greedy_onnx(out, manifest, merged_onnx, NEW_TOKENS)
            index["parity"][f"merged:{name}"] = export_magma.errors(merged_onnx, merged.numpy())
            index["parity"][f"logits:{name}"] = export_magma.errors(onnx_logits, logits)
            index["parity"][f"greedy_equal:{name}"] = onnx_ids == new_ids
            eos = manifest["tokens"]["eos"]
            index["prompts"].append({
                "name": name, "messages": messages, "prompt": prompt, "tokenization": tok_note,
                "input_ids": ids, "images": images, "merged_length": int(merged.shape[0]),
                "image_token_positions": [j for j, t in enumerate(ids) if t == image_id],
                "merged_embeddings": g.tensor(f"{name}.merged_embeddings.bin", merged.numpy()),
                "last_logits": dict(g.tensor(f"{name}.last_logits.bin", logits), argmax=int(np.argmax(logits))),
                "greedy": {"max_new_tokens": NEW_TOKENS, "ids": new_ids, "top2_margins": margins,
                           "first_eos_index": next((i for i, t in enumerate(new_ids) if t in eos), None),
                           "onnx_ids": onnx_ids},
            })
            log(f"{name}: {len(ids)} ids, merged {merged.shape[0]}, greedy {new_ids[:8]}... "
                f"({len(set(new_ids))} distinct), min margin "
                f"{min(margins):.3f}, onnx greedy equal {onnx_ids == new_ids}, logits max_abs "
                f"{index['parity'][f'logits:{name}'][0]:.2e}")
    dump(os.path.join(g.folder, "index.json"), index)
    return index


def tokenize_fn(tokenizer_dir: str):
    from tokenizers import Tokenizer

    fast = Tokenizer.from_file(os.path.join(tokenizer_dir, "tokenizer.json"))
    try:
        from transformers import AutoTokenizer

        hf = AutoTokenizer.from_pretrained(tokenizer_dir)
    except Exception as exc:
        log(f"transformers AutoTokenizer unavailable ({exc}); rendering the template by hand")
        hf = None

    def run(messages):
        note = "manual template render + tokenizers.Tokenizer.encode (adds BOS)"
        prompt = render(messages)
        if hf is not None:
            rendered = hf.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            if rendered != prompt:
                log(f"WARNING chat template render differs from the hand render:\n{rendered!r}\n{prompt!r}")
                note = "transformers apply_chat_template (differs from hand render!) + tokenizers.Tokenizer.encode"
                prompt = rendered
            else:
                note = "transformers apply_chat_template + tokenizers.Tokenizer.encode (adds BOS)"
        ids = fast.encode(prompt).ids
        if hf is not None:
            hf_ids = list(hf(prompt)["input_ids"])
            if hf_ids != ids:
                log(f"WARNING tokenizers and transformers ids differ: {hf_ids[:12]} vs {ids[:12]}")
                note += f"; transformers tokenizer gave different ids: {hf_ids}"
        return prompt, ids, note

    return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/assets/tiny-magma")
    ap.add_argument("--tokenizer", default="tests/assets/tokenizer")
    ap.add_argument("--processor", default=".gpu/image_processing_magma.py",
                    help="Magma's magma/image_processing_magma.py (reference only, never committed)")
    ap.add_argument("--checkpoint-dir", default=None, help="where to keep the generated checkpoint (default: temp)")
    ap.add_argument("--seed", type=int, default=20251127)
    ap.add_argument("--attention", choices=["gqa", "plain"], default="gqa", help="decoder attention (export_magma.py)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(4)
    vocab = max(t["id"] for t in json.load(open(os.path.join(args.tokenizer, "tokenizer.json")))["added_tokens"]) + 1
    text, llama, trunk, proj, row_sep = build_models(args.seed, vocab)
    ckpt = args.checkpoint_dir or tempfile.mkdtemp(prefix="tiny-magma-ckpt-")
    write_checkpoint(ckpt, args.tokenizer, text, llama, trunk, proj, row_sep)
    log(f"checkpoint written to {ckpt}")
    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    result = export_magma.export(ckpt, args.out, "float32", True, True, "magma-agents/tiny-magma-random",
                                 attention=args.attention)
    index = make_goldens(args.out, text, llama, trunk, proj, row_sep, args.tokenizer, args.processor, args.seed,
                         result["manifest"])
    dump(os.path.join(args.out, "export_check.json"), result["check"])
    bad = [k for k, v in index["parity"].items() if v is False or (isinstance(v, tuple) and v[1] > 1e-4)]
    bad += [k for k, v in result["check"].items() if not v["max_rel"] <= 1e-4]
    log("parity problems: " + (", ".join(bad) if bad else "none"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
