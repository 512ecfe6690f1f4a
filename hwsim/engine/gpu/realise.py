"""Realised sparsity for the GPU cycle fidelity: seeded masks for gather-GEMMs, seeded MoE routes.

A gather-GEMM (``sparse_features.gather``) reads and multiplies the union of the weight rows
its tokens need; here that union is measured on seeded masks (the spec kinds and generators of
:func:`hwsim.engine.accelerator.cycle.realise_masks`) instead of the closed form. Attention with
top-k keys per query gathers K/V per query block (one FlashAttention CTA), so it gets one union
per block.
MoE routes are drawn per token (:func:`hwsim.sparsity.realise.moe_routes`), giving real
per-expert token counts under the execution law of :mod:`hwsim.sparsity.moe_expect` (every used
expert padded to the largest load, capped at the capacity; the rest dropped).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hwsim.config.sparsity import MoeSpec, ReluSpec, TopKSpec
from hwsim.mapping.primitives import GemmWork
from hwsim.workload.ops import MoeOp

# Masks cost 60-450 us per token at K = 11008 (topk_masks, measured here); the union of more
# tokens follows from that of this many by the independent-groups law (below), and a union the
# closed form puts within SATURATED of 1 (no popularity skew) is not realised at all: its
# realisation is 1 to that precision. Both keep prefill fast.
MAX_REALISED_TOKENS = 128
SATURATED = 1e-6
# FlashAttention-2 processes 128 queries per CTA (Dao 2023, Sec. 3.3), as in gpu_kernels.
Q_BLOCK = 128


@dataclass(frozen=True)
class Unions:
    """Realised statistics of one sparse GEMM: mean density and union fraction per CTA group
    (one entry for a weight gather, one per query block for attention)."""

    density: float
    unions: np.ndarray

    @property
    def mean(self) -> float:
        return float(np.mean(self.unions))


@dataclass(frozen=True)
class MoeRoutes:
    loads: np.ndarray  # tokens routed to each expert (before capacity drops)
    padded_tokens: int  # each used expert's GEMM rows: min(capacity, largest load)
    experts_used: int
    dropped: int  # token-expert assignments over capacity


def gather_unions(w: GemmWork, seed: int, z: float, per_block: bool) -> Unions | None:
    """Realised density and unions of ``w``'s sparse operand; None when the spec has no mask.

    ``per_block``: one union per group of ``min(M, 128)`` query rows (attention); else one over
    all M tokens. ``z`` shifts the density by z standard deviations of its variability."""
    from hwsim.kernels.sparsity_kernels import batch_union_counts
    from hwsim.sparsity.realise import expected_union_density, shifted_density, spec_masks

    spec = w.sparsity
    k_len = w.n if w.sparse_dim == "n" else w.k
    rows = w.m * (max(1, math.ceil(w.count)) if per_block else 1)
    tokens = max(1, min(rows, MAX_REALISED_TOKENS))
    group = max(1, min(w.m, Q_BLOCK)) if per_block else w.m
    if isinstance(spec, TopKSpec | ReluSpec):
        d = shifted_density(spec, k_len, z)
        skew = spec.popularity_skew if isinstance(spec, TopKSpec) else 0.0
        corr = spec.token_correlation if isinstance(spec, TopKSpec) else 0.0
        u = float(expected_union_density(d, group, correlation=corr, k_dim=k_len))
        if skew == 0.0 and u >= 1.0 - SATURATED:
            return Unions(d, np.array([u]))
    mask = spec_masks(spec, tokens, k_len, seed=seed, z=z)
    if mask is None:
        return None
    density = float(mask.density())
    unions = batch_union_counts(mask.bits, min(group, tokens)).astype(np.float64) / k_len
    if not per_block and w.m > tokens:
        # More tokens than realised: independent groups of `tokens` each miss a row with
        # probability (1 - u), so M tokens miss it with (1 - u)^(M / tokens).
        unions = 1.0 - (1.0 - unions) ** (w.m / tokens)
    return Unions(density, unions)


def moe_routes(op: MoeOp, batch: int, seed: int) -> MoeRoutes:
    """Seeded routes of ``op.tokens x batch`` tokens and the expert loads they give."""
    from hwsim.kernels.sparsity_kernels import expert_loads
    from hwsim.sparsity.realise import expert_capacity
    from hwsim.sparsity.realise import moe_routes as draw

    tokens = op.tokens * batch
    spec = op.sparsity
    routing, zipf_s = (spec.routing, spec.zipf_s) if isinstance(spec, MoeSpec) else (
        "uniform", 1.0)
    routes = draw(tokens, op.experts, op.top_k, seed=seed, routing=routing,  # type: ignore[arg-type]
                  zipf_s=zipf_s)
    cap = (expert_capacity(tokens, op.experts, op.top_k, spec.capacity_factor)
           if isinstance(spec, MoeSpec) else tokens)
    loads, _, dropped = expert_loads(routes, op.experts, cap)
    return MoeRoutes(loads=loads, padded_tokens=max(1, min(cap, int(loads.max(initial=0)))),
                     experts_used=max(1, int(np.count_nonzero(loads))), dropped=int(dropped))


def moe_works(op: MoeOp, batch: int, routes: MoeRoutes, dtype_bytes: int) -> list[GemmWork]:
    """The grouped GEMMs (up/gate, down) of the realised routes: ``experts_used`` GEMMs of
    ``padded_tokens`` rows each (the shapes :func:`hwsim.mapping.primitives.lower` gives in
    expectation)."""
    m, used = routes.padded_tokens, routes.experts_used
    up = op.d_ff * (op.matrices - 1)
    return [GemmWork(m, up, op.d_model, used, dtype_bytes, True, role=op.role),
            GemmWork(m, op.d_model, op.d_ff, used, dtype_bytes, True, role=op.role)]
