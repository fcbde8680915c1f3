#!/usr/bin/env python3
"""Writes tests/assets/tokenizer/chat-goldens.json: conversations rendered by jinja2 with the chat_template of
tests/assets/tokenizer/tokenizer_config.json, the way transformers' apply_chat_template renders it
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks; tokenize=False)."""
import json
import pathlib

from jinja2.sandbox import ImmutableSandboxedEnvironment

root = pathlib.Path(__file__).resolve().parents[2]
assets = root / "tests" / "assets" / "tokenizer"
config = json.loads((assets / "tokenizer_config.json").read_text(encoding="utf-8"))
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
template = env.from_string(config["chat_template"])

system = "You are agent that can see, talk and act."
conversations = [
    [("system", system), ("user", "<image_start><image><image_end>\nWhat is the letter on the robot?")],
    [("system", system), ("user", "<image>\nWhat action should the robot take to pick up the black bowl?")],
    [("user", "  What is 1+1?  \n")],
    [("system", "\t sys \u00a0"), ("user", "\x1c\x1d hi \x1e\x1f"), ("assistant", " Sure. "), ("user", "\u3000again\u2028\u0085")],
    [("system", system), ("user", "")],
    [("user", "\u200bzero-width is not whitespace\u200b"), ("assistant", "\ufeffBOM is not whitespace\ufeff")],
]
cases = []
for conv in conversations:
    messages = [{"role": r, "content": c} for r, c in conv]
    for gen in (True, False):
        rendered = template.render(messages=messages, bos_token=config["bos_token"], add_generation_prompt=gen)
        cases.append({"messages": messages, "add_generation_prompt": gen, "rendered": rendered})
(assets / "chat-goldens.json").write_text(json.dumps(cases, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
print(f"wrote {len(cases)} cases")
