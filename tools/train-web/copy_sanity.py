#!/usr/bin/python3
"""The smallest copy task, to tell a model that cannot copy from a recipe that does not teach it (session 9):

    /usr/bin/python3 tools/train-web/copy_sanity.py rope 3 3e-3                 # the answer's loss alone
    /usr/bin/python3 tools/train-web/copy_sanity.py rope 3 3e-3 full            # next-token loss on every position
    /usr/bin/python3 tools/train-web/copy_sanity.py learned 3 3e-3 full steps=2500

A toy vocabulary of 60 ids shaped like the agent's step: `Task <name> \\n` then N lines `[ <k> ] <name> \\n` (k = 0..N-1
in order, N distinct names of 30), then `MARK :`; the answer is the number of the line that holds the task's name.
The model is text_probe.py's (hidden 64, 2 layers, 4 heads; `rope` or `learned` positions), batch 32, AdamW as the
probe. `after`: the number behind the name (`<name> [ <k> ]`). `full`: the loss on every next token, the prompt's
too (the numbers 0, 1, 2 of the list are then predictable from the line before). Prints the accuracy on 256 fresh
examples every 250 steps; stops at 98 %.
"""
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import text_probe as tp  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(0)
rope = sys.argv[1] == "rope"
lines = int(sys.argv[2])
lr = float(sys.argv[3])
after = "after" in sys.argv[4:]
full = "full" in sys.argv[4:]
steps = int(([a[6:] for a in sys.argv[4:] if a.startswith("steps=")] or ["3000"])[0])
V = 60  # 0 pad, 1 '[', 2 ']', 3 '\n', 4 'Task', 5 ':', 6 'MARK', 10..29 numbers, 30..59 names
rng = random.Random(0)


def example():
    names = rng.sample(range(30, 60), lines)
    t = rng.randrange(lines)
    seq = [4, names[t], 3]
    for i, w in enumerate(names):
        seq += [w, 1, 10 + i, 2, 3] if after else [1, 10 + i, 2, w, 3]
    return seq + [6, 5], 10 + t


m = tp.build_model(V, 128, 64, 2, 4, rope)
opt = torch.optim.AdamW(m.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.01)
t0 = time.time()
for step in range(1, steps + 1):
    b = [example() for _ in range(32)]
    x = torch.tensor([s for s, _ in b])
    y = torch.tensor([a for _, a in b])
    if full:  # next-token loss on every position (the list's numbers, the names) and the answer
        loss = F.cross_entropy(m(x).reshape(-1, V), torch.cat([x[:, 1:], y[:, None]], 1).reshape(-1))
    else:
        sel = torch.zeros_like(x, dtype=torch.bool)
        sel[:, -1] = True
        loss = F.cross_entropy(m(x, sel), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 250 == 0:
        with torch.no_grad():
            b = [example() for _ in range(256)]
            x = torch.tensor([s for s, _ in b])
            acc = float((m(x)[:, -1].argmax(-1) == torch.tensor([a for _, a in b])).float().mean())
        print(f"step {step} loss {float(loss):.3f} acc {acc:.3f} {time.time() - t0:.0f}s", flush=True)
        if acc > 0.98:
            break
