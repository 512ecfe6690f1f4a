"""ONNX graph -> hwsim ops, with static shapes from ONNX shape inference.

Parser: the ``onnx`` package (protobuf model, shape inference with data propagation). Every
tensor an op is costed from must have a static shape after inference; a dynamic one is an
error naming the tensor (fix the input dims and re-export).

Mapping (``HANDLERS``): Conv (1-D as Lx1, 2-D; groups, pads, auto_pad, strides; dilation != 1
is an error), QLinearConv, ConvInteger -> Conv2dOp; Gemm, MatMul, QLinearMatMul, MatMulInteger
-> MatmulOp (a constant B is a weight shared by every row, so A's leading dims fold into M; two
activations keep them as ``batch``; a constant A is a weight on the left, costed transposed);
MatMul -> [scale, mask] -> Softmax -> MatMul on activations -> one AttentionOp (see
:mod:`.onnx_attention`, which also detects a causal mask, else full attention;
``fuse_attention=False`` keeps plain matmuls + softmax); Gather of an
initializer by run-time indices -> EmbeddingOp; LSTM, GRU -> RecurrentOp per direction;
elementwise arithmetic, activations, norms (LRN: ops counted in ``common.lrn_ops``),
reductions (``ReduceMean`` is costed as a norm: in exported transformers it is LayerNorm's
mean), pools, Softmax, Pad/Tile/Resize (copies)
-> VectorOp.

Constants fold (no cost): any node whose inputs are all compile-time constants (initializers,
Constant, Shape of a static tensor) - shape arithmetic, weight transposes, DequantizeLinear of
a weight - as a runtime's constant folding does. No cost (``NO_COST``): Reshape, Transpose,
Flatten, Concat, Squeeze, Unsqueeze, Split, Slice, Expand, Shape, Size, Identity, Dropout,
Constant and Gather of activations - an ONNX graph is compiled (TensorRT, XLA, TVM, ORT) before
it runs, and these fold into the neighbouring kernels' addressing. Skipped ops are counted in
``ImportedModel.skipped``. Every other op type is reported, all at once with node names.
"""

from __future__ import annotations

from collections.abc import Callable

import onnx
from onnx import shape_inference
from pydantic import ValidationError

from hwsim.errors import input_error
from hwsim.workload.builders import GELU_OPS, LAYERNORM_OPS, SOFTMAX_OPS
from hwsim.workload.importers.common import (
    BATCHNORM_OPS,
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
    lrn_ops,
    matmul_exact,
    numel,
    same_padding,
    unique_name,
)
from hwsim.workload.importers.onnx_attention import find_attention
from hwsim.workload.importers.onnx_graph import OnnxGraph
from hwsim.workload.ops import AttentionOp, EmbeddingOp, OpBase, RecurrentOp, VectorOp

Node = onnx.NodeProto


class Context:
    """Per-node state a handler needs: the graph, the op name, and where weights are logged."""

    def __init__(self, g: OnnxGraph) -> None:
        self.g = g
        self.weights: list[WeightStats] = []

    def weight(self, op: str, role: str, tensor: str, zero_point: str = "") -> None:
        if tensor and self.g.is_static(tensor):
            self.weights.append(self.g.weight_stats(op, role, tensor, zero_point))


Handler = Callable[[Context, Node, str], list[OpBase]]


def _input(node: Node, i: int) -> str:
    """Input ``i`` of ``node``, or "" when absent (or ``i`` < 0: the op has no such operand)."""
    return node.input[i] if 0 <= i < len(node.input) else ""


def _conv(x_i: int, w_i: int, b_i: int, w_zp: int = -1) -> Handler:
    """Conv and its quantised forms, which carry the same operands at other positions."""
    def handler(ctx: Context, node: Node, name: str) -> list[OpBase]:
        g, a = ctx.g, ctx.g.attrs(node)
        xs, ws, ys = g.shape(node.input[x_i]), g.shape(node.input[w_i]), g.shape(node.output[0])
        nd = len(xs) - 2
        if nd not in (1, 2):
            raise NodeError(f"{nd}-D convolution is not modelled (1-D and 2-D are)")
        if xs[0] != 1:
            raise NodeError(f"batch {xs[0]} in the graph; hwsim applies the batch at simulation "
                            "time - export with batch 1")
        if any(d != 1 for d in a.get("dilations", [1] * nd)):
            raise NodeError(f"dilations {a['dilations']} are not modelled")
        strides = list(a.get("strides", [1] * nd))
        pads = list(a.get("pads", [0] * 2 * nd))
        # 1-D as an L x 1 image: the second dimension is a single window of width 1.
        size, kernel, out = [*xs[2:], 1], [*ws[2:], 1], [*ys[2:], 1]  # 1 pads a 1-D conv
        strides = [*strides, 1]
        if nd == 1:
            pads = [pads[0], 0, pads[1], 0]
        auto = a.get("auto_pad", "NOTSET")
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            total = [same_padding(size[d], out[d], strides[d], kernel[d]) for d in range(2)]
        elif auto == "VALID":
            total = [0, 0]
        else:
            total = [pads[0] + pads[2], pads[1] + pads[3]]
        op = conv2d_exact(name=name, dtype=g.dtype(node), h=size[0], w=size[1], c=xs[1],
                          k=ws[0], r=kernel[0], s=kernel[1], stride_h=strides[0],
                          stride_w=strides[1], pad_h=total[0], pad_w=total[1], out_h=out[0],
                          out_w=out[1], groups=int(a.get("group", 1)))
        ctx.weight(name, "weight", node.input[w_i], _input(node, w_zp))
        ctx.weight(name, "bias", _input(node, b_i))
        return [op]
    return handler


def _matmul(a_i: int, b_i: int, a_zp: int = -1, b_zp: int = -1) -> Handler:
    def handler(ctx: Context, node: Node, name: str) -> list[OpBase]:
        g = ctx.g
        a, b = node.input[a_i], node.input[b_i]
        a_s, b_s = g.shape(a), g.shape(b)
        out = list(g.shape(node.output[0]))
        if len(b_s) == 1:  # numpy rules: a 1-D operand is a row (A) or a column (B)
            out = [*out, 1]
        if len(a_s) == 1:
            out = [*out[:-1], 1, out[-1]]
        k = a_s[-1]
        if g.is_static(b):
            op = matmul_exact(name=name, dtype=g.dtype(node), out_shape=out, k=k,
                              weight_batch=numel(b_s[:-2]))
            ctx.weight(name, "weight", b, _input(node, b_zp))
        elif g.is_static(a):  # W @ X: the transpose X^T @ W^T has the weight as B
            op = matmul_exact(name=name, dtype=g.dtype(node), k=k,
                              out_shape=[*out[:-2], out[-1], out[-2]],
                              weight_batch=numel(a_s[:-2]))
            ctx.weight(name, "weight", a, _input(node, a_zp))
        else:
            op = matmul_exact(name=name, dtype=g.dtype(node), out_shape=out, k=k,
                              weight_batch=None)
        return [op]
    return handler


def _gemm(ctx: Context, node: Node, name: str) -> list[OpBase]:
    g, at = ctx.g, ctx.g.attrs(node)
    a, b = node.input[0], node.input[1]
    k = g.shape(a)[0 if at.get("transA", 0) else 1]
    m, n = g.shape(node.output[0])
    if g.is_static(b):
        op = matmul_exact(name=name, dtype=g.dtype(node), out_shape=(m, n), k=k, weight_batch=1)
        ctx.weight(name, "weight", b)
    elif g.is_static(a):
        op = matmul_exact(name=name, dtype=g.dtype(node), out_shape=(n, m), k=k, weight_batch=1)
        ctx.weight(name, "weight", a)
    else:
        op = matmul_exact(name=name, dtype=g.dtype(node), out_shape=(m, n), k=k,
                          weight_batch=None)
    # The bias C is added in the accumulator's epilogue, not a separate pass.
    ctx.weight(name, "bias", _input(node, 2))
    return [op]


def _gather(ctx: Context, node: Node, name: str) -> list[OpBase]:
    g = ctx.g
    table, ids = node.input[0], node.input[1]
    if not g.is_static(table):
        return []  # selecting from activations: layout (the caller counts it as skipped)
    shape = g.shape(table)
    if g.attrs(node).get("axis", 0) != 0 or len(shape) < 2:
        raise NodeError("a gather from a weight along an axis other than 0 is not modelled")
    op = EmbeddingOp(name=name, dtype=g.tensor_dtype(table), tokens=g.size(ids),
                     dim=numel(shape[1:]), vocab=shape[0])
    ctx.weight(name, "table", table)
    return [op]


def _recurrent(cell: str) -> Handler:
    def handler(ctx: Context, node: Node, name: str) -> list[OpBase]:
        g, a = ctx.g, ctx.g.attrs(node)
        xs = g.shape(node.input[0])
        steps, batch = (xs[1], xs[0]) if a.get("layout", 0) else (xs[0], xs[1])
        if batch != 1:
            raise NodeError(f"batch {batch} in the graph; export with batch 1")
        dirs = 2 if a.get("direction", "forward") == "bidirectional" else 1
        ops: list[OpBase] = [
            RecurrentOp(name=name if dirs == 1 else f"{name}.{d}", dtype=g.dtype(node), cell=cell,
                        steps=steps, inputs=xs[2], hidden=int(a["hidden_size"]))
            for d in ("forward", "backward")[:dirs]]
        for role, i in (("weight", 1), ("weight", 2), ("bias", 3)):
            ctx.weight(name, role, _input(node, i))
        return ops
    return handler


def _vector(function: str, ops: float, data_inputs: int | None = None) -> Handler:
    """A VectorOp over the first output; ``data_inputs`` limits which inputs are read per
    element (a norm's scale and shift vectors are not)."""
    def handler(ctx: Context, node: Node, name: str) -> list[OpBase]:
        g = ctx.g
        out = g.size(node.output[0])
        read = sum(g.size(x) for x in node.input[:data_inputs] if x)
        return [VectorOp(name=name, dtype=g.dtype(node), function=function, elements=out,
                         ops_per_element=ops, inputs_per_element=max(read, 1) / out)]
    return handler


def _reduce(function: str) -> Handler:
    def handler(ctx: Context, node: Node, name: str) -> list[OpBase]:
        g = ctx.g
        fan_in = g.size(node.input[0]) / g.size(node.output[0])
        return [VectorOp(name=name, dtype=g.dtype(node), function=function,
                         elements=g.size(node.output[0]), ops_per_element=fan_in,
                         inputs_per_element=fan_in)]
    return handler


def _pool(ctx: Context, node: Node, name: str) -> list[OpBase]:
    g = ctx.g
    window = numel(g.attrs(node)["kernel_shape"])
    out = g.size(node.output[0])
    return [VectorOp(name=name, dtype=g.dtype(node), function="pool", elements=out,
                     ops_per_element=window, inputs_per_element=g.size(node.input[0]) / out)]


def _pow(ctx: Context, node: Node, name: str) -> list[OpBase]:
    exponent = ctx.g.value(node.input[1])
    square = exponent is not None and exponent.size == 1 and float(exponent.reshape(())) == 2.0
    return _vector("elementwise", CHEAP_OPS if square else POW_OPS)(ctx, node, name)


def _lrn(ctx: Context, node: Node, name: str) -> list[OpBase]:
    # A norm over a window of neighbouring channels of the same pixel (AlexNet's norm1/norm2);
    # it reads each input element once (the neighbours' squares are shared), see lrn_ops.
    size = int(ctx.g.attrs(node)["size"])
    if size < 1:
        raise NodeError(f"size {size}: the channel window must hold at least one channel")
    return _vector("norm", lrn_ops(size), 1)(ctx, node, name)


def _resize(ctx: Context, node: Node, name: str) -> list[OpBase]:
    # Nearest is a copy; linear interpolates twice in x and once in y (multiply + add each).
    linear = ctx.g.attrs(node).get("mode", "nearest") != "nearest"
    return _vector("elementwise", 6 * CHEAP_OPS if linear else CHEAP_OPS, 1)(ctx, node, name)


_ACTIVATIONS: dict[str, float] = {
    "Relu": CHEAP_OPS, "Clip": CHEAP_OPS, "ThresholdedRelu": CHEAP_OPS,
    "LeakyRelu": LEAKY_RELU_OPS, "PRelu": LEAKY_RELU_OPS, "HardSigmoid": 3 * CHEAP_OPS,
    "HardSwish": HARD_SWISH_OPS, "Sigmoid": SIGMOID_OPS, "Tanh": TRANSCENDENTAL_OPS,
    "Gelu": GELU_OPS, "Elu": ELU_OPS, "Celu": ELU_OPS, "Selu": ELU_OPS + CHEAP_OPS,
    "Softplus": 2 * TRANSCENDENTAL_OPS + CHEAP_OPS,
}
_ELEMENTWISE: dict[str, float] = {
    **dict.fromkeys(["Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean", "Neg", "Abs",
                     "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Cast", "Where", "Equal",
                     "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "Not", "And", "Or",
                     "Mod"], CHEAP_OPS),
    **dict.fromkeys(["Sqrt", "Exp", "Log", "Erf", "Sin", "Cos"], TRANSCENDENTAL_OPS),
    **dict.fromkeys(["QuantizeLinear", "DequantizeLinear"], QUANTIZE_OPS),
    # Copies that create data (a compiler cannot fold them into addressing).
    **dict.fromkeys(["Pad", "Tile", "DepthToSpace", "SpaceToDepth"], CHEAP_OPS),
}

HANDLERS: dict[str, Handler] = {
    "Conv": _conv(0, 1, 2),
    "ConvInteger": _conv(0, 1, -1, 3),
    "QLinearConv": _conv(0, 3, 8, 5),
    "MatMul": _matmul(0, 1),
    "MatMulInteger": _matmul(0, 1, 2, 3),
    "QLinearMatMul": _matmul(0, 3, 2, 5),
    "Gemm": _gemm,
    "Gather": _gather,
    "LSTM": _recurrent("lstm"),
    "GRU": _recurrent("gru"),
    **{t: _vector("activation", ops) for t, ops in _ACTIVATIONS.items()},
    **{t: _vector("elementwise", ops) for t, ops in _ELEMENTWISE.items()},
    "Pow": _pow,
    "Resize": _resize,
    **dict.fromkeys(["Softmax", "LogSoftmax", "Hardmax"], _vector("softmax", SOFTMAX_OPS, 1)),
    **dict.fromkeys(["LayerNormalization", "InstanceNormalization", "GroupNormalization"],
                    _vector("norm", LAYERNORM_OPS, 1)),
    "BatchNormalization": _vector("norm", BATCHNORM_OPS, 1),
    "LRN": _lrn,
    "LpNormalization": _vector("norm", L2NORM_OPS, 1),
    **dict.fromkeys(["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
                     "ReduceL2", "ReduceSumSquare"], _reduce("norm")),
    **dict.fromkeys(["MaxPool", "AveragePool", "LpPool"], _pool),
    **dict.fromkeys(["GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"], _reduce("pool")),
}
NO_COST: frozenset[str] = frozenset({
    "Reshape", "Transpose", "Flatten", "Concat", "Squeeze", "Unsqueeze", "Split", "Slice",
    "Expand", "Shape", "Size", "Identity", "Dropout", "Constant"})


def read_onnx(data: bytes, source: str, *, fuse_attention: bool = True) -> GraphImport:
    """Ops, constant tensors and skipped layout ops of an ONNX model's main graph."""
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf raises DecodeError, RuntimeWarning-like errors, ...
        raise input_error(source, f"corrupt ONNX file: cannot parse its protobuf "
                          f"({type(exc).__name__}: {exc})") from None
    if not model.ir_version or not model.graph.node:
        raise input_error(source, "not an ONNX model: no IR version or no graph nodes",
                          hint="is the file truncated, or another format?")
    try:
        model = shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as exc:  # the C++ checker raises its own error types
        raise input_error(source, f"ONNX shape inference failed: {exc}") from None
    g = OnnxGraph(model)
    ctx, result = Context(g), GraphImport()
    findings = Findings(source, "ONNX")
    attention = {m.qk: m for m in find_attention(g)} if fuse_attention else {}
    absorbed = set().union(*(m.absorbed for m in attention.values()))
    taken: set[str] = set()
    for i, node in enumerate(g.nodes):
        label = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        where = node.name or f"#{i}"
        if i in absorbed:
            continue
        if i in g.folded:
            result.skipped["(constant folded)"] += 1
            continue
        if i in attention:
            m = attention[i]
            name = unique_name(f"attention_{sum(op.kind == 'attention' for op in result.ops)}",
                               taken)
            try:
                result.ops.append(AttentionOp(name=name, dtype=g.dtype(node), heads=m.heads,
                                              seq_q=m.seq_q, seq_kv=m.seq_kv,
                                              head_dim=m.head_dim, causal=m.causal))
            except NodeError as exc:
                findings.node_error(label, where, str(exc))
            continue
        if label in NO_COST:
            result.skipped[label] += 1
            continue
        handler = HANDLERS.get(label)
        if handler is None:
            findings.unsupported_op(label, where)
            continue
        name = unique_name(node.name or f"{node.op_type}_{i}", taken)
        try:
            ops = handler(ctx, node, name)
        except NodeError as exc:
            findings.node_error(label, where, str(exc))
            continue
        except ValidationError as exc:  # shapes an op rejects (groups not dividing channels)
            findings.node_error(label, where, exc.errors()[0]["msg"])
            continue
        except KeyError as exc:
            findings.node_error(label, where, f"required attribute {exc} is missing")
            continue
        except ZeroDivisionError:
            findings.node_error(label, where, "a tensor it reads or writes is empty")
            continue
        except (ValueError, TypeError, IndexError) as exc:  # attributes of the wrong type or size
            findings.node_error(label, where, f"cannot read this node ({type(exc).__name__}: "
                                f"{exc})")
            continue
        if not ops:
            result.skipped[label] += 1
        # Extra ops of one node (an LSTM's directions) take suffixed names, still unique.
        named = [op if op.name == name else
                 op.model_copy(update={"name": unique_name(op.name, taken)}) for op in ops]
        result.ops += named
        result.origins |= {op.name: i for op in named}
    findings.raise_if_any(HANDLERS, NO_COST)
    result.weights = ctx.weights
    return result
