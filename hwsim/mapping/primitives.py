"""Lowering: every op kind becomes GEMMs, vector work and data movement for a batch of inputs.

This is the one place that knows how a workload op turns into hardware work, so each hardware
kind's mapper only has to cost three primitives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwsim.config.sparsity import AttentionGateSpec, DenseSpec, MoeSpec
from hwsim.mapping.loopnest import ConvGeometry, LoopNest, conv_nest, gemm_nest
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
    count: float  # independent GEMMs (an expectation for MoE experts used)
    dtype_bytes: int
    b_is_weight: bool
    b_shared: bool = False  # the same B for all ``count`` GEMMs (a recurrent cell's steps)
    sparsity: object = None  # SparsitySpec of the sparse operand (None: dense)
    sparse_dim: str = "k"  # which GEMM dimension the sparsity lives on: "k" or "n"
    role: str = "main"  # the op's role (predictor/router/gate ops may run on a router unit)
    conv: ConvGeometry | None = None  # a lowered convolution's windows (None: a plain GEMM)

    @property
    def nest(self) -> LoopNest:
        """The loops this GEMM really runs (a convolution's own, not its im2col matrix)."""
        if self.conv is None:
            return gemm_nest(self.m, self.n, self.k, self.count, self.b_shared)
        g = self.conv
        batch = max(1, self.m // (g.out_h * g.out_w))
        return conv_nest(batch, self.n, self.k // (g.fy * g.fx), g, round(self.count))


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
    the chip it runs on). Activation sparsity travels with the GEMMs it affects; coarse-grained
    skips decided ahead of the GEMM (gated attention blocks, MoE routes) change the shapes."""
    b = dtype_bytes or op.dtype_bytes
    spec = None if isinstance(op.sparsity, DenseSpec) else op.sparsity
    role = op.role
    if isinstance(op, MatmulOp):
        if op.b_is_weight:
            return [GemmWork(op.m * batch, op.n, op.k, op.batch, b, True, sparsity=spec,
                             sparse_dim=op.sparse_dim, role=role)]
        return [GemmWork(op.m, op.n, op.k, op.batch * batch, b, False, sparsity=spec,
                         sparse_dim=op.sparse_dim, role=role)]
    if isinstance(op, Conv2dOp):
        m, n, k, count = conv_to_gemm(op.h, op.w, op.c, op.k, op.r, op.s, op.stride, op.padding,
                                      op.groups)
        geom = ConvGeometry(in_h=op.h, in_w=op.w, out_h=op.out_h, out_w=op.out_w, fy=op.r,
                            fx=op.s, stride=op.stride)
        return [GemmWork(int(m) * batch, int(n), int(k), int(count), b, True, sparsity=spec,
                         role=role, conv=geom)]
    if isinstance(op, AttentionOp):
        return _attention(op, batch, b, spec)
    if isinstance(op, VectorOp):
        n = op.elements * batch
        return [VectorWork(n, op.ops_per_element, int(n * op.inputs_per_element * b), n * b)]
    if isinstance(op, EmbeddingOp):
        return [MoveWork(op.tokens * batch * op.dim * b)]
    if isinstance(op, RouterOp):
        t = op.tokens * batch
        return [GemmWork(t, op.experts, op.d_model, 1, b, True, role=role),
                VectorWork(t * op.experts, TOPK_OPS_PER_SCORE, t * op.experts * b,
                           t * op.top_k * b)]
    if isinstance(op, MoeOp):
        return _moe(op, batch, b)
    if isinstance(op, RecurrentOp):
        # Steps are sequential: each is a (batch x (inputs+hidden)) @ ((inputs+hidden) x gates*h).
        # Sparsity is on the hidden state: the inputs stay dense, so K's density is diluted.
        if spec is not None and hasattr(spec, "density"):
            k_total = op.inputs + op.hidden
            spec = spec.model_copy(update={
                "density": (op.inputs + spec.density * op.hidden) / k_total})
        return [GemmWork(batch, op.gates * op.hidden, op.inputs + op.hidden, op.steps, b, True,
                         b_shared=True, sparsity=spec, role=role)]
    raise TypeError(f"no lowering for op kind {type(op).__name__}")


def attention_keep(spec: AttentionGateSpec, layer: int) -> float:
    """Fraction of attention work a gate keeps at depth ``layer``."""
    return min(1.0, max(0.0, spec.keep_ratio * (1.0 - spec.depth_decay) ** layer))


def _attention(op: AttentionOp, batch: int, b: int, spec: object) -> list[Work]:
    """QK^T, softmax and PV as GEMMs per K/V head: the query heads of a GQA group share their
    K and V, so they are packed as rows of one GEMM (as FlashDecoding and FlashAttention-3's
    PackGQA do) and K/V are read once per K/V head. A causal or windowed mask shrinks the key
    dimension to the mean number of keys a query sees (tiles outside the mask are skipped)."""
    shape = op.shape
    heads, kv_heads = op.heads, shape.kv_heads
    keys = shape.keys_per_query
    gemm_spec = None
    if isinstance(spec, AttentionGateSpec):
        # The gate decides before the GEMMs run, so skipped heads/blocks are never issued: every
        # chip benefits (schedule-level skipping), at the gate op's own cost.
        keep = attention_keep(spec, op.layer)
        if spec.granularity == "head":
            heads = max(1, math.ceil(keep * op.heads))
            kv_heads = math.ceil(heads / shape.group)  # kept heads fill whole groups first
        else:
            unit = spec.block if spec.granularity == "block" else 1
            blocks = math.ceil(keys / unit)
            keys = min(keys, max(unit, math.ceil(keep * blocks) * unit))
    elif spec is not None:
        gemm_spec = spec  # routed/top-k of the visible keys: chip features decide (union per tile)
    rows = math.ceil(heads / kv_heads) * op.seq_q  # query rows per K/V head
    count = kv_heads * batch
    scores = heads * batch * op.seq_q * keys
    if gemm_spec is not None and hasattr(gemm_spec, "density"):
        scores = max(1, math.ceil(scores * gemm_spec.density))  # softmax over the kept keys
    return [
        GemmWork(rows, keys, op.head_dim, count, b, False, sparsity=gemm_spec,
                 sparse_dim="n", role=op.role),  # Q @ K^T: selected keys are output columns
        VectorWork(scores, SOFTMAX_OPS, scores * b, scores * b),
        GemmWork(rows, op.head_dim, keys, count, b, False, sparsity=gemm_spec,
                 sparse_dim="k", role=op.role),  # P @ V: selected keys are the reduction
    ]


def _moe(op: MoeOp, batch: int, b: int) -> list[Work]:
    # Here, not at import: the routing statistics need scipy, which a dense layer never does.
    from hwsim.sparsity.moe_expect import expected_loads

    spec = op.sparsity
    tokens = op.tokens * batch
    if isinstance(spec, MoeSpec):
        loads = expected_loads(tokens, op.experts, op.top_k, spec.routing, spec.zipf_s,
                               spec.capacity_factor)
    else:  # no routing spec: balanced routing, dropless
        loads = expected_loads(tokens, op.experts, op.top_k)
    # Every used expert's GEMM is padded to the same token count (static shapes); unused
    # experts are skipped, weights included: `count` is the expected number of experts used.
    m, used = loads.padded_tokens, loads.experts_used
    up = op.d_ff * (op.matrices - 1)
    return [GemmWork(m, up, op.d_model, used, b, True, role=op.role),
            GemmWork(m, op.d_model, op.d_ff, used, b, True, role=op.role)]
