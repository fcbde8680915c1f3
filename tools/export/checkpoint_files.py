"""The json and tokenizer files that sit beside the safetensors in a Hugging Face Magma checkpoint.

Shared by make_tiny_model.py and check_real_widths.py, which build Magma-shaped checkpoints from a seed.
Standard library only, so it imports cheaply in worker processes.
"""
import json
import os
import shutil

# Magma-8B's preprocessor_config.json and generation_config.json (spec 1.4, HF model page), verbatim values.
PREPROCESSOR_CONFIG = {
    "anyres_strategy": "crop", "base_img_size": 512, "do_convert_rgb": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_processor_type": "MagmaImageProcessor",
    "image_std": [0.26862954, 0.26130258, 0.27577711], "num_crops": 4, "processor_class": "MagmaProcessor"}
GENERATION_CONFIG = {"_from_model_config": True, "bos_token_id": 128000, "eos_token_id": 128009, "pad_token_id": 128256}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def dump(path: str, obj) -> None:
    """Writes obj as indented JSON with a final newline."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def write_side_files(folder: str, config: dict, tokenizer_dir: str) -> None:
    """config.json (as given), Magma's preprocessor and generation configs, and the tokenizer files."""
    dump(os.path.join(folder, "config.json"), config)
    dump(os.path.join(folder, "preprocessor_config.json"), PREPROCESSOR_CONFIG)
    dump(os.path.join(folder, "generation_config.json"), GENERATION_CONFIG)
    for name in TOKENIZER_FILES:
        shutil.copyfile(os.path.join(tokenizer_dir, name), os.path.join(folder, name))
