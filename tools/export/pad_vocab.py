#!/usr/bin/env python3
"""Pads a package's LM head to a vocabulary that is a multiple of 8 (a post-pass over decoder.onnx; issue 18).

Magma's vocabulary has 128,263 ids, so the fp16 LM head is a [4096, 128263] matrix whose rows are not 16-byte aligned,
and cuBLAS runs the decode step's head GEMV with a generic kernel at 1.8 TB/s instead of the layer GEMVs' 3.4-3.9
(docs/perf.md, "Decode, kernel by kernel"). This writes a package in which the head's MatMul reads a zero-padded
[K, 128264] copy of the matrix and a Slice hands the graph's `logits` output (and so token_bias, the ArgMax of
next_token, sampling and every caller) the real 128,263 columns: the padded column is never seen, and nothing outside
decoder.onnx changes. A tied head (the embedding table, transposed in the graph) is written out transposed and padded.

  python3 tools/export/pad_vocab.py --package PKG --out PKG-padded [--multiple 8]

Every other file of the package is hard-linked (symlinked across file systems): ONNX Runtime loads such a package, but
onnx.checker (1.17 and later) refuses external data with several hard links or behind a symlink ("potential hardlink
attack"), so the new decoder.onnx is checked without its data (_check) instead. The new matrix goes to lm_head.data,
listed in magma.json's weights_files. Quantize before padding (quantize_package.py looks for the MatMul that writes
`logits`).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_graph import ExternalStore  # noqa: E402

_NP = {TensorProto.FLOAT: np.float32, TensorProto.FLOAT16: np.float16}


def _array(folder: str, t: TensorProto) -> np.ndarray:
    if t.data_location != TensorProto.EXTERNAL:
        return numpy_helper.to_array(t)
    if t.data_type not in _NP:
        raise SystemExit(f"decoder.onnx: the LM head '{t.name}' is {TensorProto.DataType.Name(t.data_type)}; "
                         "only float32/float16 heads are padded (pad before quantizing).")
    info = {e.key: e.value for e in t.external_data}
    return np.memmap(os.path.join(folder, info["location"]), dtype=_NP[t.data_type], mode="r",
                     offset=int(info.get("offset", 0)), shape=tuple(t.dims))


def _link(src: str, dst: str) -> None:
    src = os.path.realpath(src)
    try:
        os.link(src, dst)
    except OSError:
        os.symlink(src, dst)


def _check(model: onnx.ModelProto, folder: str) -> None:
    """onnx.checker over the graph with each external initializer as a graph input of its type and shape (the checker
    opens no data file, so linked ones pass), and each external tensor's bytes inside its file in `folder`."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    external = [t for t in g.initializer if t.data_location == TensorProto.EXTERNAL]
    for t in external:
        info = {e.key: e.value for e in t.external_data}
        file = os.path.join(folder, info["location"])
        end = int(info.get("offset", 0)) + int(info.get("length", 0))
        if not os.path.isfile(file) or os.path.getsize(file) < end:
            raise SystemExit(f"{folder}: the data of '{t.name}' ({info['location']}, up to byte {end}) is missing.")
    names = {t.name for t in external}
    kept = [t for t in g.initializer if t.name not in names]
    del g.initializer[:]
    g.initializer.extend(kept)
    g.input.extend(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in external)
    onnx.checker.check_model(m)


def pad_vocab(package: str, out_dir: str, multiple: int = 8) -> dict:
    with open(os.path.join(package, "magma.json")) as f:
        manifest = json.load(f)
    d = manifest["decoder"]
    path = os.path.join(package, d.get("file", "decoder.onnx"))
    model = onnx.load(path, load_external_data=False)
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    producers = {o: n for n in g.node for o in n.output}
    head = next((n for n in g.node if n.op_type == "MatMul" and n.output[0] == d["logits"]), None)
    if head is None:
        raise SystemExit(f"{path}: no MatMul writes '{d['logits']}' (a quantized head? pad the float package first).")
    b = head.input[1]
    transpose = None
    if b in inits:
        weight = _array(package, inits[b])  # [K, V]
    elif b in producers and producers[b].op_type == "Transpose" and producers[b].input[0] in inits:
        transpose = producers[b]
        weight = _array(package, inits[transpose.input[0]]).T  # tied head: the [V, K] table
    else:
        raise SystemExit(f"{path}: the LM head's matrix '{b}' is neither an initializer nor a transposed one.")
    k, vocab = weight.shape
    padded_vocab = -(-vocab // multiple) * multiple
    if padded_vocab == vocab:
        raise SystemExit(f"{path}: the vocabulary ({vocab}) is already a multiple of {multiple}.")
    padded = np.zeros((k, padded_vocab), weight.dtype)
    padded[:, :vocab] = weight

    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(package):
        if name not in ("magma.json", os.path.basename(path), "lm_head.data") and not os.path.exists(os.path.join(out_dir, name)):
            _link(os.path.join(package, name), os.path.join(out_dir, name))
    store = ExternalStore(out_dir, "lm_head.data")
    tensor = store.add("lm_head.weight_T_padded", padded)
    store.close()

    padded_name = d["logits"] + "_padded"
    head.input[1] = tensor.name
    head.output[0] = padded_name
    consts = [numpy_helper.from_array(np.array([v], np.int64), f"pad_vocab_{n}") for n, v in
              (("starts", 0), ("ends", vocab), ("axes", -1))]
    cut = helper.make_node("Slice", [padded_name] + [c.name for c in consts], [d["logits"]], name="pad_vocab_slice")
    nodes = list(g.node)
    nodes.insert(nodes.index(head) + 1, cut)
    # What only the old head used goes: its matrix (or the Transpose of the table and, if unused, the table).
    used = {i for n in nodes for i in n.input}
    if transpose is not None and transpose.output[0] not in used:
        nodes.remove(transpose)
        used = {i for n in nodes for i in n.input}
    kept = [t for t in g.initializer if t.name in used]
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(kept + consts + [tensor])
    out_path = os.path.join(out_dir, os.path.basename(path))
    onnx.save_model(model, out_path)
    _check(model, out_dir)

    manifest["weights_files"] = list(manifest.get("weights_files", [])) + ["lm_head.data"]
    with open(os.path.join(out_dir, "magma.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    result = {"vocab": vocab, "padded_vocab": padded_vocab, "hidden": k, "dtype": str(weight.dtype),
              "tied": transpose is not None}
    print(f"padded the LM head [{k}, {vocab}] -> [{k}, {padded_vocab}] ({weight.dtype}, "
          f"{'tied' if transpose is not None else 'untied'}) into {out_dir}")
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--package", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--multiple", type=int, default=8)
    a = ap.parse_args(argv)
    pad_vocab(a.package, a.out, a.multiple)
    return 0


if __name__ == "__main__":
    sys.exit(main())
