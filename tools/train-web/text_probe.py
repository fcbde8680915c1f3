#!/usr/bin/python3
"""Text-only probe (issue 20): can a small causal decoder learn to copy the mark number from the agent's step prompt?

    /usr/bin/python3 tools/train-web/text_probe.py --data /work/main/.gpu/train21 --minutes 20 --out out/text-probe/orig.json
    /usr/bin/python3 tools/train-web/text_probe.py --data /work/main/.gpu/train21 --minutes 20 --merge-word-variants \\
        --out out/text-probe/merge.json
    /usr/bin/python3 tools/train-web/text_probe.py --data /work/main/.gpu/train21 --minutes 20 --loss mark \\
        --out out/text-probe/mark.json          # the loss on the mark token alone
    /usr/bin/python3 tools/train-web/text_probe.py --table out/text-probe/*.json     # the tables again
    python3 tools/train-web/text_probe.py --data <parts> --device cuda --hidden 128 --layers 4 --batch-size 64 \\
        --minutes 3 --out out/text-probe/gpu.json  # on a GPU machine (not tried yet)

No screenshot, no vision tower, no Magma architecture: the `action_json` examples (single steps and episode steps)
of web-datagen folders or webpack parts (train_web.find_sources; split as train_web: a part's manifest, a folder
named heldout*), cut to the part of the prompt that names the target (`cut_prompt`: `Task: ...`, `Previous
actions: ...`, `Candidates: ...`, without the chat template, the image placeholder and the fixed answer-format
paragraph), followed by the answer up to and including the mark number (`{"ACTION": "CLICK", "MARK": 10`, the rest of
the answer, the VALUE, is not trained; answers without a MARK, DONE and SCROLL, are trained whole with <|eot_id|>).
The loss is on the answer tokens only. Tokens are the real LLaMA-3 tokenizer's (train_web.Tokens; where the Python
package `tokenizers` is missing, as in Debian's python3 here, `pybpe.PyBPE` reads tokenizer.json itself, checked against
tests/assets/tokenizer/js-oracle.json by test_train_web.py), mapped onto a compact vocabulary of the ids in the
training data (ids seen only in the held-out data read as one unknown id). --merge-word-variants reads input ids
through train_web.word_variant_map, as train_web.py does (the head still predicts the tokenizer's ids).

Model: learned positions + torch's pre-norm TransformerEncoderLayer with a causal mask + tied head (default hidden
64, 2 layers, 4 heads: what fits this 2-core CPU with a generic BLAS; the same size as the one-off check in
docs/web-model.md, item 5). AdamW, linear warm-up, cosine over --minutes of wall time (the schedule follows the
fraction of the budget used).

Every --eval-every steps: held-out mark right with the answer teacher-forced up to `"MARK": ` (one forward pass per
example, the argmax of the next token), by train_web.target_group. At the end: the same on all held-out examples,
and greedy decoding from the answer's start (the action must be produced too), scored by train_web.score
(read_answer on the answer cut after the mark, closed with `}`). Prints a table and writes it with the history to
--out (JSON; put it under out/, which git ignores).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train_web  # noqa: E402
import webpack  # noqa: E402

GROUPS = ("name unique", "name shared, context tells", "list, shared name", "no target")
PROMPT_PART = re.compile(r"(Task: .*?\nCandidates:\n.*?\n)What is the next action", re.S)
MARK_PREFIX = re.compile(r'"MARK": \d+')


def log(msg: str) -> None:
    print(f"[text-probe {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------------------------

def load_examples(paths: list[str]) -> dict[str, list[dict]]:
    """action_json examples by split, without the screenshots (train_web.load_data decodes every PNG: minutes)."""
    sets: dict[str, list[dict]] = {"train": [], "val": [], "heldout": []}
    for kind, folder in train_web.find_sources(paths):
        if kind == "part":
            split = webpack.load_manifest(folder)["split"]
            examples = webpack.part_examples(folder)
        else:
            split = train_web.folder_split(folder)
            name = os.path.basename(os.path.normpath(folder))
            examples = [dict(e, set=name) for e in webpack.read_examples(folder)]
        sets[split] += [e for e in examples if e["style"] == "action_json"]
    return sets


def cut_prompt(prompt: str) -> str:
    """The part of the step prompt that names the target: from `Task:` to the end of the mark list (its last
    newline included). Everything else (chat template, system line, <image>, the answer-format paragraph) is the same
    in every example and only costs attention time on this CPU."""
    m = PROMPT_PART.search(prompt)
    if not m:
        raise ValueError("prompt without 'Task: ... Candidates: ... What is the next action'")
    return m.group(1)


def cut_answer(answer: str) -> str | None:
    """The answer up to and including the mark number (`{"ACTION": "CLICK", "MARK": 10`), None when it has no mark."""
    m = MARK_PREFIX.search(answer)
    return answer[:m.end()] if m else None


def probe_group(example: dict) -> str:
    """train_web.target_group, with 'list, unique name' split by whether the name alone is unique in the mark list
    ('name unique') or only the name with its `| in:` context is ('name shared, context tells')."""
    group = train_web.target_group(example)
    if group != "list, unique name":
        return group
    names = train_web.mark_names(cut_prompt(example["prompt"]).split("\nCandidates:\n", 1)[1])
    mark = example["target_mark"]
    if mark not in names or [n for n, _ in names.values()].count(names[mark][0]) == 1:
        return "name unique"
    return "name shared, context tells"


def name_the_element(example: dict) -> dict:
    """--answer-name: the answer names the target's mark line before its number (`{"ACTION": "CLICK", "ELEMENT":
    "link: Deals", "MARK": 1`), so that the mark is read next to a name the answer has just written (a one-hop
    lookup in the list) instead of from the task (two hops)."""
    mark = example.get("target_mark")
    m = MARK_PREFIX.search(example["answer"])
    if mark is None or not m:
        return example
    lines = cut_prompt(example["prompt"]).split("\nCandidates:\n", 1)[1].split("\n")
    line = next((l[len(f"[{mark}] "):] for l in lines if l.startswith(f"[{mark}] ")), None)
    if line is None:
        return example
    at = example["answer"].rindex('"MARK"', 0, m.end())
    element = json.dumps(line, ensure_ascii=False)
    return dict(example, answer=f'{example["answer"][:at]}"ELEMENT": {element}, {example["answer"][at:]}')


def number_after(example: dict) -> dict:
    """--number-after: each mark line's number moved behind it (`textbox: Last name | required [4]`), so that the
    mark follows the name the task repeats: the copy becomes an induction-head lookup (find the earlier name, take
    what comes after it). A probe of the list format, not the agent's format. The target group is the original's."""
    m = train_web.CANDIDATES.search(example["prompt"])
    if not m:
        return example
    lines = [f"{line[k.end():]} [{k.group(1)}]" if (k := train_web.MARK_LINE_NUMBER.match(line)) else line
             for line in m.group(2).split("\n")]
    prompt = example["prompt"][:m.start(2)] + "\n".join(lines) + example["prompt"][m.end(2):]
    return dict(example, prompt=prompt, probe_group=example.get("probe_group") or probe_group(example),
                numbered_prompt=example["prompt"])


def copy_keep(args, step: int) -> int | None:
    """--copy-lines K --copy-grow S: the list length at this step (None: whole lists)."""
    return train_web.list_length(args.copy_lines, args.copy_grow, step)


def renumbered(example: dict, rng: random.Random, keep: int | None = None, pool=None) -> dict:
    """--renumber: train_web.renumber_marks's variant of the example, its target mark moved along (with a name pool,
    train_web.copy_step: the target's name swapped first)."""
    prompt, answer = train_web.copy_step(example, rng, keep, pool)
    m = MARK_PREFIX.search(answer)
    return dict(example, prompt=prompt, answer=answer,
                target_mark=int(m.group(0).rsplit(" ", 1)[1]) if m else example.get("target_mark"))


def encode(examples: list[dict], tokens: train_web.Tokens) -> list[dict]:
    """Per example: prompt ids (BOS + cut prompt), answer ids (cut after the mark, or whole + <|eot_id|>), the
    length of the answer before the mark token (for the teacher-forced check) and the target group."""
    prompts = tokens.prompts([cut_prompt(e["prompt"]) for e in examples])
    full = tokens.answers([e["answer"] for e in examples])
    cuts = [cut_answer(e["answer"]) for e in examples]
    cut_ids = tokens.answers([c or "" for c in cuts])
    out = []
    for e, p, a, c, ci in zip(examples, prompts, full, cuts, cut_ids):
        item = {"ex": e, "prompt": p, "group": e.get("probe_group") or probe_group(e), "mark_at": None}
        if c is None:
            item["answer"] = a
        else:
            ci = ci[:-1]  # no <|eot_id|>: training stops at the mark
            if a[:len(ci)] != ci:
                raise SystemExit(f"{e['id']}: the cut answer's ids are not a prefix of the answer's ids")
            item["answer"] = ci
            item["mark_at"] = len(ci) - 1  # the mark is one token (numbers split in 3-digit runs, marks < 1000)
            if tokens.decode(ci[-1:]).strip() != str(e["target_mark"]):
                raise SystemExit(f"{e['id']}: mark {e['target_mark']} is not the answer's last token")
        out.append(item)
    return out


# ---------------------------------------------------------------------------------------------------------------
# model
# ---------------------------------------------------------------------------------------------------------------

def build_model(vocab: int, max_len: int, hidden: int, layers: int, heads: int, rope: bool = False):
    import torch
    from torch import nn

    if rope:
        return rope_model(vocab, hidden, layers, heads)

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, hidden)
            self.pos = nn.Embedding(max_len, hidden)
            layer = nn.TransformerEncoderLayer(hidden, heads, 4 * hidden, 0.0, activation="gelu", batch_first=True,
                                               norm_first=True)
            self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(hidden)
            nn.init.normal_(self.embed.weight, std=0.02)
            nn.init.normal_(self.pos.weight, std=0.02)

        def forward(self, x, sel=None):
            t = x.shape[1]
            h = self.embed(x) + self.pos(torch.arange(t, device=x.device))[None]
            mask = torch.triu(torch.full((t, t), float("-inf"), device=x.device), 1)
            h = self.norm(self.blocks(h, mask=mask))
            return (h if sel is None else h[sel]) @ self.embed.weight.T  # tied head (sel: those positions only)

    return Decoder()


def rope_model(vocab: int, hidden: int, layers: int, heads: int):
    """The probe's decoder with rotary positions (θ 500,000 as LLaMA-3) in pre-norm blocks: a fixed-offset look back
    ("the mark number three tokens before this name") is then the same at every position."""
    import torch
    from torch import nn

    dh = hidden // heads
    inv = 1.0 / (500000.0 ** (torch.arange(0, dh, 2).float() / dh))

    def rotate(x):
        f = torch.outer(torch.arange(x.shape[-2], device=x.device).float(), inv.to(x.device))
        c, s = f.cos(), f.sin()
        x1, x2 = x[..., 0::2], x[..., 1::2]
        return torch.stack((x1 * c - x2 * s, x1 * s + x2 * c), -1).flatten(-2)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
            self.qkv, self.out = nn.Linear(hidden, 3 * hidden), nn.Linear(hidden, hidden)
            self.mlp = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.GELU(), nn.Linear(4 * hidden, hidden))

        def forward(self, x):
            b, t, _ = x.shape
            q, k, v = self.qkv(self.n1(x)).view(b, t, 3, heads, dh).permute(2, 0, 3, 1, 4)
            w = (rotate(q) @ rotate(k).transpose(-1, -2)) / dh ** 0.5
            w = w.masked_fill(torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
            a = w.softmax(-1) @ v
            x = x + self.out(a.transpose(1, 2).reshape(b, t, hidden))
            return x + self.mlp(self.n2(x))

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, hidden)
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.norm = nn.LayerNorm(hidden)
            nn.init.normal_(self.embed.weight, std=0.02)

        def forward(self, x, sel=None):
            h = self.embed(x)
            for block in self.blocks:
                h = block(h)
            h = self.norm(h)
            return (h if sel is None else h[sel]) @ self.embed.weight.T  # tied head (sel: those positions only)

    return Decoder()


class Vocab:
    """Compact ids: 0 pad, 1 unknown (ids not in the training data), then the training data's ids (inputs through
    the word-variant map when given, answers as they are)."""

    def __init__(self, train: list[dict], input_map: list[int] | None):
        self.map = input_map
        ids = set()
        for it in train:
            ids.update(self.inputs(it["prompt"] + it["answer"]))
            ids.update(it["answer"])
        self.index = {t: i + 2 for i, t in enumerate(sorted(ids))}
        self.size = len(self.index) + 2

    def inputs(self, ids: list[int]) -> list[int]:
        return [self.map[t] for t in ids] if self.map else ids

    def compact(self, ids: list[int]) -> list[int]:
        return [self.index.get(t, 1) for t in ids]


def bucketed(items: list[dict], batch: int, rng: random.Random, window: int = 20) -> list[list[dict]]:
    """One epoch of batches: shuffled, sorted by length within windows of `window` batches (less padding: the
    CPU time of a batch follows its longest example), batches in random order."""
    order = items[:]
    rng.shuffle(order)
    out = []
    for s in range(0, len(order) - batch + 1, batch * window):
        part = sorted(order[s:s + batch * window], key=lambda it: len(it["prompt"]) + len(it["answer"]))
        out += [part[i:i + batch] for i in range(0, len(part) - batch + 1, batch)]
    rng.shuffle(out)
    return out


def batch_tensors(items: list[dict], vocab: Vocab, answer_len=None, mark_only: bool = False, whole: bool = False):
    """Inputs (prompt + answer, shifted), targets (-100 but on answer tokens), right-padded. answer_len(it) cuts the
    answer (teacher-forced check: up to the mark)."""
    import torch

    seqs, tgts = [], []
    for it in items:
        a = it["answer"] if answer_len is None else it["answer"][:answer_len(it)]
        ids = it["prompt"] + a
        x = vocab.compact(vocab.inputs(ids[:-1]))
        y = [-100] * (len(it["prompt"]) - 1) + vocab.compact(a)
        if whole:  # --loss all: next-token loss on the prompt too (the list's numbers 0, 1, 2... teach the look back)
            y = vocab.compact(ids[1:])
        if mark_only:  # --loss mark: the mark token alone (the one-off check of docs/web-model.md, item 5)
            y = [-100] * (len(it["prompt"]) - 1 + it["mark_at"]) + [y[len(it["prompt"]) - 1 + it["mark_at"]]]
        seqs.append(x)
        tgts.append(y)
    t = max(len(s) for s in seqs)
    x = torch.zeros(len(items), t, dtype=torch.long)
    y = torch.full((len(items), t), -100, dtype=torch.long)
    for i, (s, g) in enumerate(zip(seqs, tgts)):
        x[i, :len(s)] = torch.tensor(s)
        y[i, :len(g)] = torch.tensor(g)
    return x, y


def teacher_forced(model, items: list[dict], vocab: Vocab, batch: int = 32) -> list[bool | None]:
    """Per example: is the argmax after `"MARK": ` (gold answer fed up to there) the target mark (None: no mark)."""
    import torch

    with_mark = [it for it in items if it["mark_at"] is not None]
    right = {}
    model.eval()
    with torch.no_grad():
        for s in range(0, len(with_mark), batch):
            chunk = with_mark[s:s + batch]
            x, _ = batch_tensors(chunk, vocab, answer_len=lambda it: it["mark_at"] + 1)
            logits = model(x.to(next(model.parameters()).device)).cpu()
            for i, it in enumerate(chunk):
                pos = len(it["prompt"]) + it["mark_at"] - 1
                right[id(it)] = int(logits[i, pos].argmax()) == vocab.compact([it["answer"][it["mark_at"]]])[0]
    model.train()
    return [right.get(id(it)) for it in items]


def greedy(model, items: list[dict], vocab: Vocab, tokens: train_web.Tokens, max_new: int = 24, batch: int = 32):
    """Greedy answers from the answer's start, stopped at <|eot_id|> or after the mark number."""
    import torch

    back = {c: t for t, c in vocab.index.items()}
    texts = []
    model.eval()
    with torch.no_grad():
        for s in range(0, len(items), batch):
            chunk = items[s:s + batch]
            gen = [[] for _ in chunk]
            done = [False] * len(chunk)
            for _ in range(max_new):
                seqs = [vocab.compact(vocab.inputs(it["prompt"] + g)) for it, g in zip(chunk, gen)]
                t = max(len(q) for q in seqs)
                x = torch.zeros(len(chunk), t, dtype=torch.long)
                for i, q in enumerate(seqs):
                    x[i, :len(q)] = torch.tensor(q)
                logits = model(x.to(next(model.parameters()).device)).cpu()
                for i, q in enumerate(seqs):
                    if done[i]:
                        continue
                    tok = back.get(int(logits[i, len(q) - 1].argmax()), train_web.EOT)  # pad/unknown: stop
                    if tok == train_web.EOT:
                        done[i] = True
                        continue
                    gen[i].append(tok)
                    if re.search(r'"MARK": \d+$', tokens.decode(gen[i])):
                        done[i] = True
                if all(done):
                    break
            texts += [tokens.decode(g) for g in gen]
    model.train()
    return [t + "}" if re.search(r"\d$", t) else t for t in texts]


def by_group(items: list[dict], ok: list) -> dict:
    out = {}
    for g in GROUPS + ("all with a mark",):
        sel = [o for it, o in zip(items, ok) if o is not None and (it["group"] == g or g == "all with a mark"
                                                                   and it["mark_at"] is not None)]
        out[g] = {"n": len(sel), "right": round(sum(sel) / len(sel), 4) if sel else None}
    return out


def print_table(report: dict) -> None:
    """The end-of-run table (also: /usr/bin/python3 tools/train-web/text_probe.py --table out/text-probe/x.json)."""
    final, a = report["final"], report["args"]
    print(f"\ntext probe: {report['steps']} steps ({report['epochs']} epochs of {report['data']['train']} examples) in "
          f"{report['train_minutes']:.1f} min, merge word variants {a['merge_word_variants']}, loss on "
          f"{a.get('loss', 'answer')}")
    print(f"{'held-out group':<28}{'n tf':>6}{'teacher-forced mark':>21}{'n greedy':>10}{'greedy mark':>13}"
          f"{'greedy action':>15}")
    fmt = lambda v: "-" if v["right"] is None else f"{100 * v['right']:.1f} %"  # noqa: E731
    for g in GROUPS + ("all with a mark",):
        tf, gm, ga = (final[k][g] for k in ("teacher_forced_mark_right", "greedy_mark_right", "greedy_action_right"))
        print(f"{g:<28}{tf['n']:>6}{fmt(tf):>21}{ga['n']:>10}{fmt(gm):>13}{fmt(ga):>15}")
    print(f"no target, greedy answer right (action, and SCROLL's direction): {final['greedy_no_target_correct']}")


# ---------------------------------------------------------------------------------------------------------------

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="+", required=True, help="folders holding web-datagen folders and/or webpack parts")
    ap.add_argument("--tokenizer", default=os.path.join(train_web.REPO, "tests", "assets", "tokenizer"))
    ap.add_argument("--out", required=True, help="JSON report (under out/)")
    ap.add_argument("--minutes", type=float, default=20.0, help="training wall time (the schedule follows it)")
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--max-len", type=int, default=320, help="training examples longer than this are left out")
    ap.add_argument("--eval-every", type=int, default=200, help="steps between teacher-forced held-out checks")
    ap.add_argument("--eval-examples", type=int, default=256, help="held-out examples of the periodic check")
    ap.add_argument("--greedy-examples", type=int, default=200,
                    help="held-out examples decoded greedily at the end (0: all; ~0.6 s each here)")
    ap.add_argument("--loss", choices=["answer", "mark", "all"], default="answer",
                    help="answer: every answer token; mark: the mark token alone, on examples with a mark; all: "
                         "every token, the prompt's too (session 9: it made the toy copy of copy_sanity.py learnable)")
    ap.add_argument("--renumber", action="store_true",
                    help="train on train_web.renumber_marks variants, drawn anew at every step")
    ap.add_argument("--curriculum", type=int, default=0,
                    help="with --renumber: lists cut to this many lines at first, whole lists from half the budget on")
    ap.add_argument("--copy-lines", type=int, default=0,
                    help="copy curriculum (train_web.copy_step, implies --renumber): mark lists cut to this many "
                         "lines at first (the answer's and the previous actions' lines always kept)")
    ap.add_argument("--copy-grow", type=int, default=0,
                    help="with --copy-lines: one more line every this many steps (0: the lists stay short)")
    ap.add_argument("--swap-names", action="store_true",
                    help="training steps get their target's name swapped for another (train_web.swap_target_name)")
    ap.add_argument("--number-after", action="store_true",
                    help="mark numbers behind their lines (number_after): is the list format the obstacle?")
    ap.add_argument("--rope", action="store_true", help="rotary positions (as the LLaMA decoder) instead of learned ones")
    ap.add_argument("--answer-name", action="store_true",
                    help="the answer names the target's mark line before the mark (name_the_element)")
    ap.add_argument("--merge-word-variants", action="store_true", help="train_web.word_variant_map on the inputs")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="e.g. cuda (the same probe, many more steps, on a GPU machine)")
    ap.add_argument("--seed", type=int, default=21)
    return ap.parse_args(argv)


def main(argv=None) -> int:
    if argv is None and sys.argv[1:2] == ["--table"]:
        for path in sys.argv[2:]:
            with open(path, encoding="utf-8") as f:
                print_table(json.load(f))
        return 0
    import torch
    import torch.nn.functional as F

    args = parse_args(argv)
    if args.copy_lines:
        args.renumber = True
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    t0 = time.time()
    tokens = train_web.Tokens(args.tokenizer, fallback=True)  # tokenizers where installed, else pybpe.PyBPE
    sets = load_examples(args.data)
    if args.answer_name:
        sets = {k: [name_the_element(e) for e in v] for k, v in sets.items()}
    if args.number_after:  # training examples per step after renumbering when --renumber (it reads `[N] ` lines)
        sets = {k: [number_after(e) for e in v] if k != "train" or not args.renumber else v for k, v in sets.items()}
    train = encode(sets["train"], tokens)
    held_all = encode(sets["heldout"], tokens)
    held = [it for it in held_all if len(it["prompt"]) + len(it["answer"]) <= args.max_len]
    long = [it for it in train if len(it["prompt"]) + len(it["answer"]) > args.max_len]
    train = [it for it in train if len(it["prompt"]) + len(it["answer"]) <= args.max_len
             and (args.loss != "mark" or it["mark_at"] is not None)]
    input_map = train_web.word_variant_map(os.path.join(args.tokenizer, "tokenizer.json"), train_web.PAD) \
        if args.merge_word_variants else None
    vocab = Vocab(train, input_map)
    unknown = sum(t not in vocab.index for it in held for t in vocab.inputs(it["prompt"] + it["answer"]))
    max_len = args.max_len + 24
    lengths = sorted(len(it["prompt"]) + len(it["answer"]) for it in train)
    data_note = {"tokenizer": tokens.note, "train": len(train), "train_left_out_longer": len(long),
                 "heldout": len(held), "heldout_left_out_longer": len(held_all) - len(held), "heldout_by_group": {g: sum(it["group"] == g for it in held) for g in GROUPS},
                 "train_by_group": {g: sum(it["group"] == g for it in train) for g in GROUPS},
                 "vocab": vocab.size, "heldout_unknown_tokens": unknown,
                 "train_tokens_median": lengths[len(lengths) // 2], "train_tokens_max": lengths[-1]}
    log(f"data in {time.time() - t0:.0f}s: {json.dumps(data_note)}")
    model = build_model(vocab.size, max_len, args.hidden, args.layers, args.heads, args.rope).to(args.device)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.01)
    log(f"model: hidden {args.hidden}, {args.layers} layers, {args.heads} heads, {params} parameters; "
        f"merge word variants {args.merge_word_variants}; loss on {args.loss}; {args.minutes} minutes")

    history, order, ema = [], [], None
    budget, start, step = args.minutes * 60, time.time(), 0

    probe = rng.sample(held, min(args.eval_examples, len(held)))
    pool = train_web.NamePool(sets["train"]) if args.swap_names else None

    def check(items):
        tf = by_group(items, teacher_forced(model, items, vocab))
        row = {"step": step, "examples": step * args.batch_size, "minutes": round((time.time() - start) / 60, 2),
               "loss": round(ema, 4) if ema is not None else None, "teacher_forced_mark_right": tf}
        keep = copy_keep(args, step)
        if keep is not None:  # the same held-out steps at the curriculum's current list length (fixed draw)
            short = [renumbered(dict(it["ex"], prompt=it["ex"].get("numbered_prompt", it["ex"]["prompt"])),
                                random.Random(7 + i), keep) for i, it in enumerate(items)]
            short = encode([number_after(e) if args.number_after else e for e in short], tokens)
            row["short_lists"] = {"lines": keep, **by_group(short, teacher_forced(model, short, vocab))}
        history.append(row)
        log(f"held-out at step {step} ({row['minutes']} min, loss {row['loss']}): teacher-forced mark right " +
            ", ".join(f"{g} {v['right']} of {v['n']}" for g, v in tf.items() if v["n"]) +
            (f"; with {keep} lines: " + ", ".join(f"{g} {v['right']}" for g, v in row["short_lists"].items()
                                                  if g != "lines" and v["n"]) if keep is not None else ""))

    while True:
        used = time.time() - start
        if used >= budget or (args.max_steps and step >= args.max_steps):
            break
        frac = used / budget if not args.max_steps else step / args.max_steps
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(frac, 1))))
        for g in opt.param_groups:
            g["lr"] = lr
        if not order:
            order = bucketed(train, args.batch_size, rng)
        chunk = order.pop()
        if args.renumber:  # the same steps with their mark lists shuffled and renumbered: no answer from memory
            # --curriculum K: lists cut to K lines at first, growing to whole lists at half the budget
            # --copy-lines K [--copy-grow S]: K lines, one more every S steps (train_web.copy_step)
            keep = args.curriculum + int(frac / 0.5 * 40) if args.curriculum else copy_keep(args, step)
            chunk = encode([number_after(renumbered(it["ex"], rng, keep, pool)) if args.number_after
                            else renumbered(it["ex"], rng, keep, pool) for it in chunk], tokens)
        x, y = batch_tensors(chunk, vocab, mark_only=args.loss == "mark", whole=args.loss == "all")
        x, y = x.to(args.device), y.to(args.device)
        sel = y != -100  # the head only where there is a target (most of a step's time on this CPU otherwise)
        loss = F.cross_entropy(model(x, sel), y[sel])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        ema = float(loss) if ema is None else 0.95 * ema + 0.05 * float(loss)
        if step % args.eval_every == 0:
            check(probe)
    train_minutes = (time.time() - start) / 60
    check(held)  # the final check: every held-out example

    g_items = rng.sample(held, min(args.greedy_examples, len(held))) if args.greedy_examples else held
    if args.loss == "mark":
        g_items = []  # nothing but the mark was trained: no greedy answers
    t1 = time.time()
    texts = greedy(model, g_items, vocab, tokens)
    scores = [train_web.score(it["ex"], t) for it, t in zip(g_items, texts)]
    actions = [(train_web.read_answer("action_json", t) or {}).get("action") == it["ex"]["action"]
               for it, t in zip(g_items, texts)]
    final = {
        "teacher_forced_mark_right": history[-1]["teacher_forced_mark_right"],
        "greedy_mark_right": by_group(g_items, [s["mark_ok"] if it["mark_at"] is not None else None
                                                for it, s in zip(g_items, scores)]),
        "greedy_action_right": by_group(g_items, actions),
        "greedy_no_target_correct": by_group(g_items, [s["correct"] if it["mark_at"] is None else None
                                                       for it, s in zip(g_items, scores)])["no target"],
        "greedy_minutes": round((time.time() - t1) / 60, 2),
        "samples": [{"id": it["ex"]["id"], "group": it["group"], "answer": it["ex"]["answer"], "got": t}
                    for it, t in list(zip(g_items, texts))[:12]],
    }
    report = {"args": vars(args), "data": data_note, "parameters": params, "steps": step,
              "examples_seen": step * args.batch_size, "epochs": round(step * args.batch_size / len(train), 2),
              "train_minutes": round(train_minutes, 2), "history": history, "final": final}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)

    print_table(report)
    print(f"report: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
