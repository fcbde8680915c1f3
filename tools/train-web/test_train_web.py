#!/usr/bin/env python3
"""Checks of tools/train-web that run on a CPU machine with torch, numpy and Pillow:

    python3 tools/train-web/test_train_web.py                 # pre-processing, grid, packing, answer reading
    TRAIN_WEB_DATA=out/web-data/probe python3 tools/train-web/test_train_web.py   # + packing and a training loop
                                                             #   (2 steps, resume to 3) on that web-datagen folder

The pre-processing test compares train_web.preprocess with tests/assets/golden/preprocessing.json, the goldens of
Magma's own MagmaImageProcessor that the C# ImagePreprocessor is tested against: same grid, same crops, every sampled
value and 64x64 block mean within 2e-5. The training loop runs with --local-fallback (stand-in modules, see
local_modules.py, and the real tokenizer.json through pybpe.PyBPE): it checks the data, batching, loss, resume,
greedy and report code, not the real modules.
"""
from __future__ import annotations

import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unittest
from fractions import Fraction

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tools", "export"))
import train_web  # noqa: E402
import webpack  # noqa: E402

GOLDEN = os.path.join(REPO, "tests", "assets", "golden", "preprocessing.json")
DATA = os.environ.get("TRAIN_WEB_DATA")


def is_dyadic(a: int, b: int) -> bool:
    d = Fraction(a, b).denominator
    return d & (d - 1) == 0


def golden_images() -> list[dict]:
    with open(GOLDEN, encoding="utf-8") as f:
        return json.load(f)["images"]


class Preprocessing(unittest.TestCase):
    def test_grid_matches_goldens(self):
        for im in golden_images():
            self.assertEqual(list(train_web.select_grid(im["width"], im["height"])), im["image_sizes"], im)

    def test_pixels_match_goldens(self):
        import torch
        from make_golden_preprocessing import synthetic_image

        checked = exact_images = 0
        for im in golden_images():
            if im["kind"] != "synthetic" or im["width"] * im["height"] > 3_000_000:
                continue
            rgb = synthetic_image(im["width"], im["height"], im["seed"])
            pv, grid = train_web.preprocess(torch.from_numpy(rgb)[None])
            self.assertEqual(list(pv.shape), im["shape"], im)
            pv = pv.numpy()
            # Where a scale in/out is not a dyadic fraction, the source positions scale * (d + 0.5) are rounded,
            # and PyTorch versions round them differently (the goldens' 2.x uses a fused multiply-add, see
            # ImagePreprocessor.ComputeAxis; torch 1.13 on this development machine differs by up to 1.2e-4 on the
            # 37x1111 stretch). Web screenshots (1280x800 -> 2x2, scales 1.25 and 0.78125) are exact in every
            # version and must match to float rounding.
            exact = all(is_dyadic(n, g * 512) for n, g in ((im["width"], grid[1]), (im["height"], grid[0])))
            tol = 2e-6 if exact else 1e-3
            exact_images += exact
            for k, crop in enumerate(im["crops"]):
                for c, y, x, v in crop["samples"]:
                    self.assertAlmostEqual(float(pv[k, c, y, x]), v, delta=tol, msg=f"{im['width']}x{im['height']} crop {k}")
                b = crop["block"]
                s = pv.shape[-1]
                means = pv[k].reshape(3, s // b, b, s // b, b).astype(np.float64).mean(axis=(2, 4)).reshape(-1)
                np.testing.assert_allclose(means, crop["block_means"], atol=tol)
            checked += 1
        self.assertGreaterEqual(checked, 15)
        self.assertGreaterEqual(exact_images, 8)


class Stitching(unittest.TestCase):
    def test_batched_stitch_equals_the_reference_per_image(self):
        import torch
        from make_tiny_model import stitch

        for grid in ((2, 2), (1, 3), (3, 1), (1, 1)):
            n, g, h = 3, 4, 5
            feats = torch.randn(n * grid[0] * grid[1], g, g, h)
            sep = torch.randn(1, 1, h)
            got = train_web.stitch(feats, n, grid, sep)
            per = grid[0] * grid[1]
            for i in range(n):
                want = stitch(feats[i * per:(i + 1) * per], grid[0], grid[1], sep)
                self.assertTrue(torch.equal(got[i], want), f"grid {grid} image {i}")


class Answers(unittest.TestCase):
    def test_action_json(self):
        e = {"style": "action_json", "action": "TYPE", "target_mark": 4, "value": "Ada"}
        self.assertTrue(train_web.score(e, '{"ACTION": "TYPE", "MARK": 4, "VALUE": "Ada"}')["correct"])
        self.assertFalse(train_web.score(e, '{"ACTION": "TYPE", "MARK": 4, "VALUE": "Adb"}')["correct"])
        self.assertFalse(train_web.score(e, '{"ACTION": "TYPE", "MARK": 5, "VALUE": "Ada"}')["correct"])
        self.assertFalse(train_web.score(e, '{"ACTION": "TYPE", "MARK": 4')["parsed"])
        s = {"style": "action_json", "action": "SCROLL", "target_mark": None, "value": "DOWN"}
        self.assertTrue(train_web.score(s, '{"ACTION": "SCROLL", "VALUE": "DOWN"}')["correct"])
        self.assertFalse(train_web.score(s, '{"ACTION": "SCROLL", "VALUE": "UP"}')["correct"])
        d = {"style": "action_json", "action": "DONE"}
        self.assertTrue(train_web.score(d, '{"ACTION": "DONE"}')["correct"])
        self.assertFalse(train_web.score(d, '{"ACTION": "CLICK", "MARK": 1}')["correct"])

    def test_ui_click(self):
        e = {"style": "ui_click", "action": "CLICK", "target_mark": 6}
        self.assertTrue(train_web.score(e, "Coordinate: (0.08, 0.43). Mark: 6")["correct"])
        self.assertFalse(train_web.score(e, "Coordinate: (0.08, 0.43). Mark: 7")["correct"])
        self.assertFalse(train_web.score(e, "no idea")["parsed"])


class TargetGroups(unittest.TestCase):
    LIST = ('<image>\nTask: t\nPrevious actions:\nNone\nCandidates:\n[0] link: Home\n[1] button: Share\n'
            '[2] button: Share\n[3] checkbox: Gift "wrap" | unchecked\n[4] textbox\n'
            '[5] button: Edit | in: Ada Lovelace\n[6] button: Edit | in: Alan Turing\n'
            '[7] textbox (nearby text): Email | value: a@b.c | required\n[8] textbox: Email | in frame #pay\n'
            '[9] button | in: Ada Lovelace\nWhat is the next action? ...')
    OLD = ('<image>\nTask: t\nPrevious actions:\nNone\nCandidates:\n[0] link "Home"\n[1] button "Share"\n'
           '[2] button "Share"\n[3] checkbox "Gift \\"wrap\\"" unchecked\n[4] textbox\nWhat is the next action? ...')

    def test_groups(self):
        g = train_web.target_group
        self.assertEqual(g({"prompt": self.LIST, "target_mark": 0}), "list, unique name")
        self.assertEqual(g({"prompt": self.LIST, "target_mark": 2}), "list, shared name")
        self.assertEqual(g({"prompt": self.LIST, "target_mark": 3}), "list, unique name")
        self.assertEqual(g({"prompt": self.LIST, "target_mark": 4}), "list, unique name")
        # a shared name with a context that tells it apart is unique
        self.assertEqual(g({"prompt": self.LIST, "target_mark": 5}), "list, unique name")
        self.assertEqual(g({"prompt": self.LIST, "target_mark": None}), "no target")
        self.assertEqual(g({"prompt": "<image>\nIn this view I need to click ...", "target_mark": 1}), "no list")
        # the quoted format of earlier data still reads
        self.assertEqual(g({"prompt": self.OLD, "target_mark": 2}), "list, shared name")
        self.assertEqual(g({"prompt": self.OLD, "target_mark": 3}), "list, unique name")

    def test_mark_names(self):
        names = train_web.mark_names(self.LIST.split("Candidates:\n")[1])
        self.assertEqual(names[3], ('Gift "wrap"', ""))
        self.assertEqual(names[5], ("Edit", "Ada Lovelace"))
        self.assertEqual(names[7], ("Email", ""))
        self.assertEqual(names[8], ("Email", ""))
        self.assertEqual(names[9], ("", "Ada Lovelace"))
        self.assertNotIn(4, names)


class RenumberMarks(unittest.TestCase):
    PROMPT = ("<|start_header_id|>user<|end_header_id|>\n\n<image>\nTask: go to Deals and then press Share for Zara\n"
              "Previous actions:\nCLICK [1] -> click [1] link: Deals\nCandidates:\n[0] link: Gallery\n[1] link: Deals\n"
              "[2] button: Share | in: Zara\n[3] button: Share | in: Noah\nWhat is the next action? Answer with JSON")

    def test_lines_keep_their_text_and_the_answer_follows_its_line(self):
        seen = set()
        for seed in range(20):
            prompt, answer = train_web.renumber_marks(self.PROMPT, '{"ACTION": "CLICK", "MARK": 2}', random.Random(seed))
            names = train_web.mark_names(prompt.split("\nCandidates:\n", 1)[1].split("\nWhat is")[0])
            self.assertEqual(sorted(names), [0, 1, 2, 3])  # numbered 0..N-1 again, in list order
            mark = int(answer.rsplit(" ", 1)[1].rstrip("}"))
            self.assertEqual(names[mark], ("Share", "Zara"))
            deals = next(k for k, v in names.items() if v == ("Deals", ""))
            self.assertIn(f"CLICK [{deals}] -> click [{deals}] link: Deals\n", prompt)
            self.assertTrue(prompt.startswith(self.PROMPT[:self.PROMPT.index("Previous")]))
            self.assertTrue(prompt.endswith("\nWhat is the next action? Answer with JSON"))
            seen.add(mark)
        self.assertGreater(len(seen), 2)  # the target moves

    def test_keep_cuts_the_list_but_never_the_answers_or_previous_actions_lines(self):
        for seed in range(10):
            prompt, answer = train_web.renumber_marks(self.PROMPT, '{"ACTION": "DRAG", "MARK": 0, "TO": 3}',
                                                      random.Random(seed), keep=2)
            names = train_web.mark_names(prompt.split("\nCandidates:\n", 1)[1].split("\nWhat is")[0])
            got = json.loads(answer)
            # the previous action's line (Deals) stays as well, so three lines, and its number follows it
            self.assertEqual(sorted(names), [0, 1, 2])
            self.assertEqual({names[got["MARK"]], names[got["TO"]]}, {("Gallery", ""), ("Share", "Noah")})
            deals = next(k for k, v in names.items() if v == ("Deals", ""))
            self.assertIn(f"CLICK [{deals}] -> click [{deals}] link: Deals\n", prompt)
        prompt, answer = train_web.renumber_marks(self.PROMPT, '{"ACTION": "CLICK", "MARK": 1}', random.Random(3), keep=3)
        names = train_web.mark_names(prompt.split("\nCandidates:\n", 1)[1].split("\nWhat is")[0])
        self.assertEqual(len(names), 3)
        self.assertEqual(names[json.loads(answer)["MARK"]], ("Deals", ""))

    def test_keep_puts_the_answers_line_anywhere(self):
        # session 9: the kept lines were once left in the draw's order, with the others drawn first, so the answer's
        # line was mostly the last one (2 of 3 lines: 63 %) and a model learned that instead of the copy
        no_history = self.PROMPT.replace("CLICK [1] -> click [1] link: Deals", "None")
        marks = [json.loads(train_web.renumber_marks(no_history, '{"ACTION": "CLICK", "MARK": 3}', random.Random(s),
                                                     keep=3)[1])["MARK"] for s in range(600)]
        for k in range(3):
            self.assertGreater(marks.count(k), 150, marks.count(k))


    def test_drag_target_and_prompts_without_a_list(self):
        prompt, answer = train_web.renumber_marks(self.PROMPT, '{"ACTION": "DRAG", "MARK": 0, "TO": 3}', random.Random(1))
        names = train_web.mark_names(prompt.split("\nCandidates:\n", 1)[1].split("\nWhat is")[0])
        got = json.loads(answer)
        self.assertEqual((names[got["MARK"]], names[got["TO"]]), (("Gallery", ""), ("Share", "Noah")))
        ui = "<image>\nClick the Deals link."
        self.assertEqual(train_web.renumber_marks(ui, "Coordinate: (1, 2). Mark: 3", random.Random(1)),
                         (ui, "Coordinate: (1, 2). Mark: 3"))


class CopySteps(unittest.TestCase):
    """The copy curriculum's synthetic text steps (train_web.swap_target_name, copy_step, text_lines)."""

    PROMPT = ("<|start_header_id|>user<|end_header_id|>\n\n<image>\nTask: enter Rossi as Last name and then press Share "
              "for Zara Berg\nPrevious actions:\nNone\nCandidates:\n[0] link: Gallery\n[1] textbox: Last name\n"
              "[2] button: Share | in: Zara Berg\n[3] button: Share | in: Noah Silva\nWhat is the next action? Answer")
    POOL = [{"prompt": "\nCandidates:\n[0] textbox: Company\n[1] textbox: Email\n[2] link: Share | in: Ada Costa\n"
                       "[3] button: Open | in: soft basket\nWhat is the next action?"}]

    def lines(self, prompt):
        return train_web.mark_names(prompt.split("\nCandidates:\n", 1)[1].split("\nWhat is")[0])

    def task(self, prompt):
        return prompt.split("\nTask: ", 1)[1].split("\nPrevious actions:")[0]

    def test_name_pool(self):
        pool = train_web.NamePool(self.POOL)
        self.assertEqual(pool.names["textbox"], ["Company", "Email"])
        self.assertEqual(pool.contexts, ["Ada Costa", "soft basket"])

    def test_unique_name_is_swapped_in_the_task_and_its_line(self):
        pool = train_web.NamePool(self.POOL)
        got = set()
        for seed in range(20):
            p = train_web.swap_target_name(self.PROMPT, 1, pool, random.Random(seed))
            new = self.lines(p)[1][0]
            self.assertIn(new, ("Company", "Email"))
            self.assertEqual(self.task(p), f"enter Rossi as {new} and then press Share for Zara Berg")
            self.assertEqual({k: v for k, v in self.lines(p).items() if k != 1},
                             {k: v for k, v in self.lines(self.PROMPT).items() if k != 1})  # other lines unchanged
            got.add(new)
        self.assertEqual(got, {"Company", "Email"})

    def test_shared_name_swaps_the_context(self):
        pool = train_web.NamePool(self.POOL)
        p = train_web.swap_target_name(self.PROMPT, 2, pool, random.Random(0))
        self.assertIn(self.lines(p)[2], (("Share", "Ada Costa"), ("Share", "soft basket")))
        self.assertEqual(self.task(p), f"enter Rossi as Last name and then press Share for {self.lines(p)[2][1]}")
        # a name the task writes in lower case is swapped in lower case
        lower = self.PROMPT.replace("for Zara Berg", "for zara berg")
        p = train_web.swap_target_name(lower, 2, pool, random.Random(0))
        self.assertEqual(self.task(p), f"enter Rossi as Last name and then press Share for {self.lines(p)[2][1].lower()}")

    def test_unchanged_when_the_task_does_not_name_it(self):
        pool = train_web.NamePool(self.POOL)
        self.assertEqual(train_web.swap_target_name(self.PROMPT, 0, pool, random.Random(0)), self.PROMPT)  # Gallery
        self.assertEqual(train_web.swap_target_name(self.PROMPT, None, pool, random.Random(0)), self.PROMPT)
        done = self.PROMPT.replace("Previous actions:\nNone", "Previous actions:\nTYPE [1] -> type into [1] textbox: Last name")
        self.assertEqual(train_web.swap_target_name(done, 1, pool, random.Random(0)), done)

    def test_copy_step_and_schedule(self):
        pool = train_web.NamePool(self.POOL)
        prompt, answer = train_web.copy_step({"prompt": self.PROMPT, "answer": '{"ACTION": "TYPE", "MARK": 1, "VALUE": '
                                              '"Rossi"}', "target_mark": 1}, random.Random(5), 2, pool)
        names = self.lines(prompt)
        got = json.loads(answer)
        self.assertEqual(len(names), 2)
        self.assertEqual(got["VALUE"], "Rossi")
        self.assertIn(names[got["MARK"]][0], ("Company", "Email"))
        self.assertIn(f"as {names[got['MARK']][0]} and", prompt)
        args = type("A", (), {"text_lines": 2, "text_lines_grow": 100})
        self.assertEqual([train_web.text_lines(args, s) for s in (0, 99, 100, 5700, 5800)], [2, 2, 3, 59, None])
        args.text_lines = 0
        self.assertIsNone(train_web.text_lines(args, 0))

class ProjectorZeroInit(unittest.TestCase):
    def test_image_embeddings_start_as_the_row_separator_and_zeros(self):
        """--proj-zero-init (not yet validated on a GPU): an untrained tower puts zeros at the image positions, and
        the projector's last layer still gets a gradient."""
        import torch

        base = ["--data", "x", "--work", "x", "--hidden", "32", "--intermediate", "64", "--layers", "1", "--heads",
                "2", "--kv-heads", "1", "--vision-dims", "8,8,8,8", "--vision-depths", "1,1,1,1"]
        torch.manual_seed(0)
        pv = torch.randn(4, 3, 64, 64)
        zero, _ = train_web.build_model(train_web.parse_args(base + ["--proj-zero-init"]), 300, True)
        e = zero.image_embeds(pv, (2, 2), 1)  # 2x2 crops of 2x2 features: 4 rows of 4 features and a separator
        self.assertEqual(tuple(e.shape), (1, 4 * 5, 32))
        rows = e.reshape(4, 5, 32)
        self.assertTrue(torch.equal(rows[:, :4], torch.zeros(4, 4, 32)))
        self.assertTrue(torch.equal(rows[:, 4], zero.row_sep.reshape(1, 32).expand(4, 32)))
        (e * torch.randn_like(e)).sum().backward()
        self.assertGreater(float(zero.proj[2].weight.grad.abs().sum()), 0)
        plain, _ = train_web.build_model(train_web.parse_args(base), 300, True)
        self.assertGreater(float(plain.image_embeds(pv, (2, 2), 1).reshape(4, 5, 32)[:, :4].abs().mean()), 1e-3)
        self.assertIn("proj_zero_init", train_web.vars_config(train_web.parse_args(base + ["--proj-zero-init"])))
        self.assertNotIn("proj_zero_init", train_web.vars_config(train_web.parse_args(base)))  # old states resume


class PromptLoss(unittest.TestCase):
    def test_prompt_tokens_after_the_image_are_scored_when_asked(self):
        """--prompt-loss w: the loss is the answer's plus w times the next-token loss on the prompt after the image."""
        import torch
        import torch.nn.functional as F

        args = train_web.parse_args(["--data", "x", "--work", "x", "--hidden", "32", "--intermediate", "64",
                                     "--layers", "1", "--heads", "2", "--kv-heads", "1", "--vision-dims", "8,8,8,8",
                                     "--vision-depths", "1,1,1,1"])
        torch.manual_seed(0)
        model, _ = train_web.build_model(args, 300, True)
        batch = [{"pre": [1, 2], "post": [3, 4, 5, 6], "answer": [7, 8]}, {"pre": [1, 2], "post": [9, 10], "answer": [11]}]
        dev = torch.device("cpu")
        with torch.no_grad():
            plain, _ = train_web.forward_loss(model, None, batch, False, dev)
            both, exact = train_web.forward_loss(model, None, batch, False, dev, prompt_weight=0.5)
            logits = []
            for it in batch:
                ids = it["pre"] + it["post"] + it["answer"]
                x = model.llama.model.embed_tokens(torch.tensor([ids]))
                h = model.llama.model(inputs_embeds=x, attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                      position_ids=torch.arange(len(ids))[None]).last_hidden_state
                logits.append(model.llama.lm_head(h)[0])
            ans = F.cross_entropy(torch.cat([logits[0][5:7], logits[1][3:4]]), torch.tensor([7, 8, 11]))
            prm = F.cross_entropy(torch.cat([logits[0][2:5], logits[1][2:3]]), torch.tensor([4, 5, 6, 10]))
        self.assertAlmostEqual(float(plain), float(ans), places=4)
        self.assertAlmostEqual(float(both), float(ans + 0.5 * prm), places=4)
        self.assertEqual(len(exact), 2)  # the exact-answer flags stay the answers'


class WordVariants(unittest.TestCase):
    """--merge-word-variants: the mark list's `"Last` (split ` "` + `Last`) must reach the decoder as the task's ` Last`."""

    TOKENIZER = os.path.join(REPO, "tests", "assets", "tokenizer", "tokenizer.json")

    def setUp(self):
        with open(self.TOKENIZER, encoding="utf-8") as f:
            self.vocab = json.load(f)["model"]["vocab"]
        self.map = train_web.word_variant_map(self.TOKENIZER, 128263)

    def test_no_space_words_read_as_their_spaced_form(self):
        v = self.vocab
        for word in ("Last", "Accept", "Share", "Email"):
            self.assertEqual(self.map[v[word]], v["\u0120" + word], word)
        # spaced words, punctuation, digits (the marks), specials and words without a spaced form stay
        for tok in ("\u0120Last", "\"", "\u0120\"", "0", "12", "ricing"):
            self.assertEqual(self.map[v[tok]], v[tok], tok)
        for special in (128000, 128009, 128256, 128257, 128262):
            self.assertEqual(self.map[special], special)

    def test_merge_feeds_the_mapped_embedding(self):
        import torch

        args = train_web.parse_args(["--data", "x", "--work", "x", "--hidden", "32", "--intermediate", "64",
                                     "--layers", "1", "--heads", "2", "--kv-heads", "1", "--vision-dims", "8,8,8,8",
                                     "--vision-depths", "1,1,1,1"])
        model, _ = train_web.build_model(args, 128263, True, self.map)
        v = self.vocab
        item = {"pre": [128000, v["Last"]], "post": [v["\u0120Last"], v["Last"]], "answer": [v["Last"]]}
        img = torch.zeros(1, 3, 32)
        with torch.no_grad():
            x, _, _, spans, _ = train_web.merge(model, [item], img, with_answer=True)
        spaced = model.llama.model.embed_tokens.weight[v["\u0120Last"]]
        for pos in (1, 5, 6, 7):  # pre[1], post[0], post[1], answer[0]
            self.assertTrue(torch.equal(x[0, pos], spaced), pos)
        self.assertFalse(torch.equal(x[0, 0], spaced))
        # the head still scores every id apart: the answer can spell "Last" without the space
        self.assertFalse(torch.equal(model.llama.lm_head.weight[v["Last"]], spaced))

    def test_checkpoint_folds_the_map_into_the_embedding(self):
        """write_checkpoint (checkpoint_files.write_shards): the map is folded into the exported embedding table, the
        head keeps the trained table (untied); read back from the safetensors bytes with numpy."""
        import torch
        from test_safetensors_writer import read

        args = train_web.parse_args(["--data", "x", "--work", "x", "--hidden", "32", "--intermediate", "64",
                                     "--layers", "1", "--heads", "2", "--kv-heads", "1", "--vision-dims", "8,8,8,8",
                                     "--vision-depths", "1,1,1,1"])
        model, _ = train_web.build_model(args, 128263, True, self.map)
        table = model.llama.model.embed_tokens.weight.detach().numpy()
        with tempfile.TemporaryDirectory() as tmp:
            train_web.write_checkpoint(tmp, model, args, os.path.dirname(self.TOKENIZER))
            _, vision = read(os.path.join(tmp, "model-00001-of-00002.safetensors"))
            _, language = read(os.path.join(tmp, "model-00002-of-00002.safetensors"))
            with open(os.path.join(tmp, "config.json"), encoding="utf-8") as f:
                config = json.load(f)
            with open(os.path.join(tmp, "model.safetensors.index.json"), encoding="utf-8") as f:
                index = json.load(f)
        v = self.vocab
        embed = language["language_model.model.embed_tokens.weight"]
        np.testing.assert_array_equal(embed[v["Last"]], table[v["\u0120Last"]])
        np.testing.assert_array_equal(embed, table[self.map])
        np.testing.assert_array_equal(language["language_model.lm_head.weight"], table)
        np.testing.assert_array_equal(vision["multi_modal_projector.row_seperator"], model.row_sep.detach().numpy())
        self.assertFalse(config["text_config"]["tie_word_embeddings"])
        self.assertEqual(set(index["weight_map"]), set(vision) | set(language))
        self.assertEqual(index["metadata"]["total_size"],
                         sum(a.nbytes for a in vision.values()) + sum(a.nbytes for a in language.values()))


class TextProbe(unittest.TestCase):
    """text_probe.py: the prompt and answer cuts, its target groups, and the plain-Python tokenizer (pybpe.py) it and
    train_web.py --local-fallback use where the tokenizers package is missing."""

    PROMPT = ('<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n<image_start><image><image_end>\n'
              'Imagine ... bounding boxes.\nTask: press Share for Ada\nPrevious actions:\nNone\nCandidates:\n'
              '[0] link: Home\n[1] button: Share | in: Ada\n[2] button: Share | in: Alan\n[3] button: Edit\n'
              'What is the next action? Answer with JSON: {"ACTION": ...}<|eot_id|>')

    def test_rope_decoder_is_causal(self):
        import torch
        import text_probe

        torch.manual_seed(0)
        model = text_probe.build_model(50, 64, 16, 2, 2, rope=True)
        x = torch.randint(2, 50, (2, 12))
        y = x.clone()
        y[:, 8:] = (y[:, 8:] + 1) % 50  # later tokens changed
        a, b = model(x), model(y)
        self.assertEqual(tuple(a.shape), (2, 12, 50))
        torch.testing.assert_close(a[:, :8], b[:, :8])
        self.assertFalse(torch.allclose(a[:, 8:], b[:, 8:]))

    def test_number_after_moves_the_marks_behind_their_lines(self):
        import text_probe

        e = text_probe.number_after({"prompt": self.PROMPT, "answer": '{"ACTION": "CLICK", "MARK": 1}', "target_mark": 1})
        self.assertIn("Candidates:\nlink: Home [0]\nbutton: Share | in: Ada [1]\nbutton: Share | in: Alan [2]\n"
                      "button: Edit [3]\nWhat is the next action?", e["prompt"])
        self.assertEqual(e["probe_group"], "name shared, context tells")  # the original's group

    def test_answer_names_the_element(self):
        import text_probe

        e = {"prompt": self.PROMPT, "answer": '{"ACTION": "CLICK", "MARK": 1}', "target_mark": 1}
        self.assertEqual(text_probe.name_the_element(e)["answer"],
                         '{"ACTION": "CLICK", "ELEMENT": "button: Share | in: Ada", "MARK": 1}')

    def test_loss_all_scores_the_prompt_too(self):
        import text_probe

        item = {"prompt": [10, 11, 12], "answer": [13, 14], "mark_at": 1}
        vocab = type("V", (), {"inputs": staticmethod(lambda ids: ids), "compact": staticmethod(lambda ids: ids)})
        x, y = text_probe.batch_tensors([item], vocab)
        self.assertEqual(y.tolist(), [[-100, -100, 13, 14]])
        x, y = text_probe.batch_tensors([item], vocab, whole=True)
        self.assertEqual((x.tolist(), y.tolist()), ([[10, 11, 12, 13]], [[11, 12, 13, 14]]))

    def test_cuts(self):
        import text_probe

        self.assertEqual(text_probe.cut_prompt(self.PROMPT),
                         "Task: press Share for Ada\nPrevious actions:\nNone\nCandidates:\n[0] link: Home\n"
                         "[1] button: Share | in: Ada\n[2] button: Share | in: Alan\n[3] button: Edit\n")
        with self.assertRaises(ValueError):
            text_probe.cut_prompt("<image>\nIn this view I need to click Share")
        self.assertEqual(text_probe.cut_answer('{"ACTION": "TYPE", "MARK": 12, "VALUE": "Ada 3"}'),
                         '{"ACTION": "TYPE", "MARK": 12')
        self.assertEqual(text_probe.cut_answer('{"ACTION": "CLICK", "MARK": 1}'), '{"ACTION": "CLICK", "MARK": 1')
        self.assertIsNone(text_probe.cut_answer('{"ACTION": "SCROLL", "VALUE": "DOWN"}'))

    def test_groups(self):
        import text_probe

        g = text_probe.probe_group
        self.assertEqual(g({"prompt": self.PROMPT, "target_mark": 0}), "name unique")
        self.assertEqual(g({"prompt": self.PROMPT, "target_mark": 3}), "name unique")
        self.assertEqual(g({"prompt": self.PROMPT, "target_mark": 1}), "name shared, context tells")
        self.assertEqual(g({"prompt": self.PROMPT, "target_mark": None}), "no target")
        twins = self.PROMPT.replace("| in: Alan", "| in: Ada")
        self.assertEqual(g({"prompt": twins, "target_mark": 2}), "list, shared name")

    def test_python_bpe_matches_the_js_oracle(self):
        import unicodedata

        import pybpe

        bpe = pybpe.PyBPE(os.path.join(REPO, "tests", "assets", "tokenizer", "tokenizer.json"))
        with open(os.path.join(REPO, "tests", "assets", "tokenizer", "js-oracle.json"), encoding="utf-8") as f:
            cases = json.load(f)
        checked = 0
        for case in cases:
            # Python's re has no \p{N}: numbers other than decimal digits (½, Ⅻ) read as letters (not in the data)
            if any(unicodedata.category(c) in ("No", "Nl") for c in case["text"]):
                continue
            self.assertEqual(bpe.encode(case["text"], add_special_tokens=False).ids, case["ids"], case["text"])
            self.assertEqual(bpe.decode(case["ids"]), case["text"])
            checked += 1
        self.assertGreater(checked, 400)
        self.assertEqual(bpe.encode("Task: x").ids[0], 128000)  # the post-processor's BOS
        # the mark list and the task now give a name the same tokens (docs/web.md, 'The mark list')
        task, line = bpe.encode(" Last name", False).ids, bpe.encode("[0] textbox: Last name", False).ids
        self.assertEqual(line[-len(task):], task)


@unittest.skipUnless(DATA, "set TRAIN_WEB_DATA to a tools/web-datagen output folder")
class WithData(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="train-web-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_pack_round_trip(self):
        out = os.path.join(self.tmp, "parts")
        webpack.pack([DATA], out, "train", 0.5, 2, 0)
        parts = sorted(os.listdir(out))
        self.assertGreater(len(parts), 1)  # 2-page blocks in 0.5 MiB parts: several parts
        source = {e["id"]: e for e in webpack.read_examples(DATA)}
        seen = set()
        for p in parts:
            folder = os.path.join(out, p)
            manifest = webpack.load_manifest(folder)
            images = webpack.part_images(folder, manifest)
            for e in webpack.part_examples(folder):
                self.assertNotIn(e["id"], seen)
                seen.add(e["id"])
                self.assertEqual({k: v for k, v in e.items() if k != "set"}, source[e["id"]])
                png = webpack.decode_png(os.path.join(DATA, e["image"]))
                np.testing.assert_array_equal(images[f"{e['set']}/{e['image']}"], png)
        self.assertEqual(seen, set(source))

    def test_training_loop_resumes(self):
        data = os.path.join(self.tmp, "data")
        os.makedirs(data)
        os.symlink(os.path.abspath(DATA), os.path.join(data, "train-x"))
        work = os.path.join(self.tmp, "work")
        base = [sys.executable, os.path.join(HERE, "train_web.py"), "--data", data, "--work", work, "--local-fallback",
                "--max-pages", "2", "--hidden", "32", "--intermediate", "64", "--layers", "1", "--heads", "2",
                "--kv-heads", "1", "--vision-dims", "8,8,8,8", "--vision-depths", "1,1,1,1", "--batch-size", "2",
                "--no-export", "--max-new-tokens", "2"]
        # no held-out folder here: the report has no accuracy, the loop and the state still work
        r = subprocess.run(base + ["--max-steps", "2", "--stop-after", "0.001"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)  # stopped before its first step, state saved
        r = subprocess.run(base + ["--max-steps", "2"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        report = json.load(open(os.path.join(work, "report.json")))
        self.assertEqual(report["training"]["steps"], 2)
        # the fallback tokenizes with the real vocabulary, so --merge-word-variants (on by default) stays on
        self.assertIn("pybpe.PyBPE", report["tokenizer"])
        self.assertIn("token ids read as their space-prefixed form", r.stdout)
        self.assertTrue(os.path.exists(os.path.join(work, "loss.png")))
        # a larger budget resumes from the state: one more step
        r = subprocess.run(base + ["--max-steps", "3"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("resumed from", r.stdout)
        self.assertEqual(json.load(open(os.path.join(work, "report.json")))["training"]["steps"], 3)
        # text-only steps first (--text-warmup): no screenshot, the action_json prompts alone
        r = subprocess.run(base + ["--max-steps", "2", "--work", work + "-text", "--text-warmup", "60",
                                   "--text-batch-size", "3", "--text-lines", "2", "--text-swap-names",
                                   "--prompt-loss", "0.5"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("without the screenshot, batch 3, mark lists shuffled and renumbered", r.stdout)
        self.assertIn("copy curriculum on the text-only steps: mark lists of 2 lines, the target's name swapped", r.stdout)
        text_report = json.load(open(os.path.join(work + "-text", "report.json")))
        self.assertEqual(text_report["training"]["examples_seen"], 6)
        self.assertTrue(math.isfinite(text_report["history"][-1]["raw"]))
        # other model settings are refused
        r = subprocess.run(base + ["--max-steps", "3", "--layers", "2"], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("other settings", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
