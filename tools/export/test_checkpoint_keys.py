"""Tests of checkpoint_keys.py: standard library only (python3 -m unittest test_checkpoint_keys, from tools/export).

Key layouts are those of the tiny model (make_tiny_model.py: timm ConvNeXt under vision_tower.clip_vision_model.trunk.,
LLaMA under language_model., tied head) and of Magma-8B (untied language_model.lm_head.weight).
"""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checkpoint_keys import (BLOCK_TENSORS, DOWNSAMPLE_TENSORS, STEM_TENSORS, CheckpointKeyError,  # noqa: E402
                             lm_head_key, vision_keys)

TRUNK = "vision_tower.clip_vision_model.trunk."
DEPTHS = [2, 1, 3]


def convnext_keys(depths=DEPTHS, scale="gamma"):
    keys = [TRUNK + n for n in STEM_TENSORS]
    for s, depth in enumerate(depths):
        if s > 0:
            keys += [f"{TRUNK}stages.{s}.{n}" for n in DOWNSAMPLE_TENSORS]
        for b in range(depth):
            keys += [f"{TRUNK}stages.{s}.blocks.{b}.{n}" for n in BLOCK_TENSORS]
            if scale:
                keys.append(f"{TRUNK}stages.{s}.blocks.{b}.{scale}")
    # Tensors outside stem/stages (the projector, a head norm) are not the trunk rules' business.
    keys += ["multi_modal_projector.proj.0.weight", "multi_modal_projector.row_seperator", TRUNK + "head.norm.weight"]
    return keys


class VisionKeysTest(unittest.TestCase):
    def test_a_timm_checkpoint_maps_every_block_and_stage(self):
        plan = vision_keys(convnext_keys(), TRUNK, DEPTHS)
        self.assertEqual(plan.downsample, [False, True, True])
        self.assertEqual(plan.layer_scale[2][1], TRUNK + "stages.2.blocks.1.gamma")
        self.assertEqual([len(b) for b in plan.layer_scale], DEPTHS)
        self.assertEqual(plan.timm_names(TRUNK), {})

    def test_the_older_transformers_weight_name_is_the_layer_scale(self):
        plan = vision_keys(convnext_keys(scale="weight"), TRUNK, DEPTHS)
        self.assertEqual(plan.layer_scale[0][0], TRUNK + "stages.0.blocks.0.weight")
        self.assertEqual(plan.timm_names(TRUNK)[TRUNK + "stages.1.blocks.0.weight"], "stages.1.blocks.0.gamma")

    def test_a_missing_layer_scale_fails_with_expected_and_found_keys(self):
        keys = convnext_keys()
        keys.remove(TRUNK + "stages.1.blocks.0.gamma")
        keys.append(TRUNK + "stages.1.blocks.0.ls.scale")  # renamed by some tool
        with self.assertRaises(CheckpointKeyError) as e:
            vision_keys(keys, TRUNK, DEPTHS)
        message = str(e.exception)
        self.assertIn("layer scale of block 0 of stage 1", message)
        self.assertIn("expected ['gamma', 'weight'] under '" + TRUNK + "stages.1.blocks.0.'", message)
        self.assertIn("'ls.scale'", message)
        self.assertIn("'conv_dw.weight'", message)

    def test_no_layer_scale_only_when_the_config_disables_it(self):
        keys = convnext_keys(scale=None)
        with self.assertRaises(CheckpointKeyError):
            vision_keys(keys, TRUNK, DEPTHS, {"ls_init_value": 1e-6})
        plan = vision_keys(keys, TRUNK, DEPTHS, {"ls_init_value": None})
        self.assertTrue(all(k is None for stage in plan.layer_scale for k in stage))

    def test_a_missing_downsample_fails_naming_the_stage(self):
        keys = [k for k in convnext_keys() if not k.startswith(TRUNK + "stages.2.downsample.1.")]
        with self.assertRaises(CheckpointKeyError) as e:
            vision_keys(keys, TRUNK, DEPTHS)
        self.assertIn("stage 2's downsample", str(e.exception))
        self.assertIn("expected ['downsample.1.bias', 'downsample.1.weight']", str(e.exception))

    def test_a_renamed_downsample_fails_rather_than_being_skipped(self):
        keys = [k.replace("stages.1.downsample.", "stages.1.down.") for k in convnext_keys()]
        with self.assertRaises(CheckpointKeyError) as e:
            vision_keys(keys, TRUNK, DEPTHS)
        self.assertIn("'down.0.weight'", str(e.exception))

    def test_a_stage_zero_downsample_is_used_when_present(self):
        keys = convnext_keys() + [f"{TRUNK}stages.0.{n}" for n in DOWNSAMPLE_TENSORS]
        self.assertEqual(vision_keys(keys, TRUNK, DEPTHS).downsample, [True, True, True])

    def test_tensors_no_rule_reads_are_errors(self):
        keys = convnext_keys() + [TRUNK + "stages.0.blocks.1.mlp.grn.weight", TRUNK + "stages.0.blocks.1.mlp.grn.bias"]
        with self.assertRaises(CheckpointKeyError) as e:
            vision_keys(keys, TRUNK, DEPTHS)
        self.assertIn("mlp.grn.bias", str(e.exception))

    def test_two_layer_scales_are_ambiguous(self):
        keys = convnext_keys() + [TRUNK + "stages.0.blocks.0.weight"]
        with self.assertRaises(CheckpointKeyError):
            vision_keys(keys, TRUNK, DEPTHS)


class TinyPackageTest(unittest.TestCase):
    """The committed tiny package's vision.onnx names its initializers after the checkpoint keys it read."""

    VISION = os.environ.get("MAGMA_TINY_VISION") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "assets", "tiny-magma", "vision.onnx")

    def test_the_tiny_checkpoints_layout_passes_and_maps_every_layer_scale(self):
        with open(self.VISION, "rb") as f:
            data = f.read()
        # TensorProto.name is field 8 (tag 0x42), then a one-byte length for names under 128 bytes.
        names = {data[m.start() + 2: m.start() + 2 + m.group(1)[0]].decode()
                 for m in re.finditer(rb"\x42([\x01-\x7f])vision_tower\.clip_vision_model\.trunk\.", data)}
        keys = {n[: -len("_T")] if n.endswith("_T") else n for n in names}
        self.assertIn(TRUNK + "stages.1.downsample.1.weight", keys)
        depths = []
        while any(k.startswith(f"{TRUNK}stages.{len(depths)}.") for k in keys):
            s = len(depths)
            depths.append(len({k.split(".")[6] for k in keys if k.startswith(f"{TRUNK}stages.{s}.blocks.")}))
        self.assertEqual(depths, [1, 1, 2, 1])
        plan = vision_keys(keys, TRUNK, depths)
        self.assertEqual(plan.downsample, [False, True, True, True])
        self.assertEqual(sum(k is not None for stage in plan.layer_scale for k in stage), 5)


class LmHeadTest(unittest.TestCase):
    LANGUAGE = ["language_model.model.embed_tokens.weight", "language_model.model.norm.weight"]

    def test_an_untied_head_is_read(self):
        self.assertEqual(lm_head_key(self.LANGUAGE + ["language_model.lm_head.weight"], {"tie_word_embeddings": False}),
                         ("language_model.lm_head.weight", False))

    def test_a_missing_head_fails_unless_the_config_ties_it(self):
        for config in ({}, {"tie_word_embeddings": False}):
            with self.assertRaises(CheckpointKeyError) as e:
                lm_head_key(self.LANGUAGE + ["language_model.lm_head.weights"], config)
            self.assertIn("expected a key ending in 'lm_head.weight'", str(e.exception))
            self.assertIn("language_model.lm_head.weights", str(e.exception))
        self.assertEqual(lm_head_key(self.LANGUAGE, {"tie_word_embeddings": True}), (None, True))

    def test_a_tied_config_reads_the_embedding_table_even_with_a_head_present(self):
        self.assertEqual(lm_head_key(self.LANGUAGE + ["language_model.lm_head.weight"], {"tie_word_embeddings": True}),
                         ("language_model.lm_head.weight", True))


if __name__ == "__main__":
    unittest.main()
