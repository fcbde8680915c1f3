"""Which checkpoint tensors the exporter reads, checked strictly (standard library only, so it is testable anywhere).

A Magma checkpoint renamed by another tool still loads in a lenient reader: a ConvNeXt layer scale or a stage's
downsample whose key changed would simply be skipped and the exported model would be wrong without a word. Here
every tensor the graphs need is expected by name, and a missing one fails with the expected-vs-found key list,
unless the configuration says it is absent by design:

* stage 0 of timm's ConvNeXt has no downsample (the stem already reduced the image; the channel count is unchanged);
  every later stage has one (``downsample.0`` LayerNorm2d, ``downsample.1`` strided conv);
* every block has a layer scale, ``gamma`` (timm's name). Older transformers versions renamed ``gamma`` to
  ``weight`` when saving, so ``blocks.N.weight`` is accepted as the layer scale by name. It is absent only when the
  vision config sets ``ls_init_value`` to null (layer scale disabled);
* ``lm_head.weight`` must exist unless ``tie_word_embeddings`` is true (the head then reads the embedding table).

Tensors under the trunk's ``stem.``/``stages.`` that no rule reads (a ConvNeXt-V2 GRN, a renamed layer scale) are
errors too: the graphs would silently leave them out.
"""
from __future__ import annotations

from dataclasses import dataclass, field

BLOCK_TENSORS = ("conv_dw.weight", "conv_dw.bias", "norm.weight", "norm.bias",
                 "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias")
STEM_TENSORS = ("stem.0.weight", "stem.0.bias", "stem.1.weight", "stem.1.bias")
DOWNSAMPLE_TENSORS = ("downsample.0.weight", "downsample.0.bias", "downsample.1.weight", "downsample.1.bias")
LAYER_SCALE_NAMES = ("gamma", "weight")  # timm's name first; "weight": older transformers' rename of gamma


class CheckpointKeyError(SystemExit):
    """Raised (as SystemExit, like the exporter's other checks) with the expected-vs-found message."""


@dataclass
class VisionKeys:
    """The trunk tensors to read: whether each stage has a downsample, and each block's layer-scale key (or None)."""
    downsample: list[bool] = field(default_factory=list)
    layer_scale: list[list[str | None]] = field(default_factory=list)

    def timm_names(self, trunk: str) -> dict[str, str]:
        """Checkpoint key -> timm ConvNeXt state-dict name, for keys whose name differs (a layer scale saved as weight)."""
        renames = {}
        for s, blocks in enumerate(self.layer_scale):
            for b, key in enumerate(blocks):
                if key is not None and not key.endswith(".gamma"):
                    renames[key] = f"stages.{s}.blocks.{b}.gamma"
        return renames


def _missing(what: str, prefix: str, expected, keys: set[str]) -> CheckpointKeyError:
    found = sorted(k[len(prefix):] for k in keys if k.startswith(prefix))
    return CheckpointKeyError(
        f"checkpoint is missing {what}: expected {sorted(expected)} under '{prefix}', found {found or 'nothing'}. "
        "A renamed key would be skipped and export a wrong model; rename it back (or fix the config if the tensor "
        "is absent by design).")


def vision_keys(keys, trunk: str, depths: list[int], vision_config: dict | None = None) -> VisionKeys:
    """Checks every trunk tensor the vision graph reads and returns where the optional-by-design ones are."""
    keys = set(keys)
    vision_config = vision_config or {}
    # Layer scale is off only when the config says so explicitly (timm: ls_init_value=None).
    layer_scale_on = not ("ls_init_value" in vision_config and vision_config["ls_init_value"] is None)
    used = set()

    def need(prefix: str, names, what: str) -> None:
        wanted = {prefix + n for n in names}
        if not wanted <= keys:
            raise _missing(what, prefix, [n for n in names if prefix + n not in keys], keys)
        used.update(wanted)

    need(trunk, STEM_TENSORS, "the ConvNeXt stem")
    plan = VisionKeys()
    for s, depth in enumerate(depths):
        stage = f"{trunk}stages.{s}."
        # Stage 0 keeps the stem's width and stride in timm's ConvNeXt, so its downsample is absent by design; a
        # checkpoint that has one anyway gets it applied (all four tensors, else the unread check names them).
        has_ds = s > 0 or all(stage + n in keys for n in DOWNSAMPLE_TENSORS)
        if has_ds:
            need(stage, DOWNSAMPLE_TENSORS, f"stage {s}'s downsample")
        plan.downsample.append(has_ds)
        scales = []
        for b in range(depth):
            block = f"{stage}blocks.{b}."
            need(block, BLOCK_TENSORS, f"block {b} of stage {s}")
            scale = None
            if layer_scale_on:
                present = [block + n for n in LAYER_SCALE_NAMES if block + n in keys]
                if not present:
                    raise _missing(f"the layer scale of block {b} of stage {s} (gamma, or weight as older "
                                   "transformers saved it; set vision_config.ls_init_value to null if the model has none)",
                                   block, LAYER_SCALE_NAMES, keys)
                if len(present) > 1:
                    raise CheckpointKeyError(f"checkpoint has two layer scales for block {b} of stage {s}: {present}; keep one.")
                scale = present[0]
                used.add(scale)
            scales.append(scale)
        plan.layer_scale.append(scales)

    unread = sorted(k for k in keys
                    if (k.startswith(trunk + "stem.") or k.startswith(trunk + "stages.")) and k not in used)
    if unread:
        raise CheckpointKeyError(
            f"checkpoint has ConvNeXt tensors the exporter would not read: {unread[:8]}"
            f"{f' (and {len(unread) - 8} more)' if len(unread) > 8 else ''}. They would be left out of vision.onnx; "
            "this exporter supports timm's ConvNeXt (stem, downsample, conv_dw, norm, mlp.fc1/fc2, gamma) only.")
    return plan


def lm_head_key(keys, text_config: dict) -> tuple[str | None, bool]:
    """(the LM head's key or None, tied): tied reads the embedding table and is allowed only when the config says so."""
    heads = sorted(k for k in keys if k.endswith("lm_head.weight"))
    if len(heads) > 1:
        raise CheckpointKeyError(f"checkpoint has several LM heads: {heads}; keep one.")
    tied = bool(text_config.get("tie_word_embeddings", False))
    if tied:
        return (heads[0] if heads else None), True
    if not heads:
        near = sorted(k for k in keys if "lm_head" in k or k.endswith("output.weight"))
        raise CheckpointKeyError(
            "checkpoint is missing the LM head: expected a key ending in 'lm_head.weight' because config.json "
            f"has tie_word_embeddings false (or unset); found {near or 'no lm_head tensor'}. Rename it, or set "
            "tie_word_embeddings to true if the head really is the embedding table.")
    return heads[0], False
