#!/usr/bin/env python3
"""Pack tools/web-datagen output folders into compact, self-contained parts, and read them back.

    # here (numpy + Pillow): decode every PNG once, store the exact RGB bytes, xz-compressed
    python3 tools/train-web/webpack.py pack --split train --out .gpu/train20 --part-mib 28 out/web-data/train-000 ...
    python3 tools/train-web/webpack.py pack --split heldout --out .gpu/train20 out/web-data/heldout
    # anywhere (numpy + the standard library): check a part, or copy parts into a data folder
    python3 tools/train-web/webpack.py check .gpu/train20/train-00
    python3 tools/train-web/webpack.py gather --dst /root/train20-data .gpu/train20/*/

Why not the PNGs: the marked screenshots of synthetic pages are flat colours, and an episode's steps differ by a few
boxes, so the raw RGB of many screenshots in one xz stream (64 MiB dictionary) is about ten times smaller than the
PNG files (10 probe pages: 1.9 MB of PNG, 0.2 MB packed). The bytes are the screenshot's pixels exactly as Pillow
decodes the PNG (lossless: what the C# engine decodes from the same file), checked by a SHA-256 per image on reading.

A part is a folder `<split>-NN/` that never splits a page:
  manifest.json      format, split, sources, pages, examples, images [{key, block, index, width, height, sha256}]
  examples.jsonl.xz  the examples of its pages, lines unchanged, plus "set" (the source folder's name)
  block-KKK.xz       the raw RGB (height x width x 3, uint8) of up to --block-pages pages' images, concatenated
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import json
import lzma
import os
import shutil
import sys

import numpy as np

FORMAT = "magma-web-pack/1"
FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 3, "dict_size": 64 << 20}]


def log(msg: str) -> None:
    print(f"[webpack] {msg}", flush=True)


def read_examples(folder: str) -> list[dict]:
    path = os.path.join(folder, "examples.jsonl")
    if not os.path.exists(path):
        raise SystemExit(f"{folder}: no examples.jsonl; pass a folder written by tools/web-datagen (--out)")
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def decode_png(path: str) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


class PartWriter:
    def __init__(self, out: str, split: str, index: int, limit: int):
        self.folder = os.path.join(out, f"{split}-{index:02d}")
        if os.path.exists(self.folder):
            shutil.rmtree(self.folder)
        os.makedirs(self.folder)
        self.split, self.limit = split, limit
        self.images, self.examples, self.sources, self.pages, self.blocks, self.bytes = [], [], set(), 0, 0, 0

    def fits(self, size: int) -> bool:
        return self.blocks == 0 or self.bytes + size <= self.limit

    def add_block(self, compressed: bytes, images: list[dict], examples: list[dict], pages: int, sources: set) -> None:
        with open(os.path.join(self.folder, f"block-{self.blocks:03d}.xz"), "wb") as f:
            f.write(compressed)
        for i, im in enumerate(images):
            self.images.append(dict(im, block=self.blocks, index=i))
        self.examples += examples
        self.pages += pages
        self.sources |= sources
        self.blocks += 1
        self.bytes += len(compressed)

    def close(self) -> dict:
        text = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in self.examples).encode("utf-8")
        with open(os.path.join(self.folder, "examples.jsonl.xz"), "wb") as f:
            f.write(lzma.compress(text, format=lzma.FORMAT_XZ, preset=9))
        manifest = {"format": FORMAT, "split": self.split, "sources": sorted(self.sources), "pages": self.pages,
                    "examples": len(self.examples), "blocks": self.blocks, "images": self.images}
        with open(os.path.join(self.folder, "manifest.json"), "w", encoding="utf-8") as f:
            json.dump(manifest, f)
        size = sum(os.path.getsize(os.path.join(self.folder, n)) for n in os.listdir(self.folder))
        log(f"{self.folder}: {self.pages} pages, {len(self.examples)} examples, {len(self.images)} images, "
            f"{size / 2**20:.1f} MiB")
        return manifest


def pack(sources: list[str], out: str, split: str, part_mib: float, block_pages: int, first_part: int) -> None:
    limit = int(part_mib * 2**20) - (2 << 20)  # room for examples.jsonl.xz and the manifest
    pages = []  # (set, seed, [examples])
    for folder in sources:
        name = os.path.basename(os.path.normpath(folder))
        by_seed: dict[int, list[dict]] = {}
        for e in read_examples(folder):
            by_seed.setdefault(int(e["seed"]), []).append(dict(e, set=name))
        pages += [(folder, name, seed, by_seed[seed]) for seed in sorted(by_seed)]
    log(f"{len(pages)} pages from {len(sources)} folders")
    index = first_part
    part = PartWriter(out, split, index, limit)
    for start in range(0, len(pages), block_pages):
        group = pages[start:start + block_pages]
        raw, images, examples, seen = [], [], [], {}
        for folder, name, _, exs in group:
            for e in exs:
                key = f"{name}/{e['image']}"
                if key not in seen:
                    rgb = decode_png(os.path.join(folder, e["image"]))
                    if (rgb.shape[1], rgb.shape[0]) != (e["image_width"], e["image_height"]):
                        raise SystemExit(f"{folder}/{e['image']}: {rgb.shape[1]}x{rgb.shape[0]} but the example says "
                                         f"{e['image_width']}x{e['image_height']}")
                    data = rgb.tobytes()
                    seen[key] = len(images)
                    images.append({"key": key, "width": int(rgb.shape[1]), "height": int(rgb.shape[0]),
                                   "sha256": hashlib.sha256(data).hexdigest()})
                    raw.append(data)
                examples.append(e)
        compressed = lzma.compress(b"".join(raw), format=lzma.FORMAT_XZ, filters=FILTERS)
        if not part.fits(len(compressed)):
            part.close()
            index += 1
            part = PartWriter(out, split, index, limit)
        part.add_block(compressed, images, examples, len(group), {g[1] for g in group})
    part.close()


# ---------------------------------------------------------------------------------------------------------------
# reading

def load_manifest(folder: str) -> dict:
    path = os.path.join(folder, "manifest.json")
    if not os.path.exists(path):
        raise SystemExit(f"{folder}: no manifest.json; pass a part folder written by webpack.py pack")
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    if manifest.get("format") != FORMAT:
        raise SystemExit(f"{path}: format {manifest.get('format')!r}, this reader knows {FORMAT!r}")
    return manifest


def part_examples(folder: str) -> list[dict]:
    with lzma.open(os.path.join(folder, "examples.jsonl.xz"), "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def part_images(folder: str, manifest: dict, verify: bool = True, threads: int = 8):
    """{key: HxWx3 uint8 array} for every image of the part (blocks decompressed in parallel threads)."""
    by_block: dict[int, list[dict]] = {}
    for im in manifest["images"]:
        by_block.setdefault(im["block"], []).append(im)

    def one(block: int):
        with open(os.path.join(folder, f"block-{block:03d}.xz"), "rb") as f:
            data = lzma.decompress(f.read())
        out, offset = {}, 0
        for im in sorted(by_block[block], key=lambda m: m["index"]):
            n = im["width"] * im["height"] * 3
            chunk = data[offset:offset + n]
            if len(chunk) != n:
                raise SystemExit(f"{folder}/block-{block:03d}.xz: ends inside image {im['key']}")
            if verify and hashlib.sha256(chunk).hexdigest() != im["sha256"]:
                raise SystemExit(f"{folder}: image {im['key']} does not match its SHA-256 (damaged part)")
            out[im["key"]] = np.frombuffer(chunk, dtype=np.uint8).reshape(im["height"], im["width"], 3)
            offset += n
        if offset != len(data):
            raise SystemExit(f"{folder}/block-{block:03d}.xz: {len(data) - offset} bytes after the last image")
        return out

    images = {}
    with cf.ThreadPoolExecutor(max_workers=threads) as pool:
        for result in pool.map(one, sorted(by_block)):
            images.update(result)
    return images


def gather(parts: list[str], dst: str) -> None:
    """Copies part folders into dst (kept there between device calls); a part already there is replaced."""
    os.makedirs(dst, exist_ok=True)
    for folder in parts:
        manifest = load_manifest(folder)
        target = os.path.join(dst, os.path.basename(os.path.normpath(folder)))
        if os.path.exists(target):
            shutil.rmtree(target)
        shutil.copytree(folder, target)
        log(f"{folder} -> {target}: {manifest['split']}, {manifest['pages']} pages, {manifest['examples']} examples")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack", help="web-datagen folders -> parts")
    p.add_argument("sources", nargs="+")
    p.add_argument("--out", required=True)
    p.add_argument("--split", required=True, choices=["train", "val", "heldout"])
    p.add_argument("--part-mib", type=float, default=28.0, help="largest part (MiB)")
    p.add_argument("--block-pages", type=int, default=16, help="pages per xz stream")
    p.add_argument("--first-part", type=int, default=0, help="number of the first part written")
    c = sub.add_parser("check", help="decompress parts and verify every image's SHA-256")
    c.add_argument("parts", nargs="+")
    g = sub.add_parser("gather", help="copy parts into a data folder")
    g.add_argument("parts", nargs="+")
    g.add_argument("--dst", required=True)
    args = ap.parse_args(argv)
    if args.cmd == "pack":
        pack(args.sources, args.out, args.split, args.part_mib, args.block_pages, args.first_part)
    elif args.cmd == "check":
        for folder in args.parts:
            m = load_manifest(folder)
            images = part_images(folder, m)
            exs = part_examples(folder)
            missing = {f"{e['set']}/{e['image']}" for e in exs} - set(images)
            if missing or len(exs) != m["examples"]:
                raise SystemExit(f"{folder}: {len(missing)} example images missing, {len(exs)} of {m['examples']} examples")
            log(f"{folder}: ok, {m['pages']} pages, {len(exs)} examples, {len(images)} images verified")
    else:
        gather(args.parts, args.dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
