"""What both importers share: the imported-model record, exact shape rules, vector-op costs and
the one error that lists everything a file holds that hwsim cannot cost."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hwsim.errors import HwsimError, Problem
from hwsim.workload.model import Model
from hwsim.workload.ops import Conv2dOp, MatmulOp, OpBase

# Vector-unit operations per output element, counted like hwsim.workload.builders (exp, log,
# erf and tanh as 4 ops: range reduction + polynomial). Sigmoid = exp + add + divide; ELU =
# compare + exp + subtract; hard-swish = add, clamp, multiply, multiply; quantise = multiply by
# the scale and add the zero point (rounding and clamping ride on the same instructions).
CHEAP_OPS = 1.0
TRANSCENDENTAL_OPS = 4.0
SIGMOID_OPS = TRANSCENDENTAL_OPS + 2.0
ELU_OPS = TRANSCENDENTAL_OPS + 2.0
HARD_SWISH_OPS = 4.0
LEAKY_RELU_OPS = 2.0
QUANTIZE_OPS = 2.0
POW_OPS = 2 * TRANSCENDENTAL_OPS + 1.0  # x**y = exp(y * log x)
BATCHNORM_OPS = 2.0  # inference batch norm folds to x * a + b
L2NORM_OPS = 3.0  # square-accumulate, then one multiply by the row's reciprocal norm


def lrn_ops(size: int) -> float:
    """Vector-unit operations per output element of a local response norm over ``size``
    channels: y = x / (bias + alpha / size * sum of x**2 over the window) ** beta.

    Counted as the operator defines it: 1 multiply for the element's square (each square is
    computed once and shared by the ``size`` windows that contain it), ``size - 1`` adds for the
    window sum, a multiply by alpha / size and an add of the bias (2), the non-integer power
    as exp(beta * log(.)) (:data:`POW_OPS`), and 1 divide. A running window sum (add the new
    channel, subtract the old) would need 2 adds instead of ``size - 1``; at AlexNet's size 5
    that is 15 instead of 17 operations.
    """
    return CHEAP_OPS + (size - 1) * CHEAP_OPS + 2 * CHEAP_OPS + POW_OPS + CHEAP_OPS


@dataclass(frozen=True)
class WeightStats:
    """One constant tensor an op reads (weights, bias or lookup table), as stored in the file."""

    op: str  # the hwsim op that reads it
    tensor: str  # tensor name in the file
    role: str  # "weight" | "bias" | "table"
    shape: tuple[int, ...]
    dtype: str  # storage type in the file ("int8", "int32", "float32", ...)
    bytes: int  # bytes the tensor occupies in the file
    zero_fraction: float | None  # elements equal to the (quantised) zero; None: not readable


@dataclass(frozen=True)
class ImportedModel(Model):
    """A :class:`Model` read from a TFLite or ONNX file, with what the op list cannot hold yet:
    the file's hash, its constant tensors with their zero fractions, and the ops skipped at no
    cost (pure layout ops), so nothing is dropped without a trace."""

    file_sha256: str = ""
    weights: tuple[WeightStats, ...] = ()
    skipped: tuple[tuple[str, int], ...] = ()  # (op type in the file, count)

    @property
    def weight_zero_fraction(self) -> float | None:
        """Zero fraction over every readable weight tensor (biases and tables excluded)."""
        rows = [w for w in self.weights if w.role == "weight" and w.zero_fraction is not None]
        total = sum(math.prod(w.shape) for w in rows)
        if not total:
            return None
        return sum((w.zero_fraction or 0.0) * math.prod(w.shape) for w in rows) / total


@dataclass
class GraphImport:
    """An importer's output before it becomes a Model."""

    ops: list[OpBase] = field(default_factory=list)
    weights: list[WeightStats] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    # op name -> index of the graph node it was read from (ONNX), so ``hwsim capture`` can
    # record each op's activations under the op's own name
    origins: dict[str, int] = field(default_factory=dict)


class NodeError(Exception):
    """A node the importer recognises but cannot represent (dilation, dynamic shape, ...)."""


class Findings:
    """Collects every op a file holds that hwsim cannot cost, to report all of it at once.

    An importer never stops at the first unsupported op: a user fixing an export wants the
    whole list, with counts, in one go.
    """

    def __init__(self, source: str, fmt: str) -> None:
        self.source = source
        self.fmt = fmt
        self.unsupported: dict[str, list[str]] = {}
        self.invalid: list[Problem] = []

    def unsupported_op(self, op_type: str, node: str) -> None:
        self.unsupported.setdefault(op_type, []).append(node)

    def node_error(self, op_type: str, node: str, message: str) -> None:
        self.invalid.append(Problem(f"{op_type} {node}", message))

    def raise_if_any(self, supported: Iterable[str], no_cost: Iterable[str]) -> None:
        if not self.unsupported and not self.invalid:
            return
        problems: list[Problem] = []
        for op_type, nodes in sorted(self.unsupported.items()):
            shown = ", ".join(nodes[:6]) + (f", ... (+{len(nodes) - 6})" if len(nodes) > 6 else "")
            problems.append(Problem(op_type, f"unsupported op type, {len(nodes)} node(s)", shown))
        problems.extend(self.invalid)
        parts = []
        if self.unsupported:
            counts = ", ".join(f"{t} x{len(n)}" for t, n in sorted(self.unsupported.items()))
            parts.append(f"{sum(map(len, self.unsupported.values()))} unsupported op(s): "
                         f"{counts}")
        if self.invalid:
            parts.append(f"{len(self.invalid)} op(s) that cannot be represented")
        if self.unsupported:
            problems[len(self.unsupported) - 1].hint = (
                f"hwsim costs these {self.fmt} ops: {', '.join(sorted(supported))}; and skips "
                f"these layout ops at no cost: {', '.join(sorted(no_cost))}. Re-export without "
                "the others, or write the model as a YAML op list")
        raise HwsimError(self.source, problems, summary="cannot import: " + "; ".join(parts))


def unique_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base_2``, ``base_3``... : op names must be unique within a model."""
    name, i = base or "op", 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


def numel(shape: Sequence[int]) -> int:
    return math.prod(shape) if shape else 1


def conv2d_exact(*, name: str, dtype: str, h: int, w: int, c: int, k: int, r: int, s: int,
                 stride_h: int, stride_w: int, pad_h: int, pad_w: int, out_h: int, out_w: int,
                 groups: int) -> Conv2dOp:
    """A Conv2dOp with exactly the file's output size, hence exactly its MACs.

    ``pad_h``/``pad_w`` are the total zero rows/columns (before + after) the file applies.
    Conv2dOp has one stride and one symmetric padding; files may pad asymmetrically (TF "SAME"
    with an odd total puts the extra row after) or differently in H and W. Rule: use the
    smallest symmetric padding giving the file's output size in both dimensions (MACs depend
    only on the output size and the filter, so they are exact); when none exists (e.g. the
    KWS DS-CNN stem: 49x10 input, 10x4 filter, stride 2, pads 9 and 2), the op takes the
    zero-padded input (h + pad_h) x (w + pad_w) with padding 0 - what an im2col kernel reads
    - which keeps MACs and weights exact and overstates input bytes by the pad only.
    """
    stride = stride_h
    if stride_h != stride_w:
        # A dimension covered by a single window has no stride to speak of (1-D convs as Lx1).
        if out_w == 1 and w + pad_w == s:
            stride = stride_h
        elif out_h == 1 and h + pad_h == r:
            stride = stride_w
        else:
            raise NodeError(f"strides {stride_h}x{stride_w} differ; Conv2dOp has one stride")
    if (h + pad_h - r) // stride + 1 != out_h or (w + pad_w - s) // stride + 1 != out_w:
        raise NodeError(f"output {out_h}x{out_w} does not follow from input {h}x{w}, filter "
                        f"{r}x{s}, stride {stride} and padding {pad_h}/{pad_w}")
    for p in range(max(pad_h, pad_w) // 2 + 2):
        if ((h + 2 * p - r) // stride + 1, (w + 2 * p - s) // stride + 1) == (out_h, out_w):
            return Conv2dOp(name=name, dtype=dtype, h=h, w=w, c=c, k=k, r=r, s=s, stride=stride,
                            padding=p, groups=groups)
    return Conv2dOp(name=name, dtype=dtype, h=h + pad_h, w=w + pad_w, c=c, k=k, r=r, s=s,
                    stride=stride, padding=0, groups=groups)


def same_padding(size: int, out: int, stride: int, kernel: int) -> int:
    """Total padding TF "SAME" / ONNX "SAME_UPPER|LOWER" applies along one dimension."""
    return max((out - 1) * stride + kernel - size, 0)


def matmul_exact(*, name: str, dtype: str, out_shape: Sequence[int], k: int,
                 weight_batch: int | None) -> MatmulOp:
    """A MatmulOp for ``out[..., M, N] = A[..., M, K] @ B[..., K, N]``.

    ``weight_batch`` is the number of distinct weight matrices when B is a constant (product of
    its leading dims), None when B is an activation. A shared weight folds every leading dim of
    A into M - the weight is fetched once for all those rows, which is what a kernel does.
    Two activations keep their leading dims as ``batch`` (one matmul per head).
    """
    out = list(out_shape) or [1]
    n = out[-1]
    if weight_batch is not None:
        rows = numel(out[:-1])
        if rows % weight_batch:
            raise NodeError(f"{weight_batch} weight matrices do not divide {rows} output rows")
        return MatmulOp(name=name, dtype=dtype, m=rows // weight_batch, n=n, k=k,
                        batch=weight_batch, b_is_weight=True)
    m = out[-2] if len(out) >= 2 else 1
    return MatmulOp(name=name, dtype=dtype, m=m, n=n, k=k, batch=numel(out[:-2]),
                    b_is_weight=False)
