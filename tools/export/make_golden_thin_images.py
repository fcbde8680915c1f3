#!/usr/bin/env python3
"""Adds thin-image cases to tests/assets/golden/preprocessing.json, leaving every other entry as it is.

Thin images (37x1111, 1111x37) stretch one axis by 13.8x and the other by 1.84x, where the bilinear source
coordinate's rounding shows most. The cases are synthetic images (make_golden_preprocessing.synthetic_image, which
the C# tests reproduce bit for bit), processed by Magma's own MagmaImageProcessor and described as the other entries
(make_golden_preprocessing.describe), with more samples per crop. Existing entries are read and written back
unchanged; entries of the same size and seed are replaced, so running this twice gives the same file.

The committed entries (2026-12-03, H200 machine, torch 2.11.0, torchvision 0.26) were made by these steps with the
processor's own calls written inline (ToTensor, Normalize with CLIP's mean/std, select_best_resolution, bilinear
F.interpolate, unfold), because the device run copies the session's checkout; that inline pipeline reproduced the
sums, block means, minima and maxima of six existing entries (1x1, 2x3, 37x1000, 200x3000, 511x1025, 1366x768) exactly.

Usage (on a machine with torch, torchvision, transformers, pillow, numpy; the device machine's image has them):
  python3 tools/export/make_golden_thin_images.py --magma-processor PATH/image_processing_magma.py --out tests/assets/golden
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_golden_preprocessing as golden  # noqa: E402

THIN_SIZES = [(37, 1111, 101), (1111, 37, 102)]  # (width, height, seed)
SAMPLES_PER_CROP = 4096


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--magma-processor", required=True, help="path to Magma's image_processing_magma.py")
    parser.add_argument("--out", required=True, help="folder holding preprocessing.json")
    args = parser.parse_args()
    path = os.path.join(args.out, "preprocessing.json")
    with open(path, encoding="utf-8") as f:
        meta = json.load(f)

    processor = golden.load_processor(args.magma_processor)
    rng = np.random.default_rng(20261203)
    for w, h, seed in THIN_SIZES:
        array = golden.synthetic_image(w, h, seed)
        result = processor.preprocess([array], return_tensors="pt")
        pv = result["pixel_values"].numpy().astype(np.float32)
        grid = result["image_sizes"][0]
        entry = {"kind": "synthetic", "width": w, "height": h, "seed": seed,
                 "rgb_sha256": hashlib.sha256(array.tobytes()).hexdigest()}
        entry.update(golden.describe(pv, grid, rng, SAMPLES_PER_CROP))
        meta["images"] = [e for e in meta["images"]
                          if not (e["kind"] == "synthetic" and (e["width"], e["height"], e.get("seed")) == (w, h, seed))]
        meta["images"].append(entry)
        print(f"synthetic {w}x{h} (seed {seed}): grid {list(grid)} crops {pv.shape[0]}", flush=True)

    meta["thin_images"] = "tools/export/make_golden_thin_images.py with torch " + __import__("torch").__version__
    with open(path, "w", encoding="utf-8") as f:
        json.dump(meta, f, separators=(",", ":"))


if __name__ == "__main__":
    sys.exit(main())
