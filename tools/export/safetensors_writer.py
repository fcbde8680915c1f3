"""A safetensors file written without the safetensors package: byte for byte what safetensors.torch.save_file writes.

The format: an 8-byte little-endian header length N, N bytes of JSON header (padded with spaces to a multiple of 8,
so that the data starts aligned), then the raw little-endian tensor bytes back to back. The header maps each name to
{"dtype", "shape", "data_offsets": [begin, end]} (offsets into the data), plus an optional "__metadata__" of strings
first. safetensors (since 0.3, 2023) orders the tensors by dtype, widest first in its Dtype enum's order, then by
name, and writes the JSON compactly; doing the same here gives identical files.

Why by hand: the writer is a few lines, and the development machine has torch and numpy but no safetensors, so the
seeded checkpoints of make_tiny_model.py, check_real_widths.py and train_web.py (through
checkpoint_files.write_shards) can be written and tested there too (test_safetensors_writer.py reads a file back by
parsing its bytes with numpy). Standard library only at import; tensors are torch tensors or numpy arrays.
"""
from __future__ import annotations

import json
import sys

# safetensors' Dtype enum in declaration order (its sort key), for the types torch and numpy share; name -> tag
_ORDER = ["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"]
_TAGS = {"bool": "BOOL", "uint8": "U8", "int8": "I8", "int16": "I16", "uint16": "U16", "float16": "F16",
         "bfloat16": "BF16", "int32": "I32", "uint32": "U32", "float32": "F32", "float64": "F64", "int64": "I64",
         "uint64": "U64"}


def _flat_bytes(t) -> tuple[str, list[int], object]:
    """(dtype tag, shape, a uint8 numpy view of the data without a copy where the tensor is already contiguous)."""
    name = str(t.dtype).removeprefix("torch.")
    if name not in _TAGS:
        raise ValueError(f"safetensors_writer: unsupported dtype {t.dtype}")
    shape = [int(d) for d in t.shape]
    if hasattr(t, "detach"):  # torch: numpy has no bfloat16, so bf16 travels as its int16 bit pattern
        t = t.detach().cpu().contiguous()
        if name == "bfloat16":
            import torch

            t = t.view(torch.int16)
        t = t.numpy()
    elif t.dtype.byteorder == ">":
        raise ValueError("safetensors_writer: big-endian array (the format is little-endian)")
    if not t.flags.c_contiguous:
        t = t.copy(order="C")
    return _TAGS[name], shape, t.reshape(-1).view("u1")


def header(tensors: dict, metadata: dict[str, str] | None = None) -> tuple[bytes, list[tuple[str, object]]]:
    """The 8-byte length + padded JSON header, and the (name, uint8 data) pairs in the file's order."""
    items = []
    for key, t in tensors.items():
        tag, shape, data = _flat_bytes(t)
        items.append((key, tag, shape, data))
    items.sort(key=lambda it: (-_ORDER.index(it[1]), it[0].encode("utf-8")))
    head: dict = {}
    if metadata is not None:
        head["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    for key, tag, shape, data in items:
        head[key] = {"dtype": tag, "shape": shape, "data_offsets": [offset, offset + data.size]}
        offset += data.size
    text = json.dumps(head, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text, [(key, data) for key, _, _, data in items]


def save_file(tensors: dict, path: str, metadata: dict[str, str] | None = None) -> int:
    """Writes tensors (name -> torch tensor or numpy array, any device) to path; returns the data bytes (the sum of
    the tensors' sizes, what model.safetensors.index.json calls total_size)."""
    if sys.byteorder != "little":
        raise RuntimeError("safetensors_writer: little-endian hosts only")
    head, items = header(tensors, metadata)
    total = 0
    with open(path, "wb") as f:
        f.write(head)
        for _, data in items:
            f.write(data)
            total += data.size
    return total
