"""Tests of safetensors_writer.py and checkpoint_files.write_shards, with numpy (and torch where installed):

    cd tools/export && /usr/bin/python3 -m unittest -v test_safetensors_writer

Files are read back by parsing the format itself (8-byte little-endian header length, JSON header, raw bytes), not
with the safetensors package (this development machine has none). Three byte strings are the format's own
serialization test vectors (safetensors/src/tensor.rs: test_serialization, test_serialization_forced_alignement,
test_empty), so the layout is checked against what safetensors writes, not only against this reader.
"""
import json
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checkpoint_files import LANGUAGE_SHARD, VISION_SHARD, magma_shards, write_shards  # noqa: E402
from safetensors_writer import save_file  # noqa: E402

try:
    import torch
except ImportError:  # the numpy tests still run
    torch = None

NUMPY_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
                "U8": "u1", "BOOL": "?", "BF16": "<u2"}  # BF16 as its bit pattern


def read(path: str) -> tuple[dict, dict]:
    """(header, {name: numpy array}) parsed from the bytes; checks the layout rules a reader relies on."""
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    assert n % 8 == 0, n
    head = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    arrays, end = {}, 0
    for name, info in head.items():
        if name == "__metadata__":
            continue
        begin, stop = info["data_offsets"]
        assert begin == end, (name, begin, end)  # back to back, in header order
        arrays[name] = np.frombuffer(data[begin:stop], dtype=NUMPY_DTYPES[info["dtype"]]).reshape(info["shape"])
        end = stop
    assert end == len(data), (end, len(data))  # nothing after the last tensor
    return head, arrays


def bf16_to_f32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


class FormatVectors(unittest.TestCase):
    """The bytes safetensors itself writes for these inputs."""

    DATA = bytes([0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64])

    def write(self, tensors, metadata=None) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "x.safetensors")
            save_file(tensors, path, metadata)
            with open(path, "rb") as f:
                return f.read()

    def test_one_tensor(self):
        x = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
        self.assertEqual(self.write({"attn.0": x}),
                         bytes([64, 0, 0, 0, 0, 0, 0, 0]) +
                         b'{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}' + self.DATA)

    def test_header_padded_to_eight_bytes(self):
        x = np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3)
        self.assertEqual(self.write({"attn0": x}),
                         bytes([72, 0, 0, 0, 0, 0, 0, 0]) +
                         b'{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}' + b" " * 7 + self.DATA)

    def test_empty_and_metadata(self):
        self.assertEqual(self.write({}), bytes([8, 0, 0, 0, 0, 0, 0, 0]) + b"{}" + b" " * 6)
        self.assertEqual(self.write({}, {"framework": "pt"}),
                         bytes([40, 0, 0, 0, 0, 0, 0, 0]) + b'{"__metadata__":{"framework":"pt"}}' + b" " * 5)


class RoundTrip(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.tmp.name, "x.safetensors")

    def tearDown(self):
        self.tmp.cleanup()

    def test_numpy_dtypes_order_and_values(self):
        rng = np.random.default_rng(1)
        tensors = {"b.f32": rng.standard_normal((3, 5)).astype(np.float32),
                   "a.f32": rng.standard_normal(7).astype(np.float32),
                   "i64": np.array([[-1, 2**40]], dtype=np.int64), "mask": np.array([True, False, True]),
                   "half": rng.standard_normal((2, 2)).astype(np.float16), "u8": np.arange(5, dtype=np.uint8),
                   "scalar": np.array(2.5, dtype=np.float64), "empty": np.zeros((0, 4), dtype=np.float32),
                   "transposed": np.arange(12, dtype=np.int32).reshape(3, 4).T}  # not contiguous
        total = save_file(tensors, self.path, {"format": "pt"})
        head, arrays = read(self.path)
        self.assertEqual(head["__metadata__"], {"format": "pt"})
        self.assertEqual(list(head)[0], "__metadata__")
        # safetensors' order: dtype, widest first in its enum (I64 > F64 > F32 > I32 > F16 > U8 > BOOL), then name
        self.assertEqual([k for k in head if k != "__metadata__"],
                         ["i64", "scalar", "a.f32", "b.f32", "empty", "transposed", "half", "u8", "mask"])
        for name, x in tensors.items():
            self.assertEqual(head[name]["shape"], list(x.shape), name)
            np.testing.assert_array_equal(arrays[name], x, err_msg=name)
        self.assertEqual(total, sum(x.nbytes for x in tensors.values()))

    @unittest.skipIf(torch is None, "torch not installed")
    def test_torch_tensors_bf16_and_views(self):
        g = torch.Generator().manual_seed(2)
        w = torch.randn(4, 6, generator=g, requires_grad=True)
        tensors = {"w": w, "w_t": w.detach().t(), "row": w.detach()[1], "bf": torch.randn(3, 3, generator=g).bfloat16(),
                   "ids": torch.tensor([3, 1, 2])}
        total = save_file(tensors, self.path)
        head, arrays = read(self.path)
        self.assertNotIn("__metadata__", head)
        self.assertEqual([k for k in head], ["ids", "row", "w", "w_t", "bf"])
        self.assertEqual({k: v["dtype"] for k, v in head.items()}, {"ids": "I64", "row": "F32", "w": "F32",
                                                                      "w_t": "F32", "bf": "BF16"})
        np.testing.assert_array_equal(arrays["w"], w.detach().numpy())
        np.testing.assert_array_equal(arrays["w_t"], w.detach().t().numpy())
        np.testing.assert_array_equal(arrays["row"], w.detach()[1].numpy())
        np.testing.assert_array_equal(bf16_to_f32(arrays["bf"]), tensors["bf"].float().numpy())
        np.testing.assert_array_equal(arrays["ids"], [3, 1, 2])
        self.assertEqual(total, sum(t.numel() * t.element_size() for t in tensors.values()))

    def test_unsupported_dtype_is_refused(self):
        with self.assertRaises(ValueError):
            save_file({"c": np.zeros(2, dtype=np.complex128)}, self.path)
        with self.assertRaises(ValueError):
            save_file({"be": np.zeros(2, dtype=">f4")}, self.path)


@unittest.skipIf(torch is None, "torch not installed")
class Shards(unittest.TestCase):
    """checkpoint_files.magma_shards + write_shards: Magma's key names, two shards, the index."""

    def test_magma_checkpoint_round_trip(self):
        torch.manual_seed(3)
        llama = torch.nn.Module()
        llama.model = torch.nn.Module()
        llama.model.embed_tokens = torch.nn.Embedding(10, 4)
        llama.lm_head = torch.nn.Linear(4, 10, bias=False)
        llama.lm_head.weight = llama.model.embed_tokens.weight  # tied: left out
        trunk = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 2, 2))
        proj = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.GELU(), torch.nn.Linear(4, 4))
        row_sep = torch.nn.Parameter(torch.randn(1, 1, 4))
        shards = magma_shards(llama, trunk, proj, row_sep)
        self.assertEqual(list(shards[VISION_SHARD]),
                         ["vision_tower.clip_vision_model.trunk.0.weight", "vision_tower.clip_vision_model.trunk.0.bias",
                          "multi_modal_projector.proj.0.weight", "multi_modal_projector.proj.0.bias",
                          "multi_modal_projector.proj.2.weight", "multi_modal_projector.proj.2.bias",
                          "multi_modal_projector.row_seperator"])
        self.assertEqual(list(shards[LANGUAGE_SHARD]), ["language_model.model.embed_tokens.weight"])
        with tempfile.TemporaryDirectory() as folder:
            total = write_shards(folder, shards)
            with open(os.path.join(folder, "model.safetensors.index.json"), encoding="utf-8") as f:
                index = json.load(f)
            expected = {k: file for file, tensors in shards.items() for k in tensors}
            self.assertEqual(index["weight_map"], expected)
            self.assertEqual(list(index["weight_map"]), list(expected))  # the order given
            self.assertEqual(index["metadata"]["total_size"], total)
            self.assertEqual(total, 4 * sum(t.numel() for tensors in shards.values() for t in tensors.values()))
            for file, tensors in shards.items():
                head, arrays = read(os.path.join(folder, file))
                self.assertEqual(head["__metadata__"], {"format": "pt"})
                self.assertEqual(set(arrays), set(tensors))
                for k, t in tensors.items():
                    np.testing.assert_array_equal(arrays[k], t.detach().numpy(), err_msg=k)


if __name__ == "__main__":
    unittest.main(verbosity=2)
