"""TFLite flatbuffer -> hwsim ops, with the tensor shapes stored in the file.

Parser: the ``tflite`` package from PyPI (Apache-2.0): TensorFlow's ``schema.fbs`` compiled by
``flatc`` into Python accessors, republished for each TensorFlow release (2.18) and needing only
``flatbuffers`` and ``numpy``. Generated accessors read every field the way TensorFlow writes
it (operator codes above 127, buffers stored past 2 GiB by offset, option tables) without a
hand-kept copy of the schema; TensorFlow or the LiteRT interpreter would cost hundreds of MB
and would allocate the model only to report shapes the file already stores.

Mapping (``HANDLERS``): CONV_2D and DEPTHWISE_CONV_2D -> Conv2dOp (depthwise: groups = input
channels, k = channels x depth multiplier; padding by :func:`~.common.conv2d_exact`);
FULLY_CONNECTED and BATCH_MATMUL -> MatmulOp; GATHER / EMBEDDING_LOOKUP of a constant table ->
EmbeddingOp; pools and reductions -> VectorOp(pool); SOFTMAX -> VectorOp(softmax); activations,
arithmetic, QUANTIZE/DEQUANTIZE -> VectorOp; data-moving ops (CONCATENATION, TRANSPOSE, PAD,
SLICE, ...) -> VectorOp(elementwise) copies, one operation per element, since TFLite Micro
really copies them. Fused activations (``fused_activation_function``) add nothing: in TFLite
they are the output clamp every quantised kernel applies while requantising.

No cost (``NO_COST``): RESHAPE, SQUEEZE, EXPAND_DIMS and SHAPE are pure layout ops - the
interpreter aliases the buffer - so they are skipped and counted in ``ImportedModel.skipped``;
so are DEQUANTIZE and DENSIFY of a constant (fp16 or sparse weights), which the interpreter
runs once when it prepares the model; their consumer then reads the stored weights.
Every other op type is reported, all at once with counts, in one HwsimError.

dtype of an op: its activation input's type (INT8/UINT8 -> int8, INT16 -> int16, FLOAT32 ->
fp32, FLOAT16 -> fp16, BFLOAT16 -> bf16), so 16x8 quantised layers are int16.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import tflite
from pydantic import ValidationError
from tflite.utils import BUILTIN_OPCODE2NAME

from hwsim.errors import input_error
from hwsim.workload.builders import GELU_OPS, SOFTMAX_OPS
from hwsim.workload.importers.common import (
    CHEAP_OPS,
    ELU_OPS,
    HARD_SWISH_OPS,
    L2NORM_OPS,
    LEAKY_RELU_OPS,
    POW_OPS,
    QUANTIZE_OPS,
    SIGMOID_OPS,
    TRANSCENDENTAL_OPS,
    Findings,
    GraphImport,
    NodeError,
    WeightStats,
    conv2d_exact,
    matmul_exact,
    numel,
    same_padding,
    unique_name,
)
from hwsim.workload.ops import EmbeddingOp, OpBase, VectorOp

FILE_IDENTIFIER = b"TFL3"  # bytes 4..8 of every TFLite flatbuffer

_T = tflite.TensorType
DTYPES = {_T.INT8: "int8", _T.UINT8: "int8", _T.INT16: "int16", _T.FLOAT32: "fp32",
          _T.FLOAT16: "fp16", _T.BFLOAT16: "bf16"}
# Storage types whose constant data numpy can read for zero fractions (INT4 is packed).
_NUMPY = {_T.INT8: np.int8, _T.UINT8: np.uint8, _T.INT16: np.int16, _T.INT32: np.int32,
          _T.INT64: np.int64, _T.FLOAT32: np.float32, _T.FLOAT16: np.float16}
_TYPE_NAMES = {v: k.lower() for k, v in vars(_T).items() if not k.startswith("_")}


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple[int, ...]
    type: int
    data: np.ndarray | None  # raw bytes of a constant tensor; None for activations
    zero_point: np.ndarray  # the quantised zero, one value or one per channel
    quant_axis: int
    sparse: bool  # stored in TFLite's compressed sparse format

    @property
    def size(self) -> int:
        return numel(self.shape)

    def dims(self, rank: int) -> tuple[int, ...]:
        if len(self.shape) != rank:
            raise NodeError(f"expected a {rank}-D tensor, {self.name!r} has shape {self.shape}")
        return self.shape


@dataclass
class Node:
    index: int
    type: str
    inputs: list[Tensor | None]
    outputs: list[Tensor]
    options: dict[str, int]  # the builtin options a handler reads (OPTIONS), read eagerly
    folded: bool = False  # computed from constants once, when the interpreter prepares
    name: str = ""

    @property
    def label(self) -> str:
        """How an error names the node: its index and output tensor, as Netron shows them."""
        out = self.outputs[0].name.split(";")[0] if self.outputs else ""
        return f"#{self.index} {out}".strip()

    def input(self, i: int) -> Tensor:
        t = self.inputs[i] if i < len(self.inputs) else None
        if t is None:
            raise NodeError(f"input {i} is missing")
        return t

    @property
    def dtype(self) -> str:
        t = self.input(0)
        if t.type not in DTYPES:
            raise NodeError(f"tensor type {_TYPE_NAMES.get(t.type, t.type)} is not modelled")
        return DTYPES[t.type]


class Context:
    """What a handler writes into: ops are returned, constant tensors recorded here."""

    def __init__(self) -> None:
        self.weights: list[WeightStats] = []

    def weight(self, op: str, role: str, t: Tensor | None) -> None:
        if t is None:
            return
        nbytes = len(t.data) if t.data is not None else 0
        self.weights.append(WeightStats(op, t.name, role, t.shape, _TYPE_NAMES.get(t.type, "?"),
                                        nbytes, _zero_fraction(t)))


def _zero_fraction(t: Tensor) -> float | None:
    if t.data is None or t.sparse or t.type not in _NUMPY or not t.size:
        return None
    values = np.frombuffer(t.data.tobytes(), dtype=_NUMPY[t.type])
    if values.size != t.size:
        return None
    values = values.reshape(t.shape)
    zero = t.zero_point.reshape(-1) if t.type not in (_T.FLOAT32, _T.FLOAT16) else np.zeros(1)
    if zero.size > 1 and np.any(zero != zero[0]):  # per-channel zero points
        axis = t.quant_axis
        if axis >= len(t.shape) or t.shape[axis] != zero.size:
            return None
        bcast = [1] * len(t.shape)
        bcast[axis] = zero.size
        zero = zero.reshape(bcast)
    else:
        zero = zero[:1]
    return float(np.count_nonzero(values == zero)) / t.size


def _nhwc(t: Tensor) -> tuple[int, int, int]:
    t.dims(4)
    if t.shape[0] != 1:
        raise NodeError(f"batch {t.shape[0]} in the file; hwsim applies the batch at simulation "
                        "time - export with batch 1")
    return t.shape[1], t.shape[2], t.shape[3]


def _conv_common(n: Node, ctx: Context, r: int, s: int, k: int, groups: int) -> OpBase:
    h, w, c = _nhwc(n.input(0))
    oh, ow, ok = _nhwc(n.outputs[0])
    o = n.options
    if o["DilationHFactor"] != 1 or o["DilationWFactor"] != 1:
        raise NodeError(f"dilation {o['DilationHFactor']}x{o['DilationWFactor']} is not "
                        "modelled")
    sh, sw = o["StrideH"], o["StrideW"]
    if sh < 1 or sw < 1:
        raise NodeError(f"strides {sh}x{sw} must be positive")
    same = o["Padding"] == tflite.Padding.SAME
    pad_h = same_padding(h, oh, sh, r) if same else 0
    pad_w = same_padding(w, ow, sw, s) if same else 0
    if ok != k:
        raise NodeError(f"output has {ok} channels, the filter makes {k}")
    op = conv2d_exact(name=n.name, dtype=n.dtype, h=h, w=w, c=c, k=k, r=r, s=s, stride_h=sh,
                      stride_w=sw, pad_h=pad_h, pad_w=pad_w, out_h=oh, out_w=ow, groups=groups)
    ctx.weight(op.name, "weight", n.input(1))
    ctx.weight(op.name, "bias", n.inputs[2] if len(n.inputs) > 2 else None)
    return op


def _conv(n: Node, ctx: Context) -> list[OpBase]:
    k, r, s, cin = n.input(1).dims(4)  # OHWI filter
    c = _nhwc(n.input(0))[2]
    if not cin or c % cin:
        raise NodeError(f"filter depth {cin} does not divide {c} input channels")
    return [_conv_common(n, ctx, r, s, k, c // cin)]


def _depthwise(n: Node, ctx: Context) -> list[OpBase]:
    _, r, s, k = n.input(1).dims(4)  # 1 x H x W x (channels x depth multiplier)
    c = _nhwc(n.input(0))[2]
    return [_conv_common(n, ctx, r, s, k, c)]


def _fully_connected(n: Node, ctx: Context) -> list[OpBase]:
    x, w = n.input(0), n.input(1)
    units, k = w.dims(2)  # weights are (units, input features)
    if not k or x.size % k:
        raise NodeError(f"input of {x.size} elements is not a multiple of {k} features")
    op = matmul_exact(name=n.name, dtype=n.dtype, out_shape=(x.size // k, units), k=k,
                      weight_batch=1 if w.data is not None else None)
    ctx.weight(op.name, "weight", w if w.data is not None else None)
    ctx.weight(op.name, "bias", n.inputs[2] if len(n.inputs) > 2 else None)
    return [op]


def _batch_matmul(n: Node, ctx: Context) -> list[OpBase]:
    a, b = n.input(0), n.input(1)
    if len(a.shape) < 2 or len(b.shape) < 2:
        raise NodeError(f"operands of shapes {a.shape} and {b.shape} are not matrices")
    k = a.shape[-2] if n.options["AdjX"] else a.shape[-1]
    const = b.data is not None
    op = matmul_exact(name=n.name, dtype=n.dtype, out_shape=n.outputs[0].shape, k=k,
                      weight_batch=numel(b.shape[:-2]) if const else None)
    ctx.weight(op.name, "weight", b if const else None)
    return [op]


def _pool(n: Node, ctx: Context) -> list[OpBase]:
    window = n.options["FilterHeight"] * n.options["FilterWidth"]
    # L2 pool: square and accumulate each input, then one square root per output.
    ops = 2 * window + TRANSCENDENTAL_OPS if n.type == "L2_POOL_2D" else window
    x, y = n.input(0), n.outputs[0]
    return [VectorOp(name=n.name, dtype=n.dtype, function="pool", elements=y.size,
                     ops_per_element=ops, inputs_per_element=x.size / y.size)]


def _reduce(n: Node, ctx: Context) -> list[OpBase]:
    x, y = n.input(0), n.outputs[0]
    return [VectorOp(name=n.name, dtype=n.dtype, function="pool", elements=y.size,
                     ops_per_element=x.size / y.size, inputs_per_element=x.size / y.size)]


def _embedding(n: Node, ctx: Context, table: Tensor, ids: Tensor, axis: int) -> list[OpBase]:
    if table.data is None or axis != 0 or len(table.shape) < 2:
        return _vector("elementwise", CHEAP_OPS)(n, ctx)  # a gather of activations: a copy
    dtype = DTYPES.get(table.type)
    if dtype is None:
        raise NodeError(f"table type {_TYPE_NAMES.get(table.type)} is not modelled")
    op = EmbeddingOp(name=n.name, dtype=dtype, tokens=ids.size, dim=numel(table.shape[1:]),
                     vocab=table.shape[0])
    ctx.weight(op.name, "table", table)
    return [op]


def _gather(n: Node, ctx: Context) -> list[OpBase]:
    return _embedding(n, ctx, n.input(0), n.input(1), n.options["Axis"])


def _embedding_lookup(n: Node, ctx: Context) -> list[OpBase]:
    return _embedding(n, ctx, n.input(1), n.input(0), 0)


def _vector(function: str, ops: float) -> Callable[[Node, Context], list[OpBase]]:
    def handler(n: Node, ctx: Context) -> list[OpBase]:
        data_type = n.input(0).type  # shape/index operands (int32) are not data read per element
        read = sum(t.size for t in n.inputs if t is not None and t.type == data_type)
        out = sum(t.size for t in n.outputs)
        return [VectorOp(name=n.name, dtype=n.dtype, function=function, elements=out,
                         ops_per_element=ops, inputs_per_element=max(read, 1) / out)]
    return handler


VECTOR_OPS: dict[str, tuple[str, float]] = {
    **dict.fromkeys(["RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1"], ("activation", CHEAP_OPS)),
    **dict.fromkeys(["LEAKY_RELU", "PRELU"], ("activation", LEAKY_RELU_OPS)),
    "LOGISTIC": ("activation", SIGMOID_OPS),
    "TANH": ("activation", TRANSCENDENTAL_OPS),
    "HARD_SWISH": ("activation", HARD_SWISH_OPS),
    "ELU": ("activation", ELU_OPS),
    "GELU": ("activation", GELU_OPS),
    **dict.fromkeys(["ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM", "FLOOR_DIV", "FLOOR_MOD",
                     "ABS", "NEG", "SQUARE", "FLOOR", "CEIL", "ROUND", "SIGN", "CAST", "LESS",
                     "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL", "SELECT",
                     "SELECT_V2"], ("elementwise", CHEAP_OPS)),
    "SQUARED_DIFFERENCE": ("elementwise", 2 * CHEAP_OPS),
    "POW": ("elementwise", POW_OPS),
    **dict.fromkeys(["EXP", "LOG", "SQRT", "RSQRT", "SIN", "COS"],
                    ("elementwise", TRANSCENDENTAL_OPS)),
    **dict.fromkeys(["QUANTIZE", "DEQUANTIZE"], ("elementwise", QUANTIZE_OPS)),
    **dict.fromkeys(["SOFTMAX", "LOG_SOFTMAX"], ("softmax", SOFTMAX_OPS)),
    "L2_NORMALIZATION": ("norm", L2NORM_OPS),
    # Data movement: a copy per element (TFLite Micro moves these bytes).
    **dict.fromkeys(["CONCATENATION", "TRANSPOSE", "PAD", "PADV2", "MIRROR_PAD", "SLICE",
                     "STRIDED_SLICE", "SPLIT", "SPLIT_V", "PACK", "UNPACK", "TILE",
                     "BROADCAST_TO", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH",
                     "RESIZE_NEAREST_NEIGHBOR"], ("elementwise", CHEAP_OPS)),
    # Bilinear: two lerps in x and one in y, a multiply and an add each.
    "RESIZE_BILINEAR": ("elementwise", 6 * CHEAP_OPS),
}

_CONV_FIELDS = ("Padding", "StrideH", "StrideW", "DilationHFactor", "DilationWFactor")
# The builtin options handlers read: decoded while parsing, so a corrupt table is caught there.
OPTIONS: dict[str, tuple[type, tuple[str, ...]]] = {
    "CONV_2D": (tflite.Conv2DOptions, _CONV_FIELDS),
    "DEPTHWISE_CONV_2D": (tflite.DepthwiseConv2DOptions, _CONV_FIELDS),
    **dict.fromkeys(["AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"],
                    (tflite.Pool2DOptions, ("FilterHeight", "FilterWidth"))),
    "BATCH_MATMUL": (tflite.BatchMatMulOptions, ("AdjX", "AdjY")),
    "GATHER": (tflite.GatherOptions, ("Axis",)),
}

Handler = Callable[[Node, Context], list[OpBase]]
HANDLERS: dict[str, Handler] = {
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _depthwise,
    "FULLY_CONNECTED": _fully_connected,
    "BATCH_MATMUL": _batch_matmul,
    **dict.fromkeys(["AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"], _pool),
    **dict.fromkeys(["MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD"], _reduce),
    "GATHER": _gather,
    "EMBEDDING_LOOKUP": _embedding_lookup,
    **{t: _vector(f, ops) for t, (f, ops) in VECTOR_OPS.items()},
}
# Pure layout: the interpreter aliases the input buffer, nothing is computed or copied.
NO_COST: frozenset[str] = frozenset({"RESHAPE", "SQUEEZE", "EXPAND_DIMS", "SHAPE"})
# Run by the interpreter at prepare time when their input is a constant (TFLite evaluates a
# DEQUANTIZE of fp16 weights, and DENSIFY of sparse weights, once), so free per inference.
FOLDED_ON_CONSTANTS: frozenset[str] = frozenset({"DEQUANTIZE", "DENSIFY"})
SHORT = {"CONV_2D": "conv", "DEPTHWISE_CONV_2D": "dwconv", "FULLY_CONNECTED": "fc",
         "AVERAGE_POOL_2D": "avgpool", "MAX_POOL_2D": "maxpool", "BATCH_MATMUL": "matmul"}


def read_tflite(data: bytes, source: str) -> GraphImport:
    """Ops, constant tensors and skipped layout ops of the main subgraph of a .tflite file."""
    if len(data) < 8 or data[4:8] != FILE_IDENTIFIER:
        raise input_error(source, "not a TFLite file: the flatbuffer identifier 'TFL3' is "
                          "missing at byte 4", hint="is the file truncated, or another format?")
    try:
        nodes = _read_nodes(data)
    except (struct.error, IndexError, ValueError, TypeError, UnicodeDecodeError,
            OverflowError) as exc:
        raise input_error(source, f"corrupt TFLite file: its flatbuffer cannot be read "
                          f"({type(exc).__name__}: {exc})") from None
    result, ctx = GraphImport(), Context()
    findings = Findings(source, "TFLite")
    taken: set[str] = set()
    for n in nodes:
        if n.type in NO_COST or n.folded:
            result.skipped[f"{n.type} (of a constant)" if n.folded else n.type] += 1
            continue
        handler = HANDLERS.get(n.type)
        if handler is None:
            findings.unsupported_op(n.type, n.label)
            continue
        n.name = unique_name(f"{SHORT.get(n.type, n.type.lower())}_{n.index}", taken)
        try:
            result.ops += handler(n, ctx)
        except NodeError as exc:
            findings.node_error(n.type, n.label, str(exc))
        except ValidationError as exc:
            findings.node_error(n.type, n.label, exc.errors()[0]["msg"])
        except ZeroDivisionError:
            findings.node_error(n.type, n.label, "a tensor it reads or writes is empty")
    findings.raise_if_any(HANDLERS, NO_COST)
    result.weights = ctx.weights
    return result


def _read_nodes(data: bytes) -> list[Node]:
    model = tflite.Model.GetRootAs(data, 0)
    if model.SubgraphsLength() < 1:
        raise ValueError("the model has no subgraph")
    codes = [_op_type(model.OperatorCodes(i)) for i in range(model.OperatorCodesLength())]
    graph = model.Subgraphs(0)  # the main graph; others run only through WHILE/IF/CALL_ONCE
    tensors = [_tensor(model, graph.Tensors(i), data) for i in range(graph.TensorsLength())]
    nodes = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        ins = [tensors[j] if j >= 0 else None for j in
               (op.Inputs(x) for x in range(op.InputsLength()))]
        outs = [tensors[op.Outputs(x)] for x in range(op.OutputsLength())]
        op_type = codes[op.OpcodeIndex()]
        node = Node(i, op_type, ins, outs, _options(op_type, op.BuiltinOptions()))
        src = ins[0] if ins else None
        if op_type in FOLDED_ON_CONSTANTS and src is not None and src.data is not None and outs:
            # fp16 / sparse weights expanded once at prepare time: the consumer reads a
            # constant, stored as the input tensor is.
            node.folded = True
            tensors[op.Outputs(0)] = dataclasses.replace(src, shape=outs[0].shape)
        nodes.append(node)
    return nodes


def _options(op_type: str, table: Any) -> dict[str, int]:
    cls, fields = OPTIONS.get(op_type, (None, ()))
    if cls is None:
        return {}
    obj = cls()
    if table is not None:
        obj.Init(table.Bytes, table.Pos)
    else:  # an absent table reads as the schema defaults
        obj.Init(bytearray(8), 0)
    return {f: int(getattr(obj, f)()) for f in fields}


def _op_type(code: Any) -> str:
    # Codes above 127 live in builtin_code; older files only fill deprecated_builtin_code.
    value = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    if value == tflite.BuiltinOperator.CUSTOM:
        return f"CUSTOM:{(code.CustomCode() or b'?').decode()}"
    return BUILTIN_OPCODE2NAME.get(value, f"BUILTIN_{value}")


def _tensor(model: Any, t: Any, data: bytes) -> Tensor:
    buf = model.Buffers(t.Buffer())
    raw: np.ndarray | None = None
    if buf is not None and buf.Offset() > 1:  # large models keep buffers after the flatbuffer
        raw = np.frombuffer(data, np.uint8, buf.Size(), buf.Offset())
    elif buf is not None and buf.DataLength() > 0:
        raw = buf.DataAsNumpy()
    q = t.Quantization()
    zero = q.ZeroPointAsNumpy() if q is not None and q.ZeroPointLength() else np.zeros(1)
    shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
    return Tensor((t.Name() or b"").decode(errors="replace"), shape, t.Type(), raw,
                  np.asarray(zero), q.QuantizedDimension() if q is not None else 0,
                  t.Sparsity() is not None)
