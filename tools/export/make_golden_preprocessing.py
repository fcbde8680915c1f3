#!/usr/bin/env python3
"""Golden vectors for Magma.Inference's pre-processing and tokenizer parity tests.

Runs the reference stack -- Magma's own image processor (image_processing_magma.py from
github.com/microsoft/Magma, passed with --magma-processor; never committed here), PIL for
decoding, and Hugging Face `tokenizers` / `transformers` for text -- on inputs this script
generates itself, and writes compact golden files:

  tests/assets/golden/preprocessing.json   per image: grid, shape, per-crop statistics,
                                           block means and sampled pixels
  tests/assets/golden/images/*             small encoded images (RGBA, grayscale, palette, ...)
  tests/assets/golden/tokenizer.json.gz    >= 1,000 strings with their exact ids, decodes,
                                           and rendered chat prompts with their ids

Synthetic images are defined by an integer formula (synthetic_image below) that the C# tests
reproduce bit for bit, so the large images need not be committed.

Usage (on a machine with torch, torchvision, transformers, pillow, tokenizers):
  python3 tools/export/make_golden_preprocessing.py --magma-processor PATH/image_processing_magma.py \
      --tokenizer-dir tests/assets/tokenizer --out tests/assets/golden
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import random
import sys

import numpy as np
from PIL import Image

# ---------------------------------------------------------------------------------------------
# Synthetic images: must stay identical to tests/Magma.Inference.Tests/Parity/SyntheticImage.cs
# ---------------------------------------------------------------------------------------------


def synthetic_image(width: int, height: int, seed: int) -> np.ndarray:
    """HWC uint8 RGB: a gradient plus hashed noise, computed with 32-bit wrapping integers."""
    y, x = np.mgrid[0:height, 0:width]
    x = x.astype(np.uint64)
    y = y.astype(np.uint64)
    out = np.empty((height, width, 3), dtype=np.uint8)
    mask = np.uint64(0xFFFFFFFF)
    for c in range(3):
        h = ((x * np.uint64(73856093)) ^ (y * np.uint64(19349663))
             ^ np.uint64(((c + 1) * 83492791) & 0xFFFFFFFF) ^ np.uint64((seed * 2654435761) & 0xFFFFFFFF)) & mask
        h = h ^ (h >> np.uint64(15))
        h = (h * np.uint64(0x2C1B3C6D)) & mask
        h = h ^ (h >> np.uint64(12))
        gradient = (x * np.uint64(256)) // np.uint64(width) + (y * np.uint64(256)) // np.uint64(height) + np.uint64(c * 85)
        value = (gradient % np.uint64(256)).astype(np.int64) + ((h >> np.uint64(13)) & np.uint64(63)).astype(np.int64) - 32
        out[:, :, c] = np.clip(value, 0, 255).astype(np.uint8)
    return out


SYNTHETIC_SIZES = [  # (width, height)
    (256, 256), (1280, 720), (640, 480), (720, 1280), (1, 1), (3000, 200), (200, 3000),
    (1920, 1080), (1080, 2400), (224, 224), (800, 800), (513, 511), (37, 1000), (2, 3),
    (1366, 768), (512, 512), (1024, 512), (511, 1025), (100, 60), (2048, 512),
]


def file_images(rng: np.random.Generator):
    """Small encoded images that exercise the decode + RGB-conversion path (name, bytes)."""
    base = synthetic_image(97, 61, 7)
    files = []

    rgba = np.dstack([base, rng.integers(0, 256, size=(61, 97), dtype=np.uint8)])
    buf = io.BytesIO(); Image.fromarray(rgba, "RGBA").save(buf, "PNG"); files.append(("rgba.png", buf.getvalue()))

    gray = synthetic_image(83, 47, 11)[:, :, 0]
    buf = io.BytesIO(); Image.fromarray(gray, "L").save(buf, "PNG"); files.append(("gray.png", buf.getvalue()))

    pal = Image.fromarray(base, "RGB").quantize(colors=37, method=Image.Quantize.MEDIANCUT)
    buf = io.BytesIO(); pal.save(buf, "PNG"); files.append(("palette.png", buf.getvalue()))
    buf = io.BytesIO(); pal.save(buf, "GIF"); files.append(("palette.gif", buf.getvalue()))

    buf = io.BytesIO(); Image.fromarray(base, "RGB").save(buf, "BMP"); files.append(("rgb.bmp", buf.getvalue()))
    buf = io.BytesIO(); Image.fromarray(base, "RGB").save(buf, "WEBP", lossless=True); files.append(("lossless.webp", buf.getvalue()))
    buf = io.BytesIO(); Image.fromarray(base, "RGB").save(buf, "JPEG", quality=90); files.append(("photo.jpg", buf.getvalue()))

    # EXIF orientation 6 (rotate 90 CW to display). PIL's Image.open ignores it, so does the reference.
    exif = Image.Exif(); exif[0x0112] = 6
    buf = io.BytesIO(); Image.fromarray(base, "RGB").save(buf, "JPEG", quality=90, exif=exif.tobytes())
    files.append(("exif-rotated.jpg", buf.getvalue()))
    return files


def load_processor(path: str):
    # The file ends by registering itself with AutoImageProcessor, whose signature changed in
    # transformers 5; the registration is irrelevant here, so that one statement is dropped.
    with open(path, encoding="utf-8") as f:
        source = "\n".join(line for line in f.read().splitlines()
                           if not line.startswith("AutoImageProcessor.register("))
    module = type(sys)("image_processing_magma")
    exec(compile(source, path, "exec"), module.__dict__)
    return module.MagmaImageProcessor(anyres_strategy="crop", base_img_size=512, num_crops=4)


def describe(pixel_values: np.ndarray, grid, rng: np.random.Generator, samples_per_crop: int):
    crops = []
    n, channels, size, _ = pixel_values.shape
    block = 64
    for k in range(n):
        crop = pixel_values[k].astype(np.float64)
        means = crop.reshape(channels, size // block, block, size // block, block).mean(axis=(2, 4))
        c = rng.integers(0, channels, samples_per_crop)
        yy = rng.integers(0, size, samples_per_crop)
        xx = rng.integers(0, size, samples_per_crop)
        # Always include the four corners of every channel: the interpolation edges.
        corners = [(ch, py, px) for ch in range(channels) for py in (0, size - 1) for px in (0, size - 1)]
        samples = [[int(ch), int(py), int(px), float(pixel_values[k, ch, py, px])] for ch, py, px in corners]
        samples += [[int(a), int(b), int(d), float(pixel_values[k, a, b, d])] for a, b, d in zip(c, yy, xx)]
        crops.append({
            "sum": float(crop.sum()),
            "sum_sq": float((crop * crop).sum()),
            "min": float(crop.min()),
            "max": float(crop.max()),
            "block": block,
            "block_means": [float(v) for v in means.reshape(-1)],
            "samples": samples,
        })
    return {"image_sizes": [int(grid[0]), int(grid[1])], "shape": list(pixel_values.shape), "crops": crops}


def preprocessing_goldens(processor, out_dir: str):
    rng = np.random.default_rng(20261127)
    images_dir = os.path.join(out_dir, "images")
    os.makedirs(images_dir, exist_ok=True)
    entries = []
    for seed, (w, h) in enumerate(SYNTHETIC_SIZES):
        array = synthetic_image(w, h, seed)
        result = processor.preprocess([array], return_tensors="pt")
        pv = result["pixel_values"].numpy().astype(np.float32)
        grid = result["image_sizes"][0]
        entry = {"kind": "synthetic", "width": w, "height": h, "seed": seed,
                 "rgb_sha256": hashlib.sha256(array.tobytes()).hexdigest()}
        entry.update(describe(pv, grid, rng, 256))
        entries.append(entry)
        print(f"synthetic {w}x{h}: grid {list(grid)} crops {pv.shape[0]}", flush=True)
    for name, data in file_images(rng):
        with open(os.path.join(images_dir, name), "wb") as f:
            f.write(data)
        # What every official caller does: PIL open + convert("RGB").
        pil = Image.open(io.BytesIO(data))
        mode = pil.mode
        rgb = np.asarray(pil.convert("RGB"))
        result = processor.preprocess([rgb], return_tensors="pt")
        pv = result["pixel_values"].numpy().astype(np.float32)
        grid = result["image_sizes"][0]
        entry = {"kind": "file", "file": f"images/{name}", "pil_mode": mode,
                 "width": int(rgb.shape[1]), "height": int(rgb.shape[0]),
                 "rgb_sha256": hashlib.sha256(rgb.tobytes()).hexdigest()}
        entry.update(describe(pv, grid, rng, 256))
        entries.append(entry)
        print(f"file {name} ({mode}) {rgb.shape[1]}x{rgb.shape[0]}: grid {list(grid)}", flush=True)
    meta = {
        "generator": "tools/export/make_golden_preprocessing.py",
        "reference": "microsoft/Magma magma/image_processing_magma.py (MagmaImageProcessor, crop, base 512, 4 crops)",
        "image_mean": list(processor.image_mean), "image_std": list(processor.image_std),
        "images": entries,
    }
    with open(os.path.join(out_dir, "preprocessing.json"), "w") as f:
        json.dump(meta, f, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# Tokenizer corpus
# ---------------------------------------------------------------------------------------------

ENGLISH = [
    "Hello world", "The quick brown fox jumps over the lazy dog.", "What is 1+1?",
    "What action should the robot take to put the bowl on the plate?",
    "In this view I need to click a button to \"Sign in\"? Provide the coordinates and the mark index of the containing bounding box if applicable.",
    "Coordinate: (0.04, 0.12). Mark: 12", "Mark 3 at [12,200], Mark 7 at [45,67] should be moved",
    "I'm sure you've heard they'll say it's what we'd do.", "DON'T SHOUT, It'S fine", "e-mail: someone@example.com",
    "https://microsoft.github.io/Magma/static/images/logo.png", "The letter on the robot is \"M\".",
    "Once upon a time, in a land far, far away, there lived a robot named Magma.",
]
UNICODE = [
    "café naïve façade", "Ünïcödé àccents", "日本語のテキスト", "中文文本测试", "한국어 텍스트", "Привет, мир!",
    "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "ελληνικά", "ไทย", "🙂", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷🇯🇵",
    "emoji 🤖 robot 🦾 arm", "math: ∑ ∫ √ ∞ ≠ ≤", "zero​width", "combining é vs é", "\u00a0nbsp\u00a0",
    "\u3000ideographic space", "tab\tand\u000bvertical", "\u2028line separator\u2029",
]
CODE = [
    "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; i++) { sum += a[i]; }", "if (a != b && c >= d) {}",
    "SELECT * FROM users WHERE id = 42;", "<div class=\"x\">text</div>", "{\"TAP\": {\"MARK\": 11}}",
    "```python\nprint('hi')\n```", "x=[[1,2],[3,4]]", "a->b; c::d; e=>f", "#include <stdio.h>\n",
]
NUMBERS = ["0", "7", "42", "123", "1234", "12345", "3.14159", "-0.5", "1,000,000", "2026-11-27", "10^9", "0x7FFF",
           "127999", "00001", "1e-5", "99999999999999999999"]
WHITESPACE = [" ", "  ", "   leading", "trailing   ", "\n", "\n\n", "\n\n\n", "a\n\nb", "\r\n", "a\r\nb", "\t\t",
              " \n ", "word  word", "   ", "\n \n", "x \n\n y", "  \t  \n"]
SPECIAL = ["<|begin_of_text|>", "<|eot_id|>", "<image>", "<image_start><image><image_end>\nWhat is this?", "<pad>",
           "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>", "<image", "image>", "<|eot_id", "< image >",
           "<|reserved_special_token_5|>", "text<image>text", "<image><image>", "<action>", "<trace_start>[1,2]<trace_end>"]


def random_string(rnd: random.Random) -> str:
    pools = [ENGLISH, UNICODE, CODE, NUMBERS, WHITESPACE, SPECIAL]
    parts = []
    for _ in range(rnd.randint(1, 5)):
        choice = rnd.random()
        if choice < 0.6:
            pool = rnd.choice(pools)
            parts.append(rnd.choice(pool))
        elif choice < 0.8:
            # random code points from assorted blocks (no surrogates)
            blocks = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x4E00, 0x4FFF),
                      (0x3040, 0x30FF), (0x1F300, 0x1F6FF), (0x600, 0x6FF), (0x900, 0x97F)]
            lo, hi = rnd.choice(blocks)
            parts.append("".join(chr(rnd.randint(lo, hi)) for _ in range(rnd.randint(1, 12))))
        else:
            parts.append(rnd.choice([" ", "\n", "  ", "\t", "\n\n", "", ". ", ", "]))
    return rnd.choice(["", " ", ""]).join(parts)


def tokenizer_goldens(tokenizer_dir: str, out_dir: str):
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    tok = Tokenizer.from_file(os.path.join(tokenizer_dir, "tokenizer.json"))
    hf = AutoTokenizer.from_pretrained(tokenizer_dir)
    mismatches = 0
    rnd = random.Random(1127)
    corpus = []
    for pool in (ENGLISH, UNICODE, CODE, NUMBERS, WHITESPACE, SPECIAL):
        corpus.extend(pool)
    while len(corpus) < 1200:
        corpus.append(random_string(rnd))
    long_text = " ".join(ENGLISH * 20)
    corpus.append(long_text)

    strings = []
    for text in corpus:
        ids = tok.encode(text).ids
        strings.append({
            "text": text,
            "ids": ids,
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(ids, skip_special_tokens=True),
        })
        # the processor path (transformers) must agree with the raw tokenizer
        if hf(text)["input_ids"] != ids:
            mismatches += 1
            print(f"transformers and tokenizers disagree on {text!r}", flush=True)

    system = "You are agent that can see, talk and act."
    chats = []
    conversations = [
        [{"role": "system", "content": system},
         {"role": "user", "content": "<image_start><image><image_end>\nWhat is the letter on the robot?"}],
        [{"role": "system", "content": system},
         {"role": "user", "content": "<image_start><image><image_end>\nWhat action should the robot take to open the top drawer of the cabinet?"}],
        [{"role": "user", "content": "What is 1+1?"}],
        [{"role": "system", "content": "  padded system  \n"},
         {"role": "user", "content": "\n\n  trimmed user \t"},
         {"role": "assistant", "content": " an answer "},
         {"role": "user", "content": "<image>\nand this one?"}],
        [{"role": "system", "content": system},
         {"role": "user", "content": "<image_start><image><image_end>\n<image_start><image><image_end>\nCompare the two images."}],
        [{"role": "user", "content": "emoji 🤖 and 日本語 \u00a0"}],
        [{"role": "system", "content": system},
         {"role": "user", "content": "<image_start><image><image_end>\nThe image is split into 256x256 grids and is labeled with numeric marks [1, 2, 3].\nThe robot is doing: pick up the cup. To finish the task, how to move the numerical marks in the image with speed 8 for the next 8 steps?\n"}],
    ]
    for i in range(60):
        turns = []
        if rnd.random() < 0.7:
            turns.append({"role": "system", "content": random_string(rnd)})
        for t in range(rnd.randint(1, 4)):
            turns.append({"role": "user", "content": random_string(rnd)})
            if rnd.random() < 0.6:
                turns.append({"role": "assistant", "content": random_string(rnd)})
        conversations.append(turns)
    for messages in conversations:
        for generation_prompt in (True, False):
            rendered = hf.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)
            ids = hf(rendered)["input_ids"]  # processor default: add_special_tokens=True -> double BOS
            chats.append({"messages": messages, "add_generation_prompt": generation_prompt,
                          "rendered": rendered, "ids": ids})

    # Decode-only cases: streaming must never split a character; ids that cut a multi-byte char.
    decodes = []
    for text in ["🙂🙂", "日本", "👨‍👩‍👧‍👦", "é", "a🤖b"]:
        ids = tok.encode(text, add_special_tokens=False).ids
        for cut in range(1, len(ids) + 1):
            part = ids[:cut]
            decodes.append({"ids": part, "text": tok.decode(part, skip_special_tokens=False)})

    golden = {
        "generator": "tools/export/make_golden_preprocessing.py",
        "tokenizers_version": __import__("tokenizers").__version__,
        "transformers_version": __import__("transformers").__version__,
        "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "transformers_mismatches": mismatches,
        "strings": strings, "chats": chats, "decodes": decodes,
    }
    with gzip.open(os.path.join(out_dir, "tokenizer.json.gz"), "wt", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, separators=(",", ":"))
    print(f"tokenizer: {len(strings)} strings, {len(chats)} chat renders, {len(decodes)} decodes", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--magma-processor", required=True, help="path to Magma's image_processing_magma.py")
    parser.add_argument("--tokenizer-dir", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    preprocessing_goldens(load_processor(args.magma_processor), args.out)
    tokenizer_goldens(args.tokenizer_dir, args.out)


if __name__ == "__main__":
    sys.exit(main())
