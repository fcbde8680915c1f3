"""The files of a Hugging Face Magma checkpoint: the safetensors shards with their index, and the json and tokenizer
files beside them.

Shared by make_tiny_model.py, check_real_widths.py and tools/train-web/train_web.py, which build Magma-shaped
checkpoints. Standard library only at import (the shards go through safetensors_writer), so it imports cheaply in
worker processes.
"""
import json
import os
import shutil

from safetensors_writer import save_file

# Magma-8B's preprocessor_config.json and generation_config.json (spec 1.4, HF model page), verbatim values.
PREPROCESSOR_CONFIG = {
    "anyres_strategy": "crop", "base_img_size": 512, "do_convert_rgb": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_processor_type": "MagmaImageProcessor",
    "image_std": [0.26862954, 0.26130258, 0.27577711], "num_crops": 4, "processor_class": "MagmaProcessor"}
GENERATION_CONFIG = {"_from_model_config": True, "bos_token_id": 128000, "eos_token_id": 128009, "pad_token_id": 128256}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
# the two shards of a Magma checkpoint built from modules: vision tower + projector, then the language model
VISION_SHARD, LANGUAGE_SHARD = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"


def dump(path: str, obj) -> None:
    """Writes obj as indented JSON with a final newline."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def magma_shards(llama, trunk, proj, row_sep) -> dict[str, dict]:
    """{VISION_SHARD: trunk, projector and row separator, LANGUAGE_SHARD: the LLaMA} under Magma-8B's key names
    (spec 1.5). The LM head is left out (tied to the embedding; a caller with an untied head adds it) and so are
    rotary buffers, as in the real checkpoint."""
    vision = {f"vision_tower.clip_vision_model.trunk.{k}": v for k, v in trunk.state_dict().items()}
    vision.update({f"multi_modal_projector.proj.{k}": v for k, v in proj.state_dict().items()})
    vision["multi_modal_projector.row_seperator"] = row_sep
    language = {f"language_model.{k}": v for k, v in llama.state_dict().items()
                if k != "lm_head.weight" and "rotary_emb" not in k}
    return {VISION_SHARD: vision, LANGUAGE_SHARD: language}


def write_shards(folder: str, shards: dict[str, dict]) -> int:
    """Each shard (file name -> {key: tensor}) as a safetensors file with metadata {"format": "pt"}, then
    model.safetensors.index.json (total_size, and weight_map in the order given) as save_pretrained writes it.
    Returns total_size: the tensors' bytes."""
    weight_map, total = {}, 0
    for file, tensors in shards.items():
        total += save_file(tensors, os.path.join(folder, file), metadata={"format": "pt"})
        weight_map.update({k: file for k in tensors})
    dump(os.path.join(folder, "model.safetensors.index.json"), {"metadata": {"total_size": total}, "weight_map": weight_map})
    return total


def write_side_files(folder: str, config: dict, tokenizer_dir: str) -> None:
    """config.json (as given), Magma's preprocessor and generation configs, and the tokenizer files."""
    dump(os.path.join(folder, "config.json"), config)
    dump(os.path.join(folder, "preprocessor_config.json"), PREPROCESSOR_CONFIG)
    dump(os.path.join(folder, "generation_config.json"), GENERATION_CONFIG)
    for name in TOKENIZER_FILES:
        shutil.copyfile(os.path.join(tokenizer_dir, name), os.path.join(folder, name))
