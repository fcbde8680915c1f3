#!/usr/bin/env python3
"""A full-size, random-weight Magma-8B checkpoint in the real Hugging Face layout (bench/gpu/run.sh, issue 7).

LLaMA-3-8B text model (32 layers, hidden 4096, 32/8 heads, FFN 14336, 128263-row untied head), ConvNeXt-XXLarge trunk
(depths [3, 4, 30, 3], widths [384, 768, 1536, 3072]), the mlp2x_gelu projector and the row separator, bf16 safetensors
with the real key names and the repository's tokenizer. The values are drawn on the GPU from a fixed seed by
tools/export/check_real_widths.py's generator, with the real vision depths.

    python3 bench/gpu/make_magma8b.py --out /tmp/magma8b-ckpt
"""
import argparse
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools", "export"))
import check_real_widths  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--seed", type=int, default=20251127)
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()
    check_real_widths.VISION_DEPTHS = [3, 4, 30, 3]  # ConvNeXt-XXLarge, as in Magma-8B
    facts = check_real_widths.build_checkpoint(args.out, os.path.join(REPO, "tests", "assets", "tokenizer"), args.seed,
                                               args.layers, args.device)
    print(json.dumps(facts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
