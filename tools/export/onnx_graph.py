"""Small helpers to write ONNX graphs by hand, with weights in shared external-data files.

The Magma graphs are written node by node (no tracing) so that the graph, its tensor names and the
layout of the weights files are fully determined by this code and do not change with the torch or
transformers version on the export machine.
"""

from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
MS_DOMAIN = "com.microsoft"
IR_VERSION = 8
# Offsets inside a weights file are page aligned so ONNX Runtime can memory-map each tensor.
ALIGN = 4096
# Tensors smaller than this stay inside the .onnx file (saves alignment padding on tiny models).
EXTERNAL_MIN_BYTES = 16384

_NP_TO_ONNX = {
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.float16): TensorProto.FLOAT16,
    np.dtype(np.int64): TensorProto.INT64,
    np.dtype(np.int32): TensorProto.INT32,
    np.dtype(np.bool_): TensorProto.BOOL,
    np.dtype(np.int8): TensorProto.INT8,  # int8 embedding rows (quantize_package.py)
    np.dtype(np.uint8): TensorProto.UINT8,  # MatMulNBits blocks and zero points
}


def onnx_dtype(np_dtype) -> int:
    return _NP_TO_ONNX[np.dtype(np_dtype)]


class ExternalStore:
    """Appends tensors to one weights file and returns TensorProtos that point into it."""

    def __init__(self, folder: str, location: str):
        self.location = location
        self.path = os.path.join(folder, location)
        self._file = open(self.path, "wb")
        self.offset = 0
        self.tensors: dict[str, TensorProto] = {}

    def add(self, name: str, array: np.ndarray) -> TensorProto:
        array = np.ascontiguousarray(array)
        if array.dtype.byteorder == ">":
            array = array.astype(array.dtype.newbyteorder("<"))
        pad = (-self.offset) % ALIGN
        if pad:
            self._file.write(b"\0" * pad)
            self.offset += pad
        data = array.tobytes()
        self._file.write(data)
        tensor = TensorProto()
        tensor.name = name
        tensor.data_type = onnx_dtype(array.dtype)
        tensor.dims.extend(array.shape)
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", self.location), ("offset", str(self.offset)), ("length", str(len(data)))):
            entry = tensor.external_data.add()
            entry.key = key
            entry.value = value
        self.offset += len(data)
        self.tensors[name] = tensor
        return tensor

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


class Graph:
    """A graph under construction: nodes, initializers, inputs and outputs."""

    def __init__(self, name: str, store: ExternalStore | None):
        self.name = name
        self.store = store
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self._count = 0
        self._const_cache: dict[tuple, str] = {}

    def uid(self, base: str) -> str:
        self._count += 1
        return f"{base}_{self._count}"

    def op(self, op_type: str, inputs: list[str], outputs: list[str] | None = None, n: int = 1,
           domain: str | None = None, **attrs):
        if outputs is None:
            outputs = [self.uid(op_type) for _ in range(n)]
        node = helper.make_node(op_type, inputs, outputs, name=self.uid(op_type + "_n"), domain=domain, **attrs)
        self.nodes.append(node)
        return outputs[0] if len(outputs) == 1 else outputs

    def const(self, value, dtype) -> str:
        """An inline constant initializer (deduplicated by value)."""
        array = np.asarray(value, dtype=dtype)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key in self._const_cache:
            return self._const_cache[key]
        name = self.uid("const")
        self.inits.append(numpy_helper.from_array(array, name))
        self._const_cache[key] = name
        return name

    def weight(self, name: str, array: np.ndarray) -> str:
        """A model weight: external when large, inline when small."""
        array = np.ascontiguousarray(array)
        if self.store is not None and array.nbytes >= EXTERNAL_MIN_BYTES:
            self.inits.append(self.store.add(name, array))
        else:
            self.inits.append(numpy_helper.from_array(array, name))
        return name

    def shared(self, tensor: TensorProto, name: str | None = None) -> str:
        """Reuse a tensor already written to a weights file (same file, same offset)."""
        copy = TensorProto()
        copy.CopyFrom(tensor)
        if name is not None:
            copy.name = name
        self.inits.append(copy)
        return copy.name

    def input(self, name: str, elem_type: int, shape: list) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, shape))
        return name

    def output(self, name: str, elem_type: int, shape: list) -> str:
        self.outputs.append(helper.make_tensor_value_info(name, elem_type, shape))
        return name

    def save(self, path: str, doc: str = "") -> None:
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, initializer=self.inits)
        opsets = [helper.make_opsetid("", OPSET)]
        if any(n.domain == MS_DOMAIN for n in self.nodes):  # GroupQueryAttention and other ORT contrib ops
            opsets.append(helper.make_opsetid(MS_DOMAIN, 1))
        model = helper.make_model(graph, opset_imports=opsets, producer_name="magma-agents tools/export", doc_string=doc)
        model.ir_version = IR_VERSION
        onnx.save_model(model, path)
        # Path-based check so external data is resolved relative to the model file.
        onnx.checker.check_model(path)
