#!/usr/bin/env python3
"""Train the tiny Magma-shaped web model of issue 20 on tools/web-datagen data, and export it with tools/export.

    python3 tools/train-web/train_web.py --data /root/train20-data --work /root/train20-work --minutes 25
    python3 tools/train-web/train_web.py --data out/web-data --work out/train-web --dry-run

The model is the project's Magma-shaped reference (tools/export/make_tiny_model.py) at widths chosen for the job:
timm ConvNeXt (stem + 4 stages, stride 32) -> mlp2x_gelu projector -> crops stitched with the learned row separator
-> transformers LlamaForCausalLM (GQA, RoPE 500000, tied embeddings over the real 128,263-id Magma vocabulary). The
inputs are the engine's: the examples' own prompts (the web policy's text, LLaMA-3 chat template with the double BOS),
tokenized by the real tokenizer (tests/assets/tokenizer), the image placeholder replaced by the stitched image
embeddings, and the screenshot pre-processed as the real processor does (CLIP normalisation, best-fit anyres grid,
bilinear stretch with align_corners=False and no antialias, row-major 512-pixel crops; checked against
tests/assets/golden/preprocessing.json by test_train_web.py). The loss is on the answer tokens and the <|eot_id|>
after them only.

Data: folders written by tools/web-datagen (examples.jsonl + PNG) or parts written by webpack.py (manifest.json +
xz blocks), found under every --data path; a part or folder of split "heldout" (or a folder named heldout*) is the
held-out set, never trained on.

Budget and resuming: --minutes is the total training time over all runs (the learning-rate schedule follows the
fraction of it used), --max-steps an optional step cap, --stop-after the wall time of this run (then it saves and
exits with code 3; run the same command again to resume). The checkpoint (--work/state.pt) is written every
--save-minutes and at the end; a run that finds a finished training goes straight to evaluation and export.

Writes into --work: state.pt, report.json, report.md, loss.png, checkpoint/ (Hugging Face Magma layout),
package-float32/ (export_magma.py, with its self-check against PyTorch) and package/ (--package-dtype int4: the
int4 decoder of quantize_package.py; float32: a copy of package-float32).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import signal
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tools", "export"))
import webpack  # noqa: E402

IMAGE_MEAN = (0.48145466, 0.4578275, 0.40821073)
IMAGE_STD = (0.26862954, 0.26130258, 0.27577711)
BOS, EOT, PAD, IMAGE = 128000, 128009, 128256, 128257
EXIT_INTERRUPTED = 3


def log(msg: str) -> None:
    print(f"[train-web {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------------------------

class DataSet:
    """Examples and their decoded screenshots (uint8 HxWx3, keyed by 'set/images/x.png')."""

    def __init__(self):
        self.examples: list[dict] = []
        self.images: dict[str, np.ndarray] = {}
        self.sources: list[dict] = []
        self.keys: list[str] = []


def find_sources(paths: list[str]) -> list[tuple[str, str]]:
    """(kind, folder) for every webpack part (manifest.json) and web-datagen folder (examples.jsonl) under paths."""
    found = []
    for root in paths:
        if not os.path.isdir(root):
            raise SystemExit(f"--data {root}: not a folder")
        for folder, dirs, files in os.walk(root, followlinks=True):
            dirs.sort()
            if "manifest.json" in files and any(f.startswith("block-") for f in files):
                found.append(("part", folder))
                dirs.clear()
            elif "examples.jsonl" in files:
                found.append(("folder", folder))
                dirs.clear()
    if not found:
        raise SystemExit(f"--data {paths}: no web-datagen folder (examples.jsonl) or webpack part (manifest.json) found")
    return found


def folder_split(folder: str) -> str:
    name = os.path.basename(os.path.normpath(folder)).lower()
    for split in ("heldout", "val"):
        if name.startswith(split):
            return split
    return "train"


def load_data(paths: list[str], max_pages: int | None = None) -> dict[str, DataSet]:
    from concurrent.futures import ThreadPoolExecutor

    sets = {"train": DataSet(), "val": DataSet(), "heldout": DataSet()}
    for kind, folder in find_sources(paths):
        t0 = time.time()
        if kind == "part":
            manifest = webpack.load_manifest(folder)
            split = manifest["split"]
            examples = webpack.part_examples(folder)
            images = webpack.part_images(folder, manifest)
        else:
            split = folder_split(folder)
            name = os.path.basename(os.path.normpath(folder))
            examples = [dict(e, set=name) for e in webpack.read_examples(folder)]
            keys = sorted({e["image"] for e in examples})
            with ThreadPoolExecutor(8) as pool:
                arrays = list(pool.map(lambda k: webpack.decode_png(os.path.join(folder, k)), keys))
            images = {f"{name}/{k}": a for k, a in zip(keys, arrays)}
        ds = sets[split]
        ds.examples += examples
        ds.images.update(images)
        ds.sources.append({"kind": kind, "folder": folder, "split": split, "examples": len(examples),
                           "images": len(images)})
        log(f"{split}: {folder} ({kind}) {len(examples)} examples, {len(images)} images in {time.time() - t0:.1f}s")
    if max_pages:
        for ds in sets.values():
            seeds = sorted({e["seed"] for e in ds.examples})[:max_pages]
            keep = set(seeds)
            ds.examples = [e for e in ds.examples if e["seed"] in keep]
    for name, ds in sets.items():
        for e in ds.examples:
            key = f"{e['set']}/{e['image']}"
            if key not in ds.images:
                raise SystemExit(f"{name}: example {e['id']} of {e['set']} needs image {e['image']}, which is missing")
    if sets["train"].examples and sets["heldout"].examples:
        overlap = {e["seed"] for e in sets["train"].examples} & {e["seed"] for e in sets["heldout"].examples}
        if overlap:
            raise SystemExit(f"seeds {sorted(overlap)[:5]} are in both the training and the held-out data")
    return sets


def counts(examples: list[dict]) -> dict:
    out: dict = {"examples": len(examples), "pages": len({(e['set'], e['seed']) for e in examples})}
    for field in ("style", "action", "kind"):
        c: dict = {}
        for e in examples:
            k = e.get(field) if field != "style" or "step" not in e else f"{e['style']}_episode"
            c[k] = c.get(k, 0) + 1
        out[f"by_{field}"] = dict(sorted(c.items(), key=lambda kv: -kv[1]))
    return out


# ---------------------------------------------------------------------------------------------------------------
# tokens
# ---------------------------------------------------------------------------------------------------------------

class Tokens:
    """The real LLaMA-3/Magma tokenizer (Hugging Face tokenizers, as tools/export/make_tiny_model.py, or with
    --local-fallback where that package is missing, pybpe.PyBPE over the same tokenizer.json): prompt ids are
    encode(prompt) with the post-processor's BOS before the template's own <|begin_of_text|> (the engine's double
    BOS, ChatTemplate.Encode); answer ids are encode(answer) without specials, then <|eot_id|>."""

    def __init__(self, tokenizer_dir: str, fallback: bool):
        path = os.path.join(tokenizer_dir, "tokenizer.json")
        try:
            from tokenizers import Tokenizer

            self.tok = Tokenizer.from_file(path)
            self.note = f"tokenizers {path}"
        except ImportError:
            if not fallback:
                raise SystemExit("the Python package 'tokenizers' is missing (it comes with transformers); "
                                 "--local-fallback only for --dry-run tests on a machine without it")
            # the same vocabulary and ids (checked against the JS tokenizer), in plain Python: slower to load, and
            # numbers outside \d (½, Ⅻ) split differently, so real training keeps to the tokenizers package
            from pybpe import PyBPE

            self.tok = PyBPE(path)
            self.note = f"pybpe.PyBPE {path} (plain-Python reader of the real tokenizer, --local-fallback)"

    def prompts(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tok.encode_batch(texts)]

    def answers(self, texts: list[str]) -> list[list[int]]:
        return [e.ids + [EOT] for e in self.tok.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: list[int]) -> str:
        return self.tok.decode(ids, skip_special_tokens=False)


def tokenize(ds: DataSet, tokens: Tokens) -> list[dict]:
    """Examples with prompt ids split around the one <image> id, answer ids, and the image's index."""
    keys = sorted({f"{e['set']}/{e['image']}" for e in ds.examples})  # only the screenshots examples use
    index = {k: i for i, k in enumerate(keys)}
    prompts = tokens.prompts([e["prompt"] for e in ds.examples])
    answers = tokens.answers([e["answer"] for e in ds.examples])
    out = []
    for e, p, a in zip(ds.examples, prompts, answers):
        if p[:2] != [BOS, BOS]:
            raise SystemExit(f"example {e['id']}: prompt ids start {p[:2]}, expected the double BOS [{BOS}, {BOS}]")
        if p.count(IMAGE) != 1:
            raise SystemExit(f"example {e['id']}: {p.count(IMAGE)} <image> ids in the prompt, expected 1")
        at = p.index(IMAGE)
        out.append({"ex": e, "pre": p[:at], "post": p[at + 1:], "answer": a,
                    "image": index[f"{e['set']}/{e['image']}"]})
    ds.keys = keys
    return out


# ---------------------------------------------------------------------------------------------------------------
# pre-processing (ImagePreprocessor.cs / MagmaImageProcessor, crop strategy)
# ---------------------------------------------------------------------------------------------------------------

def word_variant_map(tokenizer_json: str, vocab: int) -> list[int]:
    """Input-id map for --merge-word-variants: every token whose byte-level string begins with a letter and whose
    space-prefixed form is also a token ('Last' and 'ĠLast') is read as that form; all others map to themselves.

    Why: the agent's mark list used to quote names (`[4] textbox "Last name"`), and LLaMA-3's pre-tokenizer splits
    `"Last` into ` "` + `Last`, while the task says ` Last`: a decoder trained from scratch sees two unrelated ids and
    cannot match the task to the mark (docs/web-model.md, 'Why it does not learn the mark'). Reading both as one id
    makes it a copy of equal tokens. The mark list now puts every name after a space (`[4] textbox: Last name`), so
    this matters less (still: a name after `(` or at the start of a typed value); it stays harmless. The map folds
    into the exported embedding table (write_checkpoint), so the package and the engine are unchanged; the LM head
    keeps every id, so answers still spell words as the tokenizer does."""
    with open(tokenizer_json, encoding="utf-8") as f:
        words = json.load(f)["model"]["vocab"]
    out = list(range(vocab))
    for text, i in words.items():
        if i < vocab and text[:1].isalpha() and ("\u0120" + text) in words:
            out[i] = words["\u0120" + text]
    return out


def select_grid(width: int, height: int, base: int = 512, num_crops: int = 4) -> tuple[int, int]:
    """(rows, cols): LLaVA-NeXT best fit among (i*base, j*base), i*j <= num_crops, i outer (width), first wins ties."""
    best, best_eff, best_waste = None, 0, None
    for i in range(1, num_crops + 1):
        for j in range(1, num_crops // i + 1):
            w, h = i * base, j * base
            scale = min(w / width, h / height)
            eff = min(int(width * scale) * int(height * scale), width * height)
            waste = w * h - eff
            if eff > best_eff or (eff == best_eff and waste < best_waste):
                best, best_eff, best_waste = (w, h), eff, waste
    return best[1] // base, best[0] // base


def preprocess(images_u8, base: int = 512, num_crops: int = 4):
    """uint8 [B,H,W,3] (torch, any device) -> pixel_values float32 [B*rows*cols, 3, base, base] and (rows, cols):
    ToTensor (/255), Normalize, F.interpolate bilinear align_corners=False (no antialias), crops row-major."""
    import torch
    import torch.nn.functional as F

    b, h, w, _ = images_u8.shape
    rows, cols = select_grid(w, h, base, num_crops)
    mean = torch.tensor(IMAGE_MEAN, device=images_u8.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGE_STD, device=images_u8.device).view(1, 3, 1, 1)
    x = images_u8.permute(0, 3, 1, 2).float().div(255.0)
    x = (x - mean) / std
    if (h, w) != (rows * base, cols * base):
        x = F.interpolate(x, size=(rows * base, cols * base), mode="bilinear", align_corners=False)
    x = x.view(b, 3, rows, base, cols, base).permute(0, 2, 4, 1, 3, 5).reshape(b * rows * cols, 3, base, base)
    return x.contiguous(), (rows, cols)


# ---------------------------------------------------------------------------------------------------------------
# model
# ---------------------------------------------------------------------------------------------------------------

def text_config(args, vocab: int) -> dict:
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab,
        "hidden_size": args.hidden, "intermediate_size": args.intermediate, "num_hidden_layers": args.layers,
        "num_attention_heads": args.heads, "num_key_value_heads": args.kv_heads, "head_dim": args.hidden // args.heads,
        "hidden_act": "silu", "max_position_embeddings": 8192, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
        "rope_scaling": None, "attention_bias": False, "attention_dropout": 0.0, "mlp_bias": False,
        "tie_word_embeddings": True, "bos_token_id": BOS, "eos_token_id": EOT, "pad_token_id": PAD,
        "initializer_range": 0.02, "pretraining_tp": 1, "torch_dtype": "float32",
    }


def build_model(args, vocab: int, fallback: bool, input_map: list[int] | None = None):
    import torch

    try:
        import timm.models.convnext as tc
        from transformers import LlamaConfig, LlamaForCausalLM

        import export_magma

        def make_llama(text):
            cfg = LlamaConfig(**export_magma.llama_config_dict(text))
            cfg._attn_implementation = "sdpa"
            return LlamaForCausalLM(cfg)

        def make_trunk(depths, dims):
            return tc.ConvNeXt(in_chans=3, num_classes=0, global_pool="", depths=depths, dims=dims, patch_size=4,
                               ls_init_value=1e-6, norm_eps=1e-5, drop_path_rate=0.0)

        note = "timm ConvNeXt + transformers LlamaForCausalLM"
    except ImportError as exc:
        if not fallback:
            raise SystemExit(f"{exc}: training needs timm and transformers (the GPU machine has them); "
                             "--local-fallback only for --dry-run tests")
        import local_modules

        make_llama, make_trunk = local_modules.llama, local_modules.convnext
        note = "local_modules stand-ins (dry-run only, NOT the reference modules)"

    class WebMagma(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.text = text_config(args, vocab)
            self.llama = make_llama(self.text)
            self.trunk = make_trunk(args.vision_depths, args.vision_dims)
            d = args.vision_dims[-1]
            self.proj = torch.nn.Sequential(torch.nn.Linear(d, args.hidden), torch.nn.GELU(),
                                            torch.nn.Linear(args.hidden, args.hidden))
            self.row_sep = torch.nn.Parameter(torch.randn(1, 1, args.hidden) * 0.02)
            if getattr(args, "proj_zero_init", False):
                # zero-initialised output layer (as LoRA's B, or zero-init residual branches): an untrained vision
                # tower then puts zeros, not noise of unit scale, at the 1,056 image positions, so a decoder warmed
                # up on text (--text-warmup) meets keys and values of zero there instead of random ones (session
                # 8's warm-up fell to 0 % once the screenshot came in front). The last layer still gets gradients
                # (its input is not zero); the tower gets them from the first step that moves it. Not yet validated.
                torch.nn.init.zeros_(self.proj[2].weight)
                torch.nn.init.zeros_(self.proj[2].bias)
            self.llama.lm_head.weight = self.llama.model.embed_tokens.weight
            # input ids as the embedding reads them (identity unless --merge-word-variants)
            self.register_buffer("input_map", torch.tensor(input_map if input_map else list(range(vocab))),
                                 persistent=False)

        def image_embeds(self, pixel_values, grid, n: int):
            """[n*rows*cols,3,S,S] -> [n, rows*g*(cols*g+1), hidden] (spec 3.4, as make_tiny_model.stitch)."""
            f = self.proj(self.trunk.stages(self.trunk.stem(pixel_values)).permute(0, 2, 3, 1))
            return stitch(f, n, grid, self.row_sep)

    model = WebMagma()
    return model, note


def stitch(features, n: int, grid: tuple[int, int], row_sep):
    """Projected crop features [n*rows*cols, g, g, H] of n images -> [n, rows*g*(cols*g+1), H]: crop (r, c)'s feature
    (y, x) at (r*g+y, c*g+x), then the row separator after every feature row (spec 3.4; the engine's layout)."""
    import torch

    rows, cols = grid
    g = features.shape[1]
    f = features.reshape(n, rows, cols, g, g, -1).permute(0, 1, 3, 2, 4, 5).reshape(n, rows * g, cols * g, -1)
    sep = row_sep.reshape(1, 1, 1, -1).to(f.dtype).expand(n, rows * g, 1, f.shape[-1])
    return torch.cat((f, sep), dim=2).reshape(n, rows * g * (cols * g + 1), -1)


def merge(model, batch: list[dict], img_embeds, with_answer: bool, extra: list[list[int]] | None = None):
    """Right-padded inputs_embeds [B,T,H], attention_mask, position_ids and, per example, the answer positions."""
    import torch

    emb = model.llama.model.embed_tokens
    dev = img_embeds.device
    seqs, spans = [], []
    for i, item in enumerate(batch):
        tail = item["post"] + (item["answer"] if with_answer else []) + (extra[i] if extra else [])
        pre = emb(model.input_map[torch.tensor(item["pre"], device=dev, dtype=torch.long)])
        post = emb(model.input_map[torch.tensor(tail, device=dev, dtype=torch.long)])
        x = torch.cat((pre, img_embeds[i].to(pre.dtype), post), 0)
        seqs.append(x)
        start = len(item["pre"]) + img_embeds.shape[1] + len(item["post"])
        spans.append((start, len(item["answer"]) if with_answer else 0))
    t = max(s.shape[0] for s in seqs)
    x = torch.zeros(len(seqs), t, seqs[0].shape[1], dtype=seqs[0].dtype, device=dev)
    mask = torch.zeros(len(seqs), t, dtype=torch.long, device=dev)
    for i, s in enumerate(seqs):
        x[i, :s.shape[0]] = s
        mask[i, :s.shape[0]] = 1
    pos = torch.arange(t, device=dev).unsqueeze(0).expand(len(seqs), t)
    return x, mask, pos, spans, [s.shape[0] for s in seqs]


class Batcher:
    """Images resident on the device as uint8; per batch, the distinct screenshots go through pre-processing and
    the vision tower once."""

    def __init__(self, items: list[dict], keys: list[str], images: dict, device):
        import torch

        self.items = items
        shapes = {images[k].shape for k in keys}
        if len(shapes) != 1:
            raise SystemExit(f"screenshots of several sizes {sorted(shapes)}; this trainer batches one size "
                             "(web-datagen writes 1280x800)")
        h, w, c = next(iter(shapes))
        # filled one screenshot at a time: no second host copy of all of them
        self.store = torch.empty((len(keys), h, w, c), dtype=torch.uint8, device=device)
        for i, k in enumerate(keys):
            self.store[i].copy_(torch.from_numpy(images[k]))

    def pixels(self, batch: list[dict]):
        import torch

        uniq = sorted({it["image"] for it in batch})
        where = {k: i for i, k in enumerate(uniq)}
        pv, grid = preprocess(self.store[torch.tensor(uniq, device=self.store.device)])
        return pv, grid, len(uniq), [where[it["image"]] for it in batch]


def forward_loss(model, batcher: Batcher | None, batch: list[dict], amp: bool, device=None, prompt_weight: float = 0.0):
    """Mean cross-entropy over answer tokens; also the per-example 'all answer tokens argmax-correct' flags
    (teacher-forced exact match = greedy exact match). Without a batcher the screenshot is left out: the prompt's
    text around <image> with nothing in its place (the text-only steps of --text-warmup / --text-every, about a fifth
    of a full step's positions). prompt_weight > 0 (--prompt-loss) adds that times the next-token loss on the
    prompt's text after the image (the task, the mark list with its numbers 0, 1, 2..., the previous actions):
    predicting the list's numbers and names gives the look-ups that the copy of a mark needs targets of their own
    (docs/web-model.md, session 9: a toy copy was learned with it and never with the answer's loss alone)."""
    import torch
    import torch.nn.functional as F

    dev = batcher.store.device if batcher else device
    with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=amp):
        if batcher:
            pv, grid, n, idx = batcher.pixels(batch)
            img = model.image_embeds(pv, grid, n)[torch.tensor(idx, device=dev)]
        else:
            img = torch.zeros(len(batch), 0, model.llama.model.embed_tokens.embedding_dim, device=dev)
        x, mask, pos, spans, _ = merge(model, batch, img, with_answer=True)
        h = model.llama.model(inputs_embeds=x, attention_mask=mask, position_ids=pos, use_cache=False).last_hidden_state
        rows, targets = [], []
        for i, (start, n_ans) in enumerate(spans):
            rows.append(h[i, start - 1:start - 1 + n_ans])
            targets += batch[i]["answer"]
        logits = model.llama.lm_head(torch.cat(rows, 0)).float()
        if prompt_weight > 0:
            p_rows, p_targets = [], []
            for i, (start, _) in enumerate(spans):
                post = batch[i]["post"]  # the prompt's text after the image; its last position predicts the answer
                p_rows.append(h[i, start - len(post):start - 1])
                p_targets += post[1:]
            p_logits = model.llama.lm_head(torch.cat(p_rows, 0)).float()
    tgt = torch.tensor(targets, device=dev)
    loss = F.cross_entropy(logits, tgt)
    if prompt_weight > 0:
        loss = loss + prompt_weight * F.cross_entropy(p_logits, torch.tensor(p_targets, device=dev))
    ok = (logits.argmax(-1) == tgt)
    exact, k = [], 0
    for _, n_ans in spans:
        exact.append(bool(ok[k:k + n_ans].all()))
        k += n_ans
    return loss, exact


def greedy(model, batcher: Batcher, batch: list[dict], tokens: Tokens, max_new: int) -> list[str]:
    """Greedy answers, recomputing the whole sequence per step (short answers; avoids cache API differences)."""
    import torch

    dev = batcher.store.device
    out = [[] for _ in batch]
    done = [False] * len(batch)
    with torch.no_grad(), torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
        pv, grid, n, idx = batcher.pixels(batch)
        img = model.image_embeds(pv, grid, n)[torch.tensor(idx, device=dev)]
        for _ in range(max_new):
            x, mask, pos, _, lengths = merge(model, batch, img, with_answer=False, extra=out)
            h = model.llama.model(inputs_embeds=x, attention_mask=mask, position_ids=pos, use_cache=False).last_hidden_state
            last = h[torch.arange(len(batch), device=dev), torch.tensor(lengths, device=dev) - 1]
            nxt = model.llama.lm_head(last).float().argmax(-1).tolist()
            for i, t in enumerate(nxt):
                if not done[i]:
                    out[i].append(t)
                    done[i] = t == EOT
            if all(done):
                break
    return [tokens.decode([t for t in ids if t != EOT]) for ids in out]


# ---------------------------------------------------------------------------------------------------------------
# scoring (a Python reading of the web policy's answers; the C# readers are the reference)
# ---------------------------------------------------------------------------------------------------------------

def read_answer(style: str, text: str) -> dict | None:
    if style == "ui_click":
        m = re.search(r"Mark:\s*(\d+)", text)
        c = re.search(r"\(\s*([-\d.]+)\s*,\s*([-\d.]+)\s*\)", text)
        if not m and not c:
            return None
        return {"action": "CLICK", "mark": int(m.group(1)) if m else None,
                "point": (float(c.group(1)), float(c.group(2))) if c else None}
    m = re.search(r"\{.*\}", text, re.S)
    if not m:
        return None
    try:
        obj = json.loads(m.group(0))
    except json.JSONDecodeError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("ACTION"), str):
        return None
    mark = obj.get("MARK")
    return {"action": obj["ACTION"].upper(), "mark": mark if isinstance(mark, int) else None,
            "value": obj.get("VALUE") if isinstance(obj.get("VALUE"), str) else None}


def score(example: dict, text: str) -> dict:
    got = read_answer(example["style"], text)
    want_mark = example.get("target_mark")
    r = {"parsed": got is not None, "mark_ok": False, "correct": False}
    if got is None:
        return r
    r["mark_ok"] = want_mark is not None and got.get("mark") == want_mark
    if example["style"] == "ui_click":
        r["correct"] = r["mark_ok"]
        return r
    ok = got["action"] == example["action"]
    if want_mark is not None:
        ok = ok and r["mark_ok"]
    if example["action"] == "SCROLL":
        ok = ok and (got.get("value") or "").upper() == str(example.get("value") or "").upper()
    elif example["action"] in ("TYPE", "SELECT"):
        ok = ok and got.get("value") == example.get("value")
    r["correct"] = ok
    return r


MARK_HEAD = re.compile(r"\[(\d+)\] ([^\s:|]+)(?:(?: \((?:nearby text|from attributes)\))?: ([^|]*))?")
OLD_MARK_LINE = re.compile(r'\[(\d+)\] (\S+) ~?"((?:[^"\\]|\\.)*)"')


def mark_names(mark_list: str) -> dict[int, tuple[str, str]]:
    """Mark id -> (name, context) of the named or placed marks of a mark list (WebMark.Describe:
    `[7] button: Add to basket | in: Amber lamp`, fields after the name separated by ' | ', no text of the page
    holds '|'); the context is '' when the line has none. The quoted format before it (`[7] button "Add to basket"`,
    no context) reads as well."""
    out = {}
    for line in mark_list.split("\n"):
        old = OLD_MARK_LINE.match(line)
        if old:
            out[int(old.group(1))] = (old.group(3), "")
            continue
        head = MARK_HEAD.match(line)
        if not head:
            continue
        name = (head.group(3) or "").rstrip(" ")
        fields = [f.strip(" ") for f in line[head.end():].split("|")[1:]]
        context = next((f[len("in: "):] for f in fields if f.startswith("in: ")), "")
        if name or context:
            out[int(head.group(1))] = (name, context)
    return out


def target_group(example: dict) -> str:
    """Whether the prompt's text alone can name the target: 'list, unique name' (its name, with the context the mark
    list gives shared names, `| in: Amber lamp`, occurs once in the mark list), 'list, shared name' (e.g. two
    `button: Delete` side by side that no text tells apart: only the page does), 'no list' (ui_click: the mark must be
    read from the screenshot) or 'no target' (DONE, SCROLL)."""
    mark = example.get("target_mark")
    if mark is None:
        return "no target"
    m = re.search(r"\nCandidates:\n(.*?)\nWhat is the next action", example["prompt"], re.S)
    if not m:
        return "no list"
    names = mark_names(m.group(1))
    if mark not in names:
        return "list, unique name"  # an unnamed target is told by its role and states, which are unique here
    return "list, unique name" if list(names.values()).count(names[mark]) == 1 else "list, shared name"


CANDIDATES = re.compile(r"(\nCandidates:\n)(.*?)(\nWhat is the next action)", re.S)
MARK_LINE_NUMBER = re.compile(r"^\[(\d+)\] ")
ANSWER_MARK = re.compile(r'("(?:MARK|TO)": )(\d+)')


def renumber_marks(prompt: str, answer: str, rng: random.Random, keep: int | None = None) -> tuple[str, str]:
    """The same step with the mark list's lines in a random order, numbered 0..N-1 again, and the answer's (and the
    previous actions') mark numbers mapped to match. A text-only step (no screenshot, whose drawn labels would no
    longer agree) then cannot be answered from memory of the page, only by reading the list. Without it, the text
    probes on the H200 stayed at 39-45 % on held-out pages after 48-85 epochs of 2,400 pages, one of them with its
    training answers at loss 0.005 (docs/web-model.md, session 8). With keep, only that many lines stay: the answer's
    marks, the previous actions' marks and others drawn at random, in a random order (a curriculum of short lists).
    Prompts without a parsable list come back unchanged."""
    m = CANDIDATES.search(prompt)
    if not m:
        return prompt, answer
    lines = m.group(2).split("\n")
    numbers = [MARK_LINE_NUMBER.match(line) for line in lines]
    if not all(numbers):
        return prompt, answer
    order = list(range(len(lines)))
    rng.shuffle(order)
    if keep is not None and keep < len(lines):
        wanted = {int(k.group(2)) for k in ANSWER_MARK.finditer(answer)}
        done = prompt[:m.start()].find("\nPrevious actions:\n")
        if done >= 0:  # the lines the previous actions name stay too: their numbers must keep meaning a line
            wanted |= {int(k) for k in re.findall(r"\[(\d+)\]", prompt[done:m.start()])}
        first = [i for i in order if int(numbers[i].group(1)) in wanted]
        order = first + [i for i in order if i not in first][:max(keep - len(first), 0)]
        rng.shuffle(order)  # not in the first draw's order: the others were its first lines, the answer's line a later one
    new_of = {int(numbers[i].group(1)): j for j, i in enumerate(order)}
    body = "\n".join(f"[{j}] {lines[i][numbers[i].end():]}" for j, i in enumerate(order))

    def mapped(k: re.Match) -> str:
        return f"[{new_of.get(int(k.group(1)), k.group(1))}]"

    head = prompt[:m.start()]
    at = head.find("\nPrevious actions:\n")
    if at >= 0:  # `CLICK [1] -> click [1] link: Deals`: the earlier steps' marks, renumbered alike
        head = head[:at] + re.sub(r"\[(\d+)\]", mapped, head[at:])
    answer = ANSWER_MARK.sub(lambda k: k.group(1) + str(new_of.get(int(k.group(2)), k.group(2))), answer)
    return head + m.group(1) + body + m.group(3) + prompt[m.end():], answer


TASK_LINE = re.compile(r"(\nTask: )(.*?)(\nPrevious actions:\n)", re.S)


class NamePool:
    """The names and `| in:` contexts of the training data's mark lines, by role (for swap_target_name)."""

    def __init__(self, examples: list[dict]):
        names: dict[str, set[str]] = {}
        contexts: set[str] = set()
        for e in examples:
            m = CANDIDATES.search(e.get("prompt", ""))
            if not m:
                continue
            for line in m.group(2).split("\n"):
                head = MARK_HEAD.match(line)
                if not head:
                    continue
                name, context = mark_names(line).get(int(head.group(1)), ("", ""))
                if name:
                    names.setdefault(head.group(2), set()).add(name)
                if context:
                    contexts.add(context)
        self.names = {role: sorted(v) for role, v in names.items()}
        self.contexts = sorted(contexts)


def swap_target_name(prompt: str, target: int | None, pool: NamePool, rng: random.Random) -> str:
    """The same step with the target's name (or, when another mark shares that name, its `| in:` context) replaced,
    in the target's mark line and in the task, by another name of the same role from the training data that the
    prompt does not hold yet: the task and the list still agree, but which line the task means can no longer be
    remembered, only read (--text-swap-names; text_probe.py --swap-names). The task may write the name capitalised as in the list or in lower case
    (`add the soft basket`); a step whose task holds neither, or whose target was acted on already (named in the
    previous actions), comes back unchanged."""
    m, t = CANDIDATES.search(prompt), TASK_LINE.search(prompt)
    if target is None or not m or not t:
        return prompt
    lines = m.group(2).split("\n")
    at = next((i for i, line in enumerate(lines) if line.startswith(f"[{target}] ")), None)
    names = mark_names(m.group(2))
    if at is None or target not in names:
        return prompt
    head = MARK_HEAD.match(lines[at])
    name, context = names[target]
    shared = [n for n, _ in names.values()].count(name) > 1
    old, choices = (context, pool.contexts) if shared and context else (name, pool.names.get(head.group(2), []))
    if not old or old not in lines[at]:
        return prompt
    task = t.group(2)
    word = re.compile(r"(?<!\w)(" + re.escape(old) + "|" + re.escape(old.lower()) + r")(?!\w)")
    if not word.search(task) or old.lower() in prompt[t.end():m.start()].lower():
        return prompt
    for _ in range(8):
        new = rng.choice(choices) if choices else None
        if new and new.lower() not in prompt.lower():
            break
    else:
        return prompt
    task = word.sub(lambda k: new if k.group(1) == old else new.lower(), task)
    if shared and context:
        lines[at] = lines[at].replace(f"| in: {old}", f"| in: {new}", 1)
    else:
        lines[at] = lines[at][:head.start(3)] + lines[at][head.start(3):].replace(old, new, 1)
    body = "\n".join(lines)
    return prompt[:t.start(2)] + task + prompt[t.end(2):m.start(2)] + body + prompt[m.end(2):]


def list_length(first: int, grow: int, step: int) -> int | None:
    """The copy curriculum's mark-list length at a step: `first` lines, one more every `grow` steps (0: never), whole
    lists (None) from 60 lines on or without a curriculum (first 0)."""
    if not first:
        return None
    keep = first + (step // grow if grow else 0)
    return keep if keep < 60 else None


def text_lines(args, text_step: int) -> int | None:
    """--text-lines K --text-lines-grow S: the mark-list length of the text_step-th text-only step (None: whole)."""
    return list_length(args.text_lines, args.text_lines_grow, text_step)


def copy_step(example: dict, rng: random.Random, lines: int | None, pool: NamePool | None) -> tuple[str, str]:
    """One synthetic text step of the copy curriculum (--text-lines, --text-swap-names): a real action_json step
    with its target's name swapped for another (swap_target_name, when pool is given) and its mark list shuffled,
    renumbered 0..N-1 and cut to `lines` lines, the answer's lines always kept (renumber_marks). Drawn anew every
    time, so neither the answer's number nor the task-to-line pairing can be remembered: the mark must be copied
    from the list."""
    prompt = example["prompt"]
    if pool is not None:
        prompt = swap_target_name(prompt, example.get("target_mark"), pool, rng)
    return renumber_marks(prompt, example["answer"], rng, lines)


def renumbered(items: list[dict], tokens: Tokens, rng: random.Random, keep: int | None = None,
               pool: NamePool | None = None) -> list[dict]:
    """Tokenized items of renumber_marks's variants of the items' examples (for text-only steps); with keep or a
    name pool, copy_step's (--text-lines, --text-swap-names)."""
    pairs = [copy_step(it["ex"], rng, keep, pool) for it in items]
    prompts = tokens.prompts([p for p, _ in pairs])
    answers = tokens.answers([a for _, a in pairs])
    out = []
    for it, p, a in zip(items, prompts, answers):
        at = p.index(IMAGE)
        out.append(dict(it, pre=p[:at], post=p[at + 1:], answer=a))
    return out


def evaluate(model, batcher, items: list[dict], tokens: Tokens, batch_size: int, max_new: int, amp: bool) -> dict:
    import torch

    model.eval()
    rows, loss_sum, tf_exact = [], 0.0, []
    with torch.no_grad():
        for s in range(0, len(items), batch_size):
            batch = items[s:s + batch_size]
            loss, exact = forward_loss(model, batcher, batch, amp)
            loss_sum += float(loss) * len(batch)
            tf_exact += exact
            for it, text in zip(batch, greedy(model, batcher, batch, tokens, max_new)):
                e = it["ex"]
                rows.append(dict(score(e, text), id=e["id"], style=e["style"] + ("_episode" if "step" in e else ""),
                                 action=e["action"], kind=e["kind"], target=target_group(e), answer=e["answer"],
                                 got=text))
    model.train()

    def rate(sel):
        sel = list(sel)
        return {"n": len(sel), "correct": round(sum(r["correct"] for r in sel) / max(len(sel), 1), 4),
                "mark_ok": round(sum(r["mark_ok"] for r in sel) / max(len(sel), 1), 4),
                "parsed": round(sum(r["parsed"] for r in sel) / max(len(sel), 1), 4)}

    out = {"loss": loss_sum / max(len(items), 1), "teacher_forced_exact": sum(tf_exact) / max(len(tf_exact), 1),
           "greedy": rate(rows)}
    for field in ("style", "action", "kind", "target"):
        out[f"greedy_by_{field}"] = {k: rate(r for r in rows if r[field] == k) for k in sorted({r[field] for r in rows})}
    out["samples"] = [r for r in rows if r["correct"]][:8] + [r for r in rows if not r["correct"]][:16]
    return out


# ---------------------------------------------------------------------------------------------------------------
# checkpoint, export, report
# ---------------------------------------------------------------------------------------------------------------

def save_state(path: str, state: dict) -> None:
    import torch

    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def write_checkpoint(folder: str, model, args, tokenizer_dir: str) -> None:
    """The Hugging Face Magma layout make_tiny_model.write_checkpoint writes (checkpoint_files), at this model's widths."""
    import torch

    from checkpoint_files import LANGUAGE_SHARD, magma_shards, write_shards, write_side_files

    os.makedirs(folder, exist_ok=True)
    shards = magma_shards(model.llama, model.trunk, model.proj, model.row_sep)
    language = shards[LANGUAGE_SHARD]
    text = dict(model.text)
    merged = bool((model.input_map != torch.arange(len(model.input_map), device=model.input_map.device)).any())
    if merged:
        # --merge-word-variants: fold the input map into the embedding table; the head keeps the trained table
        # (untied, as Magma-8B's own checkpoint; the package has separate embedding and head tables either way)
        table = model.llama.model.embed_tokens.weight
        language["language_model.model.embed_tokens.weight"] = table[model.input_map]
        language["language_model.lm_head.weight"] = table
        text["tie_word_embeddings"] = False
    write_shards(folder, {file: {k: v.float() for k, v in tensors.items()} for file, tensors in shards.items()})
    config = {k: v for k, v in text.items() if k not in ("architectures", "model_type")}
    config.update({
        "_name_or_path": args.model_id, "architectures": ["MagmaForCausalLM"],
        "auto_map": {"AutoConfig": "configuration_magma.MagmaConfig",
                     "AutoModelForCausalLM": "modeling_magma.MagmaForCausalLM"},
        "model_type": "magma", "image_token_index": IMAGE, "img_size": 512, "mm_use_image_start_end": True,
        "tokenizer_vocab_size": 128000, "text_config": text,
        "vision_config": {
            "vision_backbone": "convnext_web_tiny", "vision_feature_layer": "clip_vis_dense",
            "img_anyres_strategy": "crop", "img_size": 512, "max_num_crops": 4,
            "mm_hidden_size": args.vision_dims[-1], "hidden_size": args.hidden, "mm_projector_type": "mlp2x_gelu",
            "mm_use_im_start_end": False, "mm_use_row_seperator": True, "vision_depths": args.vision_depths,
            "vision_dims": args.vision_dims,
        },
    })
    write_side_files(folder, config, tokenizer_dir)


# Written into the package's manifest (issue 20 item 5): every app that loads the model can say what it is.
PACKAGE_DESCRIPTION = ("Tiny Magma-shaped model trained by tools/train-web on the project's synthetic web pages: NOT Magma-8B. "
                       "It picks marks on simple synthetic pages in the web agent's prompt format; it cannot chat, act "
                       "as a robot or handle real sites. Its measured accuracy: docs/web-model.md.")


def export_package(work: str, args) -> dict:
    import export_magma
    import quantize_package

    ckpt = os.path.join(work, "checkpoint")
    flt = os.path.join(work, "package-float32")
    pkg = os.path.join(work, "package")
    for d in (flt, pkg):
        if os.path.exists(d):
            shutil.rmtree(d)
    result = export_magma.export(ckpt, flt, "float32", True, not args.skip_export_check, args.model_id,
                                 check_vision_crops=1, description=PACKAGE_DESCRIPTION)
    if args.package_dtype == "int4":
        quantize_package.quantize_package(flt, pkg, 32, True, args.lm_head, "int8", None, True, True, None)
    else:
        shutil.copytree(flt, pkg)
    sizes = {n: os.path.getsize(os.path.join(pkg, n)) for n in sorted(os.listdir(pkg))}
    weights = sum(v for n, v in sizes.items() if not n.startswith("tokenizer"))
    check = result.get("check") or {}
    return {"files": sizes, "bytes_without_tokenizer": weights,
            "export_check_max_rel": max((v["max_rel"] for v in check.values()), default=None),
            "export_seconds": result["seconds"]}


def draw_curve(path: str, history: list[dict], evals: list[dict]) -> None:
    """Loss curve with Pillow (matplotlib is not needed)."""
    from PIL import Image, ImageDraw

    w, h, m = 900, 500, 60
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    pts = [(r["step"], r["loss"]) for r in history if r["loss"] > 0]
    evp = [(r["step"], r["loss"]) for r in evals if r.get("loss", 0) > 0]
    if not pts:
        img.save(path)
        return
    xmax = max(p[0] for p in pts + evp) or 1
    lo = min(p[1] for p in pts + evp)
    hi = max(p[1] for p in pts + evp)
    lo, hi = math.log10(max(lo, 1e-4)), math.log10(max(hi, 1e-4))
    if hi - lo < 1e-6:
        hi = lo + 1

    def xy(s, v):
        return (m + (w - 2 * m) * s / xmax, h - m - (h - 2 * m) * (math.log10(max(v, 1e-4)) - lo) / (hi - lo))

    d.rectangle([m, m, w - m, h - m], outline="black")
    for k in range(int(math.floor(lo)), int(math.ceil(hi)) + 1):
        for f in (1, 2, 5):
            v = f * 10 ** k
            if lo <= math.log10(v) <= hi:
                y = xy(0, v)[1]
                d.line([m, y, w - m, y], fill=(225, 225, 225))
                d.text((5, y - 6), f"{v:g}", fill="black")
    for k in range(6):
        s = xmax * k / 5
        d.text((xy(s, 10 ** lo)[0] - 10, h - m + 8), f"{int(s)}", fill="black")
    d.line([xy(*p) for p in pts], fill=(31, 119, 180), width=2)
    if len(evp) > 1:
        d.line([xy(*p) for p in evp], fill=(214, 39, 40), width=2)
    for p in evp:
        x, y = xy(*p)
        d.ellipse([x - 3, y - 3, x + 3, y + 3], fill=(214, 39, 40))
    d.text((m, 20), "answer-token cross-entropy (log scale) vs step: blue = training (EMA), red = held-out", fill="black")
    img.save(path)


def cpu_macs(args, text_tokens: int = 600, image_size=(1280, 800)) -> dict:
    """Multiply-accumulates of one agent step on the CPU: vision over the crops, the prefill, 20 decode steps."""
    rows, cols = select_grid(*image_size)
    crops, side = rows * cols, 512
    v, res, c_in = 0, side // 4, 3
    v += res * res * 16 * c_in * args.vision_dims[0]
    for s, (depth, dim) in enumerate(zip(args.vision_depths, args.vision_dims)):
        if s:
            res //= 2
            v += res * res * 4 * args.vision_dims[s - 1] * dim
        v += depth * res * res * (49 * dim + 8 * dim * dim)
    v += res * res * (args.vision_dims[-1] * args.hidden + args.hidden * args.hidden)
    g = side // 32
    t = text_tokens + rows * g * (cols * g + 1)
    hd = args.hidden // args.heads
    per_token = 2 * args.hidden * args.hidden + 2 * args.hidden * args.kv_heads * hd + 3 * args.hidden * args.intermediate
    prefill = args.layers * (t * per_token + t * t * args.hidden)  # causal QK and AV: 2 * t^2/2 * hidden
    decode = 20 * (args.layers * (per_token + 2 * t * args.hidden) + 128263 * args.hidden)
    return {"vision": v * crops, "prefill": prefill, "decode_20": decode, "sequence": t,
            "total": v * crops + prefill + decode}


# ---------------------------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------------------------

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="+", required=True, help="folders holding web-datagen folders and/or webpack parts")
    ap.add_argument("--work", required=True, help="state, report and package go here")
    ap.add_argument("--tokenizer", default=os.path.join(REPO, "tests", "assets", "tokenizer"))
    ap.add_argument("--minutes", type=float, default=25.0, help="total training time over all runs")
    ap.add_argument("--max-steps", type=int, default=None, help="step cap (and the schedule's length when given)")
    ap.add_argument("--stop-after", type=float, default=None, help="minutes of wall time for this run, then save and exit 3")
    ap.add_argument("--wall-minutes", type=float, default=None,
                    help="end training early so that evaluation and export finish within this many minutes of wall "
                         "time from the start (the state stays resumable)")
    ap.add_argument("--reserve-minutes", type=float, default=2.0,
                    help="with --wall-minutes: the time kept for evaluation and export")
    ap.add_argument("--save-minutes", type=float, default=1.0)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--text-warmup", type=float, default=0.0,
                    help="minutes of the budget spent first on text-only steps (action_json prompts without the "
                         "screenshot, a fifth of the positions); alone it did not carry over to prompts with the "
                         "screenshot (docs/web-model.md, session 8)")
    ap.add_argument("--text-batch-size", type=int, default=128, help="batch size of the text-only steps")
    ap.add_argument("--text-every", type=int, default=0,
                    help="after --text-warmup, every Nth step is a text-only step as well (0: none)")
    ap.add_argument("--text-renumber", action=argparse.BooleanOptionalAction, default=True,
                    help="text-only steps see the mark list shuffled and renumbered (renumber_marks)")
    ap.add_argument("--text-lines", type=int, default=0,
                    help="copy curriculum: text-only steps' mark lists cut to this many lines (the answer's and the "
                         "previous actions' lines kept; copy_step), 0: whole lists")
    ap.add_argument("--text-lines-grow", type=int, default=0,
                    help="with --text-lines: one more line every this many text-only steps (0: stay short)")
    ap.add_argument("--text-swap-names", action="store_true",
                    help="text-only steps get their target's name swapped for another (swap_target_name)")
    ap.add_argument("--prompt-loss", type=float, default=0.0,
                    help="weight of the next-token loss on the prompt's text after the image, every step (text-only "
                         "and with the screenshot): the session-9 toy copy (copy_sanity.py) was learned with it, never "
                         "without; on the real prompts not yet shown (docs/web-model.md)")
    ap.add_argument("--proj-zero-init", action="store_true",
                    help="the projector's last layer starts at zero, so the image embeddings start as the row "
                         "separator and zeros instead of an untrained tower's noise (NOT yet validated on a GPU)")
    ap.add_argument("--styles", default="action_json,ui_click", help="example styles to train and evaluate on")
    ap.add_argument("--merge-word-variants", action=argparse.BooleanOptionalAction, default=True,
                    help="read a word's no-space token as its space-prefixed one (folded into the exported embedding "
                         "table; see word_variant_map)")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--intermediate", type=int, default=512)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--vision-dims", type=lambda s: [int(v) for v in s.split(",")], default=[16, 32, 64, 128])
    ap.add_argument("--vision-depths", type=lambda s: [int(v) for v in s.split(",")], default=[1, 1, 3, 1])
    ap.add_argument("--eval-examples", type=int, default=256, help="held-out examples for the final greedy evaluation")
    ap.add_argument("--eval-every", type=float, default=2.0, help="minutes between held-out loss checks")
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--package-dtype", choices=["int4", "float32"], default="int4")
    ap.add_argument("--lm-head", choices=["int8", "int4"], default="int8")
    ap.add_argument("--model-id", default="magma-agents/tiny-magma-web")
    ap.add_argument("--skip-export-check", action="store_true")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--max-pages", type=int, default=None, help="use only the first N pages of each split (tests)")
    ap.add_argument("--dry-run", action="store_true", help="load data, tokenize, one forward/backward, no training")
    ap.add_argument("--local-fallback", action="store_true",
                    help="tests only: stand-in modules where timm or transformers are missing, the plain-Python "
                         "tokenizer (pybpe) where tokenizers is")
    ap.add_argument("--device", default=None)
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    t_start = time.time()
    os.makedirs(args.work, exist_ok=True)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    amp = device.type == "cuda"
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    if args.hidden % args.heads or args.heads % args.kv_heads:
        raise SystemExit(f"--hidden {args.hidden} / --heads {args.heads} / --kv-heads {args.kv_heads} do not divide")
    if len(args.vision_dims) != 4 or len(args.vision_depths) != 4:
        raise SystemExit("--vision-dims and --vision-depths take 4 comma-separated values (ConvNeXt stages)")
    styles = set(args.styles.split(","))

    sets = load_data(args.data, args.max_pages)
    for ds in sets.values():
        ds.examples = [e for e in ds.examples if e["style"] in styles]
    if not sets["train"].examples:
        raise SystemExit(f"--data {args.data}: no training examples of styles {sorted(styles)}")
    tokens = Tokens(args.tokenizer, args.local_fallback)
    vocab = max(t["id"] for t in json.load(open(os.path.join(args.tokenizer, "tokenizer.json")))["added_tokens"]) + 1
    t0 = time.time()
    train = tokenize(sets["train"], tokens)
    held_ds = sets["heldout"] if sets["heldout"].examples else sets["val"]
    held = tokenize(held_ds, tokens) if held_ds.examples else []
    log(f"tokenized {len(train)} training and {len(held)} held-out examples in {time.time() - t0:.1f}s ({tokens.note})")
    if not held:
        log("WARNING: no held-out data (a part or folder named heldout*): the report has no held-out accuracy")
    lengths = [len(i["pre"]) + len(i["post"]) + len(i["answer"]) for i in train]

    input_map = None
    if args.merge_word_variants:
        input_map = word_variant_map(os.path.join(args.tokenizer, "tokenizer.json"), vocab)
        log(f"--merge-word-variants: {sum(i != j for i, j in enumerate(input_map))} token ids read as their "
            "space-prefixed form")
    model, model_note = build_model(args, vocab, args.local_fallback, input_map)
    model.to(device).train()
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {model_note}; {n_params / 1e6:.2f} M parameters (embedding {vocab * args.hidden / 1e6:.2f} M)")
    train_b = Batcher(train, sets["train"].keys, sets["train"].images, device)
    held_b = Batcher(held, held_ds.keys, held_ds.images, device) if held else None
    del sets["train"].images

    rng = random.Random(args.seed)
    held_eval = held[:]
    rng.shuffle(held_eval)
    held_loss_items = held_eval[:min(len(held_eval), 4 * args.batch_size)]
    held_eval = held_eval[:args.eval_examples]

    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embed_tokens" not in n]
    other = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embed_tokens" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": other, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    state_path = os.path.join(args.work, "state.pt")
    st = {"step": 0, "train_seconds": 0.0, "history": [], "evals": [], "examples_seen": 0, "done": False}
    if os.path.exists(state_path):
        saved = torch.load(state_path, map_location=device, weights_only=False)
        if saved.get("config") != vars_config(args):
            raise SystemExit(f"{state_path} was written with other settings ({saved.get('config')}); "
                             "use another --work or delete it")
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["opt"])
        st = saved["st"]
        rng.setstate(saved["rng"])
        log(f"resumed from {state_path}: step {st['step']}, {st['train_seconds'] / 60:.1f} of {args.minutes} minutes")

    def snapshot():
        save_state(state_path, {"model": model.state_dict(), "opt": opt.state_dict(), "st": st,
                                "rng": rng.getstate(), "config": vars_config(args)})

    if args.dry_run:
        batch = train[:2]
        loss, _ = forward_loss(model, train_b, batch, amp)
        loss.backward()
        pv, grid = preprocess(train_b.store[:1])
        log(f"dry run: pixel_values {list(pv.shape)} grid {grid}, prompt lengths {min(lengths)}..{max(lengths)} tokens "
            f"+ {model.image_embeds(pv, grid, 1).shape[1]} image embeddings, loss {float(loss):.3f}")
        text = greedy(model, train_b, batch[:1], tokens, 4)
        log(f"dry run: greedy 4 tokens: {text!r}")
        macs = cpu_macs(args)
        log(f"CPU step estimate: {macs['total'] / 1e9:.2f} GMAC (vision {macs['vision'] / 1e9:.2f}, prefill "
            f"{macs['prefill'] / 1e9:.2f} over {macs['sequence']} positions, 20 decode steps {macs['decode_20'] / 1e9:.2f})")
        return 0

    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))
    budget = args.minutes * 60
    last_save = last_eval = time.time()
    ema = None
    order: list[int] = []
    # only prompts whose answer can be read off the text: the mark list is in the action_json prompts
    text_only = args.text_warmup > 0 or args.text_every > 0
    text_items = [it for it in train if it["ex"]["style"] == "action_json"] if text_only else []
    text_order: list[int] = []
    if text_only:
        log(f"text-only steps (--text-warmup {args.text_warmup} min, --text-every {args.text_every}): "
            f"{len(text_items)} action_json examples without the screenshot, batch {args.text_batch_size}, "
            f"mark lists {'shuffled and renumbered' if args.text_renumber else 'as generated'}")
    # --text-swap-names: the names and contexts the target's may be swapped for (the training data's own)
    name_pool = NamePool([it["ex"] for it in text_items]) if text_only and args.text_swap_names else None
    if text_only and (args.text_lines or name_pool):
        if not args.text_renumber:
            raise SystemExit("--text-lines and --text-swap-names need --text-renumber")
        log(f"copy curriculum on the text-only steps: mark lists of {args.text_lines or 'all'} lines"
            + (f", one more every {args.text_lines_grow} text steps" if args.text_lines and args.text_lines_grow else "")
            + (", the target's name swapped for another" if name_pool else ""))
    ended_by_wall = False
    st["done"] = st["train_seconds"] >= budget or bool(args.max_steps and st["step"] >= args.max_steps)
    while not st["done"]:
        if args.wall_minutes and time.time() - t_start > (args.wall_minutes - args.reserve_minutes) * 60:
            snapshot()
            ended_by_wall = True
            log(f"--wall-minutes {args.wall_minutes}: training ends at step {st['step']} "
                f"({st['train_seconds'] / 60:.1f} of {args.minutes} min; resumable), evaluating and exporting")
            break
        if stop["flag"] or (args.stop_after and time.time() - t_start > args.stop_after * 60):
            snapshot()
            log(f"stopping at step {st['step']} ({st['train_seconds'] / 60:.1f} of {args.minutes} min trained); "
                f"run the same command to resume")
            return EXIT_INTERRUPTED
        t_step = time.time()
        frac = (st["step"] / args.max_steps) if args.max_steps else st["train_seconds"] / budget
        lr = args.lr * min(1.0, (st["step"] + 1) / args.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))
        for g in opt.param_groups:
            g["lr"] = lr
        text_step = st["train_seconds"] < args.text_warmup * 60 or bool(args.text_every and st["step"] % args.text_every == 0)
        if text_step and text_items:
            if len(text_order) < args.text_batch_size:
                text_order = list(range(len(text_items)))
                rng.shuffle(text_order)
            batch = [text_items[text_order.pop()] for _ in range(args.text_batch_size)]
            if args.text_renumber:
                batch = renumbered(batch, tokens, rng, text_lines(args, st.get("text_steps", 0)), name_pool)
            st["text_steps"] = st.get("text_steps", 0) + 1
            loss, exact = forward_loss(model, None, batch, amp, device, args.prompt_loss)
        else:
            if len(order) < args.batch_size:
                order = list(range(len(train)))
                rng.shuffle(order)
            batch = [train[order.pop()] for _ in range(args.batch_size)]
            loss, exact = forward_loss(model, train_b, batch, amp, prompt_weight=args.prompt_loss)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        lv = float(loss)
        if not math.isfinite(lv):
            raise SystemExit(f"step {st['step']}: loss {lv}; lower --lr")
        ema = lv if ema is None else 0.95 * ema + 0.05 * lv
        if device.type == "cuda":
            torch.cuda.synchronize()
        st["step"] += 1
        st["examples_seen"] += len(batch)
        st["train_seconds"] += time.time() - t_step
        if st["step"] % 10 == 0 or st["step"] == 1:
            st["history"].append({"step": st["step"], "loss": ema, "raw": lv, "lr": lr,
                                  "minutes": st["train_seconds"] / 60, "exact": sum(exact) / len(exact)})
        if st["step"] % 50 == 0 or st["step"] == 1:
            log(f"step {st['step']}: loss {lv:.4f} (ema {ema:.4f}), batch exact {sum(exact)}/{len(exact)}, lr {lr:.2e}, "
                f"{st['train_seconds'] / 60:.2f} min, {st['examples_seen'] / max(st['train_seconds'], 1e-9):.0f} ex/s")
        finished = st["train_seconds"] >= budget or bool(args.max_steps and st["step"] >= args.max_steps)
        if held_b and (time.time() - last_eval > args.eval_every * 60 or finished):
            # loss and greedy marks by target group: the early sign that the mark is learned (docs/web-model.md)
            ev = evaluate(model, held_b, held_loss_items, tokens, args.batch_size, args.max_new_tokens, amp)
            marks = {k: v["mark_ok"] for k, v in ev["greedy_by_target"].items()}
            st["evals"].append({"step": st["step"], "loss": ev["loss"], "teacher_forced_exact": ev["teacher_forced_exact"],
                                "mark_ok": ev["greedy"]["mark_ok"], "mark_ok_by_target": marks,
                                "minutes": st["train_seconds"] / 60})
            log(f"held-out at step {st['step']}: loss {ev['loss']:.4f}, teacher-forced exact "
                f"{ev['teacher_forced_exact']:.3f}, greedy mark right {ev['greedy']['mark_ok']:.3f} {marks} "
                f"({len(held_loss_items)} examples)")
            last_eval = time.time()
        st["done"] = bool(finished)
        if st["done"] or time.time() - last_save > args.save_minutes * 60:
            snapshot()
            last_save = time.time()

    log(f"training done: {st['step']} steps, {st['examples_seen']} examples, {st['train_seconds'] / 60:.1f} min")
    report = {"issue": 20, "what": "tiny Magma-shaped model trained on synthetic web pages (NOT Magma-8B)",
              "model_id": args.model_id, "model": model_note, "parameters": n_params, "config": vars_config(args),
              "tokenizer": tokens.note, "device": str(device) + (f" ({torch.cuda.get_device_name()})" if amp else ""),
              "torch": torch.__version__,
              "data": {name: dict(counts(ds.examples), sources=ds.sources) for name, ds in sets.items() if ds.examples},
              "prompt_tokens": {"min": min(lengths), "max": max(lengths), "mean": sum(lengths) / len(lengths)},
              "training": {"steps": st["step"], "examples_seen": st["examples_seen"],
                           "epochs": st["examples_seen"] / len(train), "minutes": st["train_seconds"] / 60,
                           "complete": st["done"], "ended_by_wall_minutes": ended_by_wall,
                           "final_loss_ema": ema if ema is not None else (st["history"][-1]["loss"] if st["history"] else None)},
              "history": st["history"], "held_out_checks": st["evals"], "cpu_step_macs": cpu_macs(args)}
    if held_b:
        t0 = time.time()
        report["held_out"] = evaluate(model, held_b, held_eval, tokens, args.batch_size, args.max_new_tokens, amp)
        report["held_out"]["seconds"] = time.time() - t0
        g = report["held_out"]["greedy"]
        log(f"held-out greedy: {g['correct']:.3f} correct, {g['mark_ok']:.3f} mark, {g['parsed']:.3f} parsed "
            f"({g['n']} examples) {report['held_out']['greedy_by_style']}")
    draw_curve(os.path.join(args.work, "loss.png"), st["history"], st["evals"])
    write_report(args.work, report)
    if not args.no_export:
        write_checkpoint(os.path.join(args.work, "checkpoint"), model, args, args.tokenizer)
        report["package"] = export_package(args.work, args)
        log(f"package: {report['package']['bytes_without_tokenizer'] / 2**20:.1f} MiB without tokenizer.json")
        write_report(args.work, report)
    log(f"all done in {(time.time() - t_start) / 60:.1f} min -> {args.work}")
    return 0


def vars_config(args) -> dict:
    keys = ["hidden", "intermediate", "layers", "heads", "kv_heads", "vision_dims", "vision_depths", "batch_size",
            "lr", "warmup", "weight_decay", "seed", "styles", "merge_word_variants", "text_warmup", "text_batch_size",
            "text_every", "text_renumber"]  # not the budget: a larger one resumes
    later = ["text_lines", "text_lines_grow", "text_swap_names", "proj_zero_init", "prompt_loss"]  # only when set: old states resume
    return {k: getattr(args, k) for k in keys} | {k: getattr(args, k) for k in later if getattr(args, k)}


def write_report(work: str, report: dict) -> None:
    with open(os.path.join(work, "report.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    lines = [f"# Training report: {report['model_id']}", "", report["what"] + ".", ""]
    tr = report["training"]
    lines.append(f"- model: {report['model']}, {report['parameters'] / 1e6:.2f} M parameters; config {report['config']}")
    lines.append(f"- device: {report['device']}, torch {report['torch']}; tokenizer: {report['tokenizer']}")
    lines.append(f"- training: {tr['steps']} steps, {tr['examples_seen']} examples ({tr['epochs']:.2f} epochs), "
                 f"{tr['minutes']:.1f} min, final loss (EMA) {tr['final_loss_ema']}")
    for name, d in report["data"].items():
        lines.append(f"- {name} data: {d['pages']} pages, {d['examples']} examples; by style {d['by_style']}; "
                     f"by action {d['by_action']}; by kind {d['by_kind']}")
    macs = report["cpu_step_macs"]
    lines.append(f"- CPU step estimate (1280x800, ~600 text tokens, 20 new tokens): {macs['total'] / 1e9:.2f} GMAC")
    if "held_out" in report:
        h = report["held_out"]
        lines += ["", "## Held-out synthetic pages (greedy, PyTorch, bf16 autocast)", "",
                  f"loss {h['loss']:.4f}, teacher-forced exact answers {h['teacher_forced_exact']:.3f}", "",
                  "| group | n | correct | mark right | parsed |", "| --- | ---: | ---: | ---: | ---: |",
                  f"| all | {h['greedy']['n']} | {h['greedy']['correct']:.3f} | {h['greedy']['mark_ok']:.3f} | {h['greedy']['parsed']:.3f} |"]
        for field in ("style", "action", "kind", "target"):
            for k, v in h.get(f"greedy_by_{field}", {}).items():
                lines.append(f"| {field} {k} | {v['n']} | {v['correct']:.3f} | {v['mark_ok']:.3f} | {v['parsed']:.3f} |")
        lines += ["", "Samples (first ones, then failures):", ""]
        for r in h["samples"]:
            lines.append(f"- `{r['id']}` {'OK ' if r['correct'] else 'BAD'} want `{r['answer']}` got `{r['got']}`")
    if "package" in report:
        p = report["package"]
        lines += ["", f"Package: {p['bytes_without_tokenizer'] / 2**20:.1f} MiB without tokenizer.json; "
                      f"export self-check max rel error {p['export_check_max_rel']}; files {p['files']}"]
    with open(os.path.join(work, "report.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
