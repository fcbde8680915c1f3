#!/usr/bin/env python3
"""Quantize an exported Magma package's decoder weights to 4 bits (ONNX Runtime's com.microsoft.MatMulNBits).

    python3 tools/export/quantize_package.py --package /models/magma-fp16 --out /models/magma-int4 \
        [--block-size 32|64|128] [--zero-points] [--lm-head int4|int8|float] [--embed int8|float] [--accuracy-level N]

Works on the exporter's output (tools/export/export_magma.py) with numpy and onnx only; torch, when it is installed
with a GPU, only makes the arithmetic faster (same formulas, same bytes). What changes:

* every decoder MatMul whose B is a 2-D weight [K, N] becomes MatMulNBits(A, B_q, scales[, zero_points]) with
  bits = 4, the given block size along K, and the activation dtype of the source package (fp16 for CUDA, fp32 for
  CPU) for A, the scales and the output;
* the LM head (the MatMul that writes `logits`; for a tied head the embedding table itself): 4 or 8 bits through
  MatMulNBits, or left in the source float type;
* the embedding table (embed.onnx): int8 with one scale per row (Gather, Cast, Mul), or left as it is;
* vision.onnx and its weights are copied unchanged (fp16 in a CUDA package, fp32 in a CPU one).

Layout (the operator's documented contract): B_q is uint8 [N, K/block, block*bits/8], element k of a block in the low
nibble of byte k/2 when k is even and the high nibble when odd (4 bits); scales [N * K/block] in the activation type;
zero points, when asked for, uint8 [N, ceil(K/block * bits / 8)] packed the same way (absent: 8 for 4 bits, 128 for
8 bits). Symmetric blocks map the signed value of largest magnitude to -8 (-128): scale = that value / -8,
q = clamp(round(w / scale) + 8, 0, 15). With zero points: scale = (max - min) / 15 over the block with 0 included,
zp = clamp(round(-min / scale), 0, 15). Dequantised w = (q - zp) * scale.

The manifest keeps `dtype` (the activation type the engine binds) and gains a `quantization` object; the self-check
(`quantization_check.json`) holds the relative reconstruction error of every quantized matrix
(||W - deq(Q(W))||_F / ||W||_F) and, where the onnxruntime Python package is installed, the last-position logits of
the source and the quantized decoder on the same random input.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_graph import EXTERNAL_MIN_BYTES, MS_DOMAIN, ExternalStore  # noqa: E402

_ONNX_TO_NP = {
    TensorProto.FLOAT: np.float32,
    TensorProto.FLOAT16: np.float16,
    TensorProto.INT64: np.int64,
    TensorProto.INT32: np.int32,
    TensorProto.INT8: np.int8,
    TensorProto.UINT8: np.uint8,
    TensorProto.BOOL: np.bool_,
}
_NP_TO_ELEM = {np.dtype(v): k for k, v in _ONNX_TO_NP.items()}
# Files of an exported package that the quantizer rewrites; everything else is copied.
REWRITTEN = {"decoder.onnx", "embed.onnx", "text.data", "magma.json"}


def log(msg: str) -> None:
    print(f"[quantize] {msg}", flush=True)


# ----------------------------------------------------------------------------------------------------------------
# Block-wise quantization (numpy reference; torch on a GPU when available, same formulas)

def _torch_device():
    try:
        import torch  # noqa: PLC0415
    except ImportError:
        return None
    return torch.device("cuda") if torch.cuda.is_available() else None


def quantize_blockwise(w_nk: np.ndarray, bits: int, block: int, symmetric: bool, device=None, scale_dtype=np.float32,
                       k_major: bool = False):
    """W [N, K] (float; [K, N] when k_major, as a MatMul stores it) -> (q uint8 [N, blocks, block*bits/8],
    scales float32 [N, blocks], zp uint8 [N, zp_bytes] | None, relative Frobenius reconstruction error)."""
    if device is not None:
        return _quantize_blockwise_torch(w_nk, bits, block, symmetric, device, np.dtype(scale_dtype) == np.float16, k_major)
    if k_major:
        w_nk = np.asarray(w_nk).T
    n, k = w_nk.shape
    blocks = -(-k // block)
    pad = blocks * block - k
    levels = (1 << bits) - 1
    mid = 1 << (bits - 1)
    w = np.asarray(w_nk, dtype=np.float32)
    if pad:
        w = np.pad(w, ((0, 0), (0, pad)))
    w = w.reshape(n, blocks, block)
    if symmetric:
        idx = np.abs(w).argmax(axis=2)[..., None]
        extreme = np.take_along_axis(w, idx, axis=2)[..., 0]
        scale = (extreme / np.float32(-mid)).astype(scale_dtype).astype(np.float32)  # the scale as stored
        safe = np.where(scale == 0, np.float32(1), scale)
        q = np.clip(np.round(w / safe[..., None]) + mid, 0, levels)
        zp = np.full((n, blocks), mid, dtype=np.float32)
    else:
        lo = np.minimum(w.min(axis=2), 0).astype(np.float32)
        hi = np.maximum(w.max(axis=2), 0).astype(np.float32)
        scale = ((hi - lo) / np.float32(levels)).astype(scale_dtype).astype(np.float32)
        safe = np.where(scale == 0, np.float32(1), scale)
        zp = np.clip(np.round(-lo / safe), 0, levels)
        q = np.clip(np.round(w / safe[..., None]) + zp[..., None], 0, levels)
    deq = (q - zp[..., None]) * scale[..., None]
    err = float(np.linalg.norm((deq - w).ravel()) / max(np.linalg.norm(w.ravel()), 1e-30))
    q = q.astype(np.uint8)
    if bits == 4:
        q = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    zp_packed = None if symmetric else _pack_zero_points(zp.astype(np.uint8), bits)
    return q, scale, zp_packed, err


def _quantize_blockwise_torch(w_nk: np.ndarray, bits: int, block: int, symmetric: bool, device, half_scale: bool,
                              k_major: bool):
    import warnings  # noqa: PLC0415

    import torch  # noqa: PLC0415
    with warnings.catch_warnings():  # the memory-mapped weights are read-only; torch only reads them here
        warnings.simplefilter("ignore", UserWarning)
        w = torch.from_numpy(np.ascontiguousarray(w_nk)).to(device).float()
    w = w.T if k_major else w
    n, k = w.shape
    blocks = -(-k // block)
    pad = blocks * block - k
    levels = (1 << bits) - 1
    mid = 1 << (bits - 1)
    if pad:
        w = torch.nn.functional.pad(w, (0, pad))
    w = w.reshape(n, blocks, block)
    if symmetric:
        idx = w.abs().argmax(dim=2, keepdim=True)
        extreme = torch.gather(w, 2, idx)[..., 0]
        scale = extreme / -mid
        scale = scale.half().float() if half_scale else scale
        safe = torch.where(scale == 0, torch.ones_like(scale), scale)
        q = torch.clamp(torch.round(w / safe[..., None]) + mid, 0, levels)
        zp = torch.full((n, blocks), float(mid), device=device)
    else:
        lo = torch.clamp(w.amin(dim=2), max=0)
        hi = torch.clamp(w.amax(dim=2), min=0)
        scale = (hi - lo) / levels
        scale = scale.half().float() if half_scale else scale
        safe = torch.where(scale == 0, torch.ones_like(scale), scale)
        zp = torch.clamp(torch.round(-lo / safe), 0, levels)
        q = torch.clamp(torch.round(w / safe[..., None]) + zp[..., None], 0, levels)
    deq = (q - zp[..., None]) * scale[..., None]
    err = float(torch.linalg.vector_norm((deq - w).double()) / torch.linalg.vector_norm(w.double()).clamp_min(1e-30))
    q = q.to(torch.uint8)
    if bits == 4:
        q = q[..., 0::2] | (q[..., 1::2] << 4)
    zp_packed = None if symmetric else _pack_zero_points(zp.to(torch.uint8).cpu().numpy(), bits)
    return q.cpu().numpy(), scale.cpu().numpy().astype(np.float32), zp_packed, err


def _pack_zero_points(zp: np.ndarray, bits: int) -> np.ndarray:
    if bits == 8:
        return np.ascontiguousarray(zp)
    n, blocks = zp.shape
    if blocks % 2:
        zp = np.pad(zp, ((0, 0), (0, 1)), constant_values=8)
    return (zp[:, 0::2] | (zp[:, 1::2] << 4)).astype(np.uint8)


def dequantize_blockwise(q: np.ndarray, scales: np.ndarray, zp: np.ndarray | None, k: int, n: int, bits: int,
                         block: int) -> np.ndarray:
    """MatMulNBits' B, scales and zero points (as stored) -> W [N, K] float32: the operator's documented arithmetic."""
    blocks = -(-k // block)
    q = np.asarray(q).reshape(n, blocks, -1)
    if bits == 4:
        vals = np.empty((n, blocks, block), np.float32)
        vals[..., 0::2] = q & 15
        vals[..., 1::2] = q >> 4
    else:
        vals = q.astype(np.float32)
    if zp is None:
        z = np.full((n, blocks), 1 << (bits - 1), np.float32)
    elif bits == 4:
        packed = np.asarray(zp).reshape(n, -1)
        z = np.empty((n, packed.shape[1] * 2), np.float32)
        z[:, 0::2] = packed & 15
        z[:, 1::2] = packed >> 4
        z = z[:, :blocks]
    else:
        z = np.asarray(zp).reshape(n, blocks).astype(np.float32)
    w = (vals - z[..., None]) * np.asarray(scales, dtype=np.float32).reshape(n, blocks)[..., None]
    return w.reshape(n, -1)[:, :k]


def write_dequantized_decoder(quantized: str, path: str) -> None:
    """The quantized package's decoder with every MatMulNBits turned back into a plain MatMul over the dequantized
    weights (inline, so only for small models): the reference the C# tests compare the MatMulNBits kernels against."""
    model = onnx.load(os.path.join(quantized, "decoder.onnx"), load_external_data=False)
    src = Tensors(quantized, model)
    graph = model.graph
    nodes, extra = [], []
    for node in graph.node:
        if node.op_type != "MatMulNBits":
            nodes.append(node)
            continue
        at = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        zp = src.array(node.input[3]) if len(node.input) > 3 and node.input[3] else None
        scales = src.array(node.input[2])
        w = dequantize_blockwise(src.array(node.input[1]), scales, zp, at["K"], at["N"], at["bits"], at["block_size"])
        name = node.name + "_dequantized"
        extra.append(numpy_helper.from_array(np.ascontiguousarray(w.T).astype(scales.dtype), name))
        nodes.append(helper.make_node("MatMul", [node.input[0], name], list(node.output), name=node.name + "_matmul"))
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(extra)
    _prune(graph)
    onnx.save_model(model, path)


def quantize_rows_int8(table: np.ndarray):
    """Embedding table [V, H] -> (int8 [V, H], float32 scales [V, 1], relative reconstruction error); symmetric per row."""
    t = np.asarray(table, dtype=np.float32)
    scale = (np.abs(t).max(axis=1, keepdims=True) / np.float32(127)).astype(np.float32)
    safe = np.where(scale == 0, np.float32(1), scale)
    q = np.clip(np.round(t / safe), -127, 127).astype(np.int8)
    err = float(np.linalg.norm((q * scale - t).ravel()) / max(np.linalg.norm(t.ravel()), 1e-30))
    return q, scale, err


# ----------------------------------------------------------------------------------------------------------------
# Reading and writing package tensors

class Tensors:
    """Initializers of one graph: inline ones decoded, external ones memory-mapped from the package folder."""

    def __init__(self, folder: str, model: onnx.ModelProto):
        self.folder = folder
        self.by_name = {t.name: t for t in model.graph.initializer}

    def array(self, name: str) -> np.ndarray:
        t = self.by_name[name]
        if t.data_location != TensorProto.EXTERNAL:
            return numpy_helper.to_array(t)
        info = {e.key: e.value for e in t.external_data}
        dtype = np.dtype(_ONNX_TO_NP[t.data_type])
        count = int(np.prod(t.dims)) if len(t.dims) else 1
        return np.memmap(os.path.join(self.folder, info["location"]), dtype=dtype, mode="r",
                         offset=int(info.get("offset", 0)), shape=tuple(t.dims) if len(t.dims) else (count,))

    @staticmethod
    def key(t: TensorProto):
        if t.data_location != TensorProto.EXTERNAL:
            return None
        info = {e.key: e.value for e in t.external_data}
        return info["location"], info.get("offset", "0")


class Writer:
    """New initializers for the output package: large ones appended to a weights file, tensors shared between graphs
    once; with cast=(from numpy type, to numpy type) every copied tensor of the first type is converted."""

    def __init__(self, out_dir: str, location: str = "text.data", cast: tuple | None = None):
        self.store = ExternalStore(out_dir, location)
        self.cast = cast
        self._copied: dict[tuple, TensorProto] = {}

    def _converted(self, array: np.ndarray) -> np.ndarray:
        if self.cast and array.dtype == np.dtype(self.cast[0]):
            return np.asarray(array).astype(self.cast[1])
        return array

    def tensor(self, name: str, array: np.ndarray) -> TensorProto:
        array = np.ascontiguousarray(array)
        if array.nbytes >= EXTERNAL_MIN_BYTES:
            return self.store.add(name, array)
        return numpy_helper.from_array(array, name)

    def copy(self, src: Tensors, name: str) -> TensorProto:
        """The same tensor in the new package (written once however many graphs use it)."""
        t = src.by_name[name]
        key = Tensors.key(t)
        if key is None:
            if self.cast and t.data_type == _NP_TO_ELEM[np.dtype(self.cast[0])]:
                return numpy_helper.from_array(self._converted(numpy_helper.to_array(t)), name)
            out = TensorProto()
            out.CopyFrom(t)
            return out
        if key not in self._copied:
            self._copied[key] = self.tensor(name, self._converted(src.array(name)))
        out = TensorProto()
        out.CopyFrom(self._copied[key])
        out.name = name
        return out

    def close(self) -> None:
        self.store.close()


def _prune(graph: onnx.GraphProto) -> None:
    """Drop nodes whose outputs nothing reads, then initializers nothing reads."""
    outputs = {o.name for o in graph.output}
    while True:
        used = {i for n in graph.node for i in n.input} | outputs
        dead = [n for n in graph.node if not any(o in used for o in n.output)]
        if not dead:
            break
        for n in dead:
            graph.node.remove(n)
    used = {i for n in graph.node for i in n.input}
    keep = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)


def _retype(model: onnx.ModelProto, cast: tuple | None) -> None:
    """The graph's float inputs, outputs and Cast targets from one float type to the other (weights: Writer.cast)."""
    if not cast:
        return
    src, dst = _NP_TO_ELEM[np.dtype(cast[0])], _NP_TO_ELEM[np.dtype(cast[1])]
    g = model.graph
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        if vi.type.tensor_type.elem_type == src:
            vi.type.tensor_type.elem_type = dst
    for n in g.node:
        for a in n.attribute:
            if n.op_type == "Cast" and a.name == "to" and a.i == src:
                a.i = dst
            elif a.type == onnx.AttributeProto.TENSOR and a.t.data_type == src:
                a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(cast[1]), a.t.name))


def _ensure_ms_opset(model: onnx.ModelProto) -> None:
    if not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))


# ----------------------------------------------------------------------------------------------------------------
# The package rewrite

def quantize_package(package: str, out_dir: str, block_size: int = 32, symmetric: bool = True, lm_head: str = "int8",
                     embed: str = "int8", accuracy_level: int | None = None, use_torch: bool = True,
                     check_logits: bool = True, activations: str | None = None) -> dict:
    t0 = time.time()
    if os.path.abspath(package) == os.path.abspath(out_dir):
        raise SystemExit("--out must be a new folder, not the source package")
    if block_size not in (16, 32, 64, 128, 256):
        raise SystemExit(f"--block-size {block_size}: MatMulNBits takes a power of two from 16 to 256")
    manifest_path = os.path.join(package, "magma.json")
    if not os.path.exists(manifest_path):
        raise SystemExit(f"{package}: no magma.json; pass the folder tools/export/export_magma.py wrote")
    manifest = json.load(open(manifest_path, encoding="utf-8"))
    if "quantization" in manifest:
        raise SystemExit(f"{manifest_path}: the package is already quantized ({manifest['quantization']}); start from the float export")
    source_dtype = manifest["dtype"]
    dtype = activations or source_dtype
    # float16 -> float32: a CPU package from the CUDA one (vision and projector too); the reverse for tests
    cast = None if dtype == source_dtype else ((np.float16, np.float32) if dtype == "float32" else (np.float32, np.float16))
    act_np = np.float16 if dtype == "float16" else np.float32
    act_elem = TensorProto.FLOAT16 if dtype == "float16" else TensorProto.FLOAT
    if accuracy_level is None:
        accuracy_level = 0 if dtype == "float16" else 4  # fp32 (CPU) packages: MLAS int8-compute kernels
    device = _torch_device() if use_torch else None
    log(f"{package} ({source_dtype}) -> {out_dir} ({dtype} activations): 4-bit blocks of {block_size}, {'symmetric' if symmetric else 'zero points'}, "
        f"LM head {lm_head}, embedding {embed}, accuracy_level {accuracy_level}, arithmetic on {device or 'numpy'}")

    os.makedirs(out_dir, exist_ok=True)
    rewritten = REWRITTEN | ({"vision.onnx", "vision.data", "export_check.json"} if cast else set())
    for name in sorted(os.listdir(package)):
        src = os.path.join(package, name)
        if name not in rewritten and os.path.isfile(src):
            shutil.copyfile(src, os.path.join(out_dir, name))
    if cast:
        vision = onnx.load(os.path.join(package, "vision.onnx"), load_external_data=False)
        vsrc = Tensors(package, vision)
        vwriter = Writer(out_dir, "vision.data", cast)
        try:
            new = [vwriter.copy(vsrc, t.name) for t in vision.graph.initializer]
        finally:
            vwriter.close()
        del vision.graph.initializer[:]
        vision.graph.initializer.extend(new)
        _retype(vision, cast)
        onnx.save_model(vision, os.path.join(out_dir, "vision.onnx"))
        onnx.checker.check_model(os.path.join(out_dir, "vision.onnx"))
        log(f"vision.onnx converted to {dtype}")

    writer = Writer(out_dir, cast=cast)
    matrices: list[dict] = []
    try:
        # embed.onnx first, so that an unchanged table lands where it was (offset 0 of text.data)
        embed_model = onnx.load(os.path.join(package, "embed.onnx"), load_external_data=False)
        embed_src = Tensors(package, embed_model)
        table = _gather_table(embed_model)
        embed_err = _rewrite_embed(embed_model, embed_src, writer, embed, act_np, act_elem)
        _retype(embed_model, cast)
        if embed_err is not None:
            matrices.append({"name": table, "role": "embed", "shape": list(embed_src.by_name[table].dims), "bits": 8,
                             "rel_error": embed_err})
        onnx.save_model(embed_model, os.path.join(out_dir, "embed.onnx"))

        dec_model = onnx.load(os.path.join(package, "decoder.onnx"), load_external_data=False)
        dec_src = Tensors(package, dec_model)
        _rewrite_decoder(dec_model, dec_src, writer, manifest["decoder"]["logits"], block_size, symmetric, lm_head,
                         accuracy_level, act_np, device, matrices)
        _retype(dec_model, cast)
        onnx.save_model(dec_model, os.path.join(out_dir, "decoder.onnx"))
    finally:
        writer.close()
    for name in ("embed.onnx", "decoder.onnx"):
        onnx.checker.check_model(os.path.join(out_dir, name))

    layer_errs = [m["rel_error"] for m in matrices if m.get("role") == "layer"]
    quant = {
        "method": "MatMulNBits",
        "bits": 4,
        "block_size": block_size,
        "symmetric": symmetric,
        "accuracy_level": accuracy_level,
        "lm_head": lm_head,
        "embed": embed,
        "source_dtype": source_dtype,
        "quantized_matrices": len([m for m in matrices if m.get("role") in ("layer", "lm_head")]),
    }
    manifest["quantization"] = quant
    manifest["dtype"] = dtype
    manifest["weights_files"] = [f for f in ("vision.data", "text.data") if os.path.exists(os.path.join(out_dir, f))]
    with open(os.path.join(out_dir, "magma.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")

    check = {"quantization": quant, "matrices": matrices,
             "layer_rel_error": {"max": max(layer_errs, default=0.0), "mean": float(np.mean(layer_errs)) if layer_errs else 0.0},
             "seconds": round(time.time() - t0, 1)}
    log(f"{len(matrices)} matrices: layer reconstruction error mean {check['layer_rel_error']['mean']:.4f}, "
        f"max {check['layer_rel_error']['max']:.4f}; written in {check['seconds']} s")
    if check_logits:
        check["logits"] = logits_check(package, out_dir, manifest)
    with open(os.path.join(out_dir, "quantization_check.json"), "w", encoding="utf-8") as f:
        json.dump(check, f, indent=2)
        f.write("\n")
    return check


def _gather_table(model: onnx.ModelProto) -> str:
    inits = {t.name for t in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Gather" and n.input[0] in inits:
            return n.input[0]
    raise SystemExit("embed.onnx: no Gather over an embedding table; is this the exporter's embed.onnx?")


def _rewrite_embed(model, src: Tensors, writer: Writer, embed: str, act_np, act_elem) -> float | None:
    table = _gather_table(model)
    graph = model.graph
    if embed == "float":
        new = [writer.copy(src, t.name) for t in graph.initializer]
        del graph.initializer[:]
        graph.initializer.extend(new)
        return None
    q, scale, err = quantize_rows_int8(src.array(table))
    gather = next(n for n in graph.node if n.op_type == "Gather" and n.input[0] == table)
    ids, out = gather.input[1], gather.output[0]
    nodes = [
        helper.make_node("Gather", [table + "_int8", ids], ["embed_rows_int8"], name="embed_gather_int8", axis=0),
        helper.make_node("Cast", ["embed_rows_int8"], ["embed_rows"], name="embed_cast", to=act_elem),
        helper.make_node("Gather", [table + "_scale", ids], ["embed_row_scale"], name="embed_gather_scale", axis=0),
        helper.make_node("Mul", ["embed_rows", "embed_row_scale"], [out], name="embed_scale"),
    ]
    others = [n for n in graph.node if n is not gather]
    del graph.node[:]
    graph.node.extend(others + nodes)
    keep = [writer.copy(src, t.name) for t in graph.initializer if t.name != table]
    del graph.initializer[:]
    graph.initializer.extend(keep + [writer.tensor(table + "_int8", q), writer.tensor(table + "_scale", scale.astype(act_np))])
    return err


def _rewrite_decoder(model, src: Tensors, writer: Writer, logits_name: str, block: int, symmetric: bool, lm_head: str,
                     accuracy_level: int, act_np, device, matrices: list) -> None:
    graph = model.graph
    producers = {o: n for n in graph.node for o in n.output}
    new_nodes = []
    new_inits: dict[str, TensorProto] = {}
    t_last = time.time()
    for node in graph.node:
        head = node.op_type == "MatMul" and node.output[0] == logits_name
        weight, transposed = None, False
        if node.op_type == "MatMul" and len(node.input) == 2:
            b = node.input[1]
            if b in src.by_name and len(src.by_name[b].dims) == 2:
                weight = b  # [K, N]
            elif head and b in producers and producers[b].op_type == "Transpose" and producers[b].input[0] in src.by_name:
                perm = [a.ints for a in producers[b].attribute if a.name == "perm"]
                if not perm or list(perm[0]) == [1, 0]:
                    weight, transposed = producers[b].input[0], True  # tied head: the table is already [N, K]
        if weight is None or (head and lm_head == "float"):
            new_nodes.append(node)
            continue
        bits = 8 if head and lm_head == "int8" else 4
        w = src.array(weight)  # [N, K] for a tied head, else [K, N]
        n, k = w.shape if transposed else w.shape[::-1]
        q, scale, zp, err = quantize_blockwise(w, bits, block, symmetric, device, act_np, k_major=not transposed)
        base = node.name or node.output[0]
        names = [node.input[0], base + "_Bq", base + "_scales"]
        new_inits[names[1]] = writer.tensor(names[1], q)
        new_inits[names[2]] = writer.tensor(names[2], scale.reshape(-1).astype(act_np))
        if zp is not None:
            names.append(base + "_zp")
            new_inits[names[3]] = writer.tensor(names[3], zp.reshape(-1))
        new_nodes.append(helper.make_node("MatMulNBits", names, list(node.output), name=base + "_nbits", domain=MS_DOMAIN,
                                          K=k, N=n, bits=bits, block_size=block, accuracy_level=accuracy_level))
        matrices.append({"name": weight, "role": "lm_head" if head else "layer", "shape": [k, n], "bits": bits, "rel_error": err})
        if time.time() - t_last > 10:
            log(f"{len(matrices)} matrices quantized")
            t_last = time.time()
    del graph.node[:]
    graph.node.extend(new_nodes)
    _prune(graph)
    kept = [writer.copy(src, t.name) for t in graph.initializer]
    del graph.initializer[:]
    graph.initializer.extend(kept + list(new_inits.values()))
    _ensure_ms_opset(model)
    if not any(m["role"] == "layer" for m in matrices):
        raise SystemExit("decoder.onnx: no MatMul with a 2-D weight found; is this the exporter's decoder.onnx?")


# ----------------------------------------------------------------------------------------------------------------
# Logits check (onnxruntime on the CPU, when installed)

def logits_check(package: str, quantized: str, manifest: dict, positions: int = 8, seed: int = 0) -> dict:
    try:
        import onnxruntime as ort  # noqa: PLC0415
    except ImportError:
        log("logits check skipped: the onnxruntime Python package is not installed "
            "(the C# tests compare the tiny int4 package's logits with PyTorch's instead)")
        return {"skipped": "onnxruntime not installed"}
    d = manifest["decoder"]
    rng = np.random.default_rng(seed)
    embed = ort.InferenceSession(os.path.join(package, "embed.onnx"), providers=["CPUExecutionProvider"])
    ids = rng.integers(0, manifest["tokens"]["base_vocab_size"], size=(1, positions), dtype=np.int64)
    x = embed.run(None, {manifest["embed"]["input"]: ids})[0]
    results = {}
    logits = {}
    for which, folder in (("source", package), ("quantized", quantized)):
        e = ort.InferenceSession(os.path.join(folder, "embed.onnx"), providers=["CPUExecutionProvider"])
        emb = e.run(None, {manifest["embed"]["input"]: ids})[0]
        if which == "quantized":
            results["embedding_rel_error"] = _rel(emb, x)
        act = np.float16 if json.load(open(os.path.join(folder, "magma.json")))["dtype"] == "float16" else np.float32
        s = ort.InferenceSession(os.path.join(folder, "decoder.onnx"), providers=["CPUExecutionProvider"])
        feed = {d["inputs_embeds"]: x.astype(act), d["attention_mask"]: np.ones((1, positions), dtype=np.int64)}
        if d.get("has_position_ids"):
            feed[d["position_ids"]] = np.arange(positions, dtype=np.int64)[None]
        empty = np.zeros((1, d["num_key_value_heads"], 0, d["head_dim"]), dtype=act)
        for i in range(d["num_layers"]):
            feed[d["past_key"].format(i)] = empty
            feed[d["past_value"].format(i)] = empty
        logits[which] = s.run([d["logits"]], feed)[0][0, -1].astype(np.float64)
    a, b = logits["quantized"], logits["source"]
    results.update({"positions": positions, "logits_rel_error": _rel(a, b),
                    "logits_max_abs_error": float(np.abs(a - b).max()), "logits_max_abs": float(np.abs(b).max()),
                    "same_argmax": bool(a.argmax() == b.argmax())})
    log(f"last-position logits vs the source package: rel {results['logits_rel_error']:.4f}, "
        f"max abs {results['logits_max_abs_error']:.4f} of {results['logits_max_abs']:.3f}, same argmax {results['same_argmax']}")
    return results


def _rel(a, b) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm((a - b).ravel()) / max(np.linalg.norm(b.ravel()), 1e-30))


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The quantization options (shared with export_magma.py --dtype int4)."""
    ap.add_argument("--block-size", type=int, choices=[32, 64, 128], default=32, help="4-bit block length along K")
    ap.add_argument("--zero-points", action="store_true", help="asymmetric blocks with a 4-bit zero point (default symmetric)")
    ap.add_argument("--lm-head", choices=["int4", "int8", "float"], default="int8",
                    help="LM head: MatMulNBits with 4 or 8 bits, or the package's float type")
    ap.add_argument("--embed", choices=["int8", "float"], default="int8",
                    help="embedding table: int8 rows with one scale each, or the package's float type")
    ap.add_argument("--accuracy-level", type=int, choices=[0, 1, 2, 3, 4], default=None,
                    help="MatMulNBits accuracy_level (4 = int8 compute on the CPU); default 4 for float32 packages, 0 for float16")


def add_int4_arguments(ap: argparse.ArgumentParser) -> None:
    """export_magma.py's options for --dtype int4."""
    ap.add_argument("--target", choices=["cuda", "cpu"], default="cuda",
                    help="int4 only: cuda = fp16 activations, vision and projector (MatMulNBits fp16 kernels); "
                         "cpu = fp32 ones with accuracy_level 4 (MatMulNBits int8-compute kernels)")
    ap.add_argument("--keep-unquantised", action="store_true",
                    help="int4 only: keep the float export the int4 package was made from (OUT.float)")
    add_arguments(ap)


def export_int4(export, args) -> dict:
    """export_magma.py --dtype int4: the float export for the target into OUT.float, quantized into OUT; the
    self-check compares the quantized decoder with that export (and the export with PyTorch, unless --skip-check)."""
    base = os.path.normpath(args.out) + ".float"
    float_dtype = "float16" if args.target == "cuda" else "float32"
    log(f"--dtype int4 --target {args.target}: {float_dtype} export into {base}, then 4-bit weights into {args.out}")
    export(args.checkpoint, base, float_dtype, not args.all_logits, not args.skip_check, args.model_id,
           args.vision_norm_eps, args.attention, not args.separate_qkv, fused_norm=not args.graph_norm,
           description=getattr(args, "description", None))
    check = quantize_package(base, args.out, args.block_size, not args.zero_points, args.lm_head, args.embed,
                             args.accuracy_level, check_logits=not args.skip_check)
    if not args.keep_unquantised:
        shutil.rmtree(base)
    return check


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--package", required=True, help="a float16 (for CUDA) or float32 (for the CPU) package from export_magma.py")
    ap.add_argument("--out", required=True, help="the new package folder")
    add_arguments(ap)
    ap.add_argument("--activations", choices=["float16", "float32"], default=None,
                    help="activation type of the new package (default: the source's); float32 from a float16 package "
                         "makes the CPU package (vision and projector in fp32 too) without a second export")
    ap.add_argument("--numpy", action="store_true", help="numpy arithmetic even where torch has a GPU")
    ap.add_argument("--skip-logits-check", action="store_true", help="no onnxruntime logits comparison (slow for 8B on a CPU)")
    ap.add_argument("--dequantized-reference", metavar="FILE",
                    help="also write the decoder with plain MatMuls over the dequantized weights (small models; tests)")
    args = ap.parse_args(argv)
    quantize_package(args.package, args.out, args.block_size, not args.zero_points, args.lm_head, args.embed,
                     args.accuracy_level, not args.numpy, not args.skip_logits_check, args.activations)
    if args.dequantized_reference:
        write_dequantized_decoder(args.out, args.dequantized_reference)
    return 0


if __name__ == "__main__":
    sys.exit(main())
