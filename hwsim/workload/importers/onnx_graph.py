"""A read-only view of an ONNX graph after shape inference: static shapes, element types,
producers and consumers, and which tensors are compile-time constants."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from hwsim.workload.importers.common import NodeError, WeightStats, numel

ELEM_DTYPES = {TensorProto.FLOAT: "fp32", TensorProto.FLOAT16: "fp16",
               TensorProto.BFLOAT16: "bf16", TensorProto.INT8: "int8", TensorProto.UINT8: "int8",
               TensorProto.INT16: "int16", TensorProto.UINT16: "int16"}
# Never folded even with constant inputs: they draw random numbers or run subgraphs.
_NEVER_FOLD = frozenset({"If", "Loop", "Scan", "RandomNormal", "RandomUniform",
                         "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"})
# A constant reached through these is the same data, reshaped or converted.
_PASS_THROUGH = frozenset({"Transpose", "Reshape", "Identity", "Cast", "Squeeze", "Unsqueeze",
                           "Flatten"})


def type_name(elem_type: int) -> str:
    return TensorProto.DataType.Name(elem_type).lower() if elem_type else "unknown"


class OnnxGraph:
    """Shapes, types and constness of every tensor in the main graph of a shape-inferred model.

    A tensor is static (a compile-time constant) when it is an initializer, a Constant's output,
    the Shape/Size of a tensor with a static shape, or the output of a node whose inputs are all
    static; runtimes fold such nodes before running, so they cost nothing.
    """

    def __init__(self, model: onnx.ModelProto) -> None:
        g = model.graph
        self.nodes = list(g.node)
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                          1)
        self.init = {t.name: t for t in g.initializer}
        self.shapes: dict[str, tuple[int | None, ...] | None] = {}
        self.types: dict[str, int] = {}
        for vi in [*g.input, *g.output, *g.value_info]:
            t = vi.type.tensor_type
            self.types[vi.name] = t.elem_type
            self.shapes[vi.name] = (tuple(d.dim_value if d.HasField("dim_value") else None
                                          for d in t.shape.dim)
                                    if t.HasField("shape") else None)
        for name, t in self.init.items():
            self.shapes[name] = tuple(t.dims)
            self.types[name] = t.data_type
        self.producer: dict[str, onnx.NodeProto] = {}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in self.nodes:
            for out in node.output:
                self.producer[out] = node
            for inp in node.input:
                self.consumers.setdefault(inp, []).append(node)
        self.graph_outputs = {o.name for o in g.output}
        self.static: set[str] = set(self.init)
        self.folded: set[int] = set()
        for i, node in enumerate(self.nodes):
            if self._foldable(node):
                self.folded.add(i)
                self.static.update(o for o in node.output if o)

    def _foldable(self, node: onnx.NodeProto) -> bool:
        if node.domain not in ("", "ai.onnx") or node.op_type in _NEVER_FOLD:
            return False
        if node.op_type == "Constant":
            return True
        if node.op_type in ("Shape", "Size"):
            shape = self.shapes.get(node.input[0])
            return shape is not None and None not in shape
        inputs = [i for i in node.input if i]
        return bool(inputs) and all(i in self.static for i in inputs)

    def shape(self, name: str) -> tuple[int, ...]:
        """The static shape of ``name``; NodeError when shape inference left it unknown."""
        shape = self.shapes.get(name)
        if shape is None or None in shape:
            shown = "unknown" if shape is None else "(" + ", ".join(
                "?" if d is None else str(d) for d in shape) + ")"
            raise NodeError(f"no static shape for tensor {name!r}: {shown}; fix the input "
                            "dimensions, e.g. with onnx.tools.update_model_dims, and re-export")
        return tuple(d for d in shape if d is not None)

    def size(self, name: str) -> int:
        return numel(self.shape(name))

    def is_static(self, name: str) -> bool:
        return name in self.static

    def dtype(self, node: onnx.NodeProto) -> str:
        """The op's operand dtype: its first input of a modelled type, else its output's type
        (a Cast from int64)."""
        for name in [*node.input, *node.output]:
            dtype = self._modelled(name) if name else None
            if dtype is not None:
                return dtype
        found = sorted({type_name(self.types.get(n, 0)) for n in node.input if n})
        raise NodeError(f"element type {', '.join(found)} is not modelled")

    def tensor_dtype(self, name: str) -> str:
        dtype = self._modelled(name)
        if dtype is None:
            raise NodeError(f"element type {type_name(self.types.get(name, 0))} of {name!r} is "
                            "not modelled")
        return dtype

    def _modelled(self, name: str) -> str | None:
        # Look through a DequantizeLinear: QDQ graphs run in the integer type they store.
        src = self.producer.get(name)
        if src is not None and src.op_type == "DequantizeLinear":
            name = src.input[0]
        return ELEM_DTYPES.get(self.types.get(name, 0))

    def attrs(self, node: onnx.NodeProto) -> dict[str, Any]:
        out = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        return {k: v.decode(errors="replace") if isinstance(v, bytes) else v
                for k, v in out.items()}

    def value(self, name: str) -> np.ndarray | None:
        """The data of a constant tensor, when the file holds it (not external data)."""
        t = self.init.get(name)
        if t is None:
            node = self.producer.get(name)
            if node is None or node.op_type != "Constant":
                return None
            t = next((a.t for a in node.attribute if a.name == "value"), None)
        if t is None or t.data_location == TensorProto.EXTERNAL:
            return None
        try:
            return numpy_helper.to_array(t)
        except (ValueError, TypeError) as exc:
            raise NodeError(f"constant {name!r} is corrupt: its data does not fit its shape "
                            f"{tuple(t.dims)} ({exc})") from None

    def weight_stats(self, op: str, role: str, name: str, zero_point: str = "") -> WeightStats:
        """The stored tensor behind a constant operand: an initializer, possibly reached through
        a DequantizeLinear (its zero point then defines zero) or a transpose/reshape/cast."""
        src = name
        while src not in self.init:
            node = self.producer.get(src)
            if node is None or not node.input:
                break
            if node.op_type == "DequantizeLinear" and len(node.input) > 2:
                zero_point = zero_point or node.input[2]
            elif node.op_type not in _PASS_THROUGH | {"DequantizeLinear"}:
                break
            src = node.input[0]
        t = self.init.get(src)
        if t is None:  # computed from several constants: report its shape only
            shape = self.shapes.get(name) or ()
            return WeightStats(op, name, role, tuple(d or 0 for d in shape),
                               type_name(self.types.get(name, 0)), 0, None)
        dtype = helper.tensor_dtype_to_np_dtype(t.data_type)
        values = self.value(src)
        zero_fraction = None
        if values is not None and values.size:
            zp = self.value(zero_point) if zero_point else None
            zps = np.zeros(1) if zp is None else np.unique(zp)
            if zps.size == 1:  # per-channel zero points that differ: left unread (None)
                zero_fraction = float(np.count_nonzero(values == zps[0])) / values.size
        return WeightStats(op, src, role, tuple(t.dims), type_name(t.data_type),
                           numel(t.dims) * dtype.itemsize, zero_fraction)
