"""The LLaMA-3 / Magma tokenizer.json in plain Python, for machines without the `tokenizers` package (Debian's python3
on the development machine): train_web.py --local-fallback and text_probe.py read the real vocabulary through it.
test_train_web.py checks it against tests/assets/tokenizer/js-oracle.json (the JS tokenizer's ids for 400+ texts).
"""
from __future__ import annotations

import functools
import json
import re
import types


def _byte_chars() -> dict[int, str]:
    """GPT-2's byte -> printable character table (the ByteLevel pre-tokenizer)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + \
        list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


class PyBPE:
    """The LLaMA-3 tokenizer.json (byte-level BPE, ignore_merges, added tokens split first, BOS prepended with
    add_special_tokens) in plain Python, with the two methods train_web.Tokens uses of tokenizers.Tokenizer.
    Python's `re` has no \\p{L}/\\p{N}: letters are [^\\W\\d_] and numbers \\d, the same sets for the text here
    (ASCII plus a few symbols such as '▾'); js-oracle.json checks it."""

    def __init__(self, path: str):
        with open(path, encoding="utf-8") as f:
            t = json.load(f)
        self.vocab: dict[str, int] = t["model"]["vocab"]
        merges = t["model"]["merges"]
        self.ranks = {tuple(m.split(" ")) if isinstance(m, str) else tuple(m): i for i, m in enumerate(merges)}
        self.added = {a["content"]: a["id"] for a in t["added_tokens"]}
        self.bos = self.added["<|begin_of_text|>"]
        self.id_to_str = {i: s for s, i in self.vocab.items()}
        self.id_to_str.update({i: s for s, i in self.added.items()})
        self.b2u = _byte_chars()
        self.u2b = {c: b for b, c in self.b2u.items()}
        self.special = re.compile("(" + "|".join(re.escape(k) for k in sorted(self.added, key=len, reverse=True)) + ")")
        nl = r"(?:[^\r\n\w]|_)"  # [^\r\n\p{L}\p{N}]
        sym = r"(?:[^\s\w]|_)"  # [^\s\p{L}\p{N}]
        self.pre = re.compile(r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|" + nl + r"?[^\W\d_]+|\d{1,3}| ?" + sym +
                              r"+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

    @functools.lru_cache(maxsize=None)
    def _word(self, word: str) -> tuple[int, ...]:
        if word in self.vocab:  # ignore_merges
            return (self.vocab[word],)
        parts = list(word)
        while len(parts) > 1:
            best = None
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                break
            i = best[1]
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        return tuple(self.vocab[p] for p in parts)

    def encode(self, text: str, add_special_tokens: bool = True):
        ids = [self.bos] if add_special_tokens else []
        for seg in self.special.split(text):
            if seg in self.added:
                ids.append(self.added[seg])
            elif seg:
                for w in self.pre.findall(seg):
                    ids += self._word("".join(self.b2u[b] for b in w.encode("utf-8")))
        return types.SimpleNamespace(ids=ids)

    def encode_batch(self, texts, add_special_tokens: bool = True):
        return [self.encode(t, add_special_tokens) for t in texts]

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        out, raw = [], bytearray()
        for i in ids:
            s = self.id_to_str[i]
            if s in self.added:
                out.append(raw.decode("utf-8", "replace"))
                raw = bytearray()
                if not skip_special_tokens:
                    out.append(s)
            else:
                raw += bytes(self.u2b[c] for c in s)
        out.append(raw.decode("utf-8", "replace"))
        return "".join(out)
