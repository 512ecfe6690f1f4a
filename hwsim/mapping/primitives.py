"""Lowering: every op kind becomes GEMMs, vector work and data movement for a batch of inputs.

This is the one place that knows how a workload op turns into hardware work, so each hardware
kind's mapper only has to cost three primitives.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.mapping.lowering import conv_to_gemm
from hwsim.workload.builders import SOFTMAX_OPS
from hwsim.workload.ops import (
    AttentionOp,
    Conv2dOp,
    EmbeddingOp,
    MatmulOp,
    MoeOp,
    OpBase,
    RecurrentOp,
    RouterOp,
    VectorOp,
)

# Top-k over E router scores: a partial selection, ~log2(E) compare-and-swap steps per score.
TOPK_OPS_PER_SCORE = 4.0


@dataclass(frozen=True)
class GemmWork:
    """``count`` independent GEMMs out[M,N] = A[M,K] @ B[K,N]."""

    m: int
    n: int
    k: int
    count: int
    dtype_bytes: int
    b_is_weight: bool
    b_shared: bool = False  # the same B for all ``count`` GEMMs (a recurrent cell's steps)


@dataclass(frozen=True)
class VectorWork:
    elements: int
    ops_per_element: float
    bytes_in: int
    bytes_out: int


@dataclass(frozen=True)
class MoveWork:
    """Pure data movement (embedding gathers): read and write ``bytes`` off-chip."""

    bytes: int


Work = GemmWork | VectorWork | MoveWork


def lower(op: OpBase, batch: int, dtype_bytes: int | None = None) -> list[Work]:
    """Hardware work for ``batch`` inputs of ``op``. Weights are shared across the batch.

    ``dtype_bytes`` stores operands at another width than the op's dtype (a model quantised for
    the chip it runs on)."""
    b = dtype_bytes or op.dtype_bytes
    if isinstance(op, MatmulOp):
        if op.b_is_weight:
            return [GemmWork(op.m * batch, op.n, op.k, op.batch, b, True)]
        return [GemmWork(op.m, op.n, op.k, op.batch * batch, b, False)]
    if isinstance(op, Conv2dOp):
        m, n, k, count = conv_to_gemm(op.h, op.w, op.c, op.k, op.r, op.s, op.stride, op.padding,
                                      op.groups)
        return [GemmWork(int(m) * batch, int(n), int(k), int(count), b, True)]
    if isinstance(op, AttentionOp):
        heads = op.heads * batch
        scores = heads * op.seq_q * op.seq_kv
        return [
            GemmWork(op.seq_q, op.seq_kv, op.head_dim, heads, b, False),  # Q @ K^T
            VectorWork(scores, SOFTMAX_OPS, scores * b, scores * b),
            GemmWork(op.seq_q, op.head_dim, op.seq_kv, heads, b, False),  # P @ V
        ]
    if isinstance(op, VectorOp):
        n = op.elements * batch
        return [VectorWork(n, op.ops_per_element, int(n * op.inputs_per_element * b), n * b)]
    if isinstance(op, EmbeddingOp):
        return [MoveWork(op.tokens * batch * op.dim * b)]
    if isinstance(op, RouterOp):
        t = op.tokens * batch
        return [GemmWork(t, op.experts, op.d_model, 1, b, True),
                VectorWork(t * op.experts, TOPK_OPS_PER_SCORE, t * op.experts * b,
                           t * op.top_k * b)]
    if isinstance(op, MoeOp):
        # Expected tokens per expert under balanced routing; skewed routing is the sparsity
        # engine's job (it replaces this with realised per-expert loads).
        per_expert = max(1, -(-op.tokens * batch * op.top_k // op.experts))
        up = op.d_ff * (op.matrices - 1)
        return [GemmWork(per_expert, up, op.d_model, op.experts, b, True),
                GemmWork(per_expert, op.d_model, op.d_ff, op.experts, b, True)]
    if isinstance(op, RecurrentOp):
        # Steps are sequential: each is a (batch x (inputs+hidden)) @ ((inputs+hidden) x gates*h).
        return [GemmWork(batch, op.gates * op.hidden, op.inputs + op.hidden, op.steps, b, True,
                         b_shared=True)]
    raise TypeError(f"no lowering for op kind {type(op).__name__}")
