"""Builders expand a parameterised architecture into its op list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hwsim.config.sparsity import DenseSpec, SparsitySpec, TopKSpec
from hwsim.units import Dtype
from hwsim.workload.attention import visible_pairs
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

if TYPE_CHECKING:  # the model schemas are imported by whoever built the builder
    from hwsim.config.model import LiquidBuilder, TransformerBuilder

# Vector-unit operations per element, counted as the arithmetic a straightforward kernel does:
# LayerNorm: mean, variance (sub, square, add), normalise (sub, mul), scale and shift (mul, add)
# ~ 8; softmax: max, sub, exp (counted as 4 ops: range reduction + polynomial), sum, divide ~ 8;
# GELU (tanh form): ~ 8 multiplies/adds plus tanh (4) ~ 12; residual add: 1.
LAYERNORM_OPS = 8.0
SOFTMAX_OPS = 8.0
GELU_OPS = 12.0
TOPK_SELECT_OPS = 4.0  # partial selection per candidate score (compare-and-swap steps)


def build(builder: TransformerBuilder | LiquidBuilder) -> list[OpBase]:
    from hwsim.config.model import LiquidBuilder

    if isinstance(builder, LiquidBuilder):
        return build_liquid(builder)
    return build_transformer(builder)


def build_transformer(p: TransformerBuilder) -> list[OpBase]:
    """Ops of one forward pass (prefill: ``seq`` tokens; decode: 1 token reading a KV cache)."""
    tokens = p.seq if p.phase == "prefill" else 1
    head_dim = p.d_model // p.heads
    kv_dim = (p.kv_heads or p.heads) * head_dim
    dt = p.dtype
    ops: list[OpBase] = []
    if p.patch_embed is not None:
        pe = p.patch_embed
        ops.append(Conv2dOp(name="patch_embed", h=pe.image, w=pe.image, c=pe.channels,
                            k=p.d_model, r=pe.patch, s=pe.patch, stride=pe.patch, dtype=dt))
    if p.vocab:
        ops.append(EmbeddingOp(name="embed", tokens=tokens, dim=p.d_model, vocab=p.vocab, dtype=dt))
    for i in range(p.layers):
        ops += _layer(p, f"layer{i}.", i, tokens, head_dim, kv_dim)
    if p.vocab and p.lm_head:
        ops += [
            VectorOp(name="ln_f", function="norm", elements=tokens * p.d_model,
                     ops_per_element=LAYERNORM_OPS, dtype=dt),
            MatmulOp(name="lm_head", m=tokens, n=p.vocab, k=p.d_model, dtype=dt),
        ]
    if p.patch_embed is not None and p.patch_embed.classes:
        ops.append(MatmulOp(name="classifier", m=1, n=p.patch_embed.classes, k=p.d_model,
                            dtype=dt))
    return ops


def _layer(p: TransformerBuilder, pre: str, i: int, tokens: int, head_dim: int,
           kv_dim: int) -> list[OpBase]:
    dt = p.dtype
    ops: list[OpBase] = [
        VectorOp(name=pre + "ln1", function="norm", elements=tokens * p.d_model,
                 ops_per_element=LAYERNORM_OPS, dtype=dt),
        MatmulOp(name=pre + "qkv", m=tokens, n=p.d_model + 2 * kv_dim, k=p.d_model, dtype=dt),
    ]
    if p.gate_dim:  # gated attention: a small network scores blocks/heads before attention
        ops += [MatmulOp(name=pre + "attn_gate", m=tokens, n=p.gate_dim, k=p.d_model, dtype=dt,
                         role="gate"),
                MatmulOp(name=pre + "attn_gate_out", m=tokens, n=p.heads, k=p.gate_dim,
                         dtype=dt, role="gate")]
    if p.router_dim:  # routed attention: low-width scores of every key, then top-k per query
        # Only keys the mask lets a query see are scored (mean per query, rounded up).
        keys = max(1, -(-visible_pairs(tokens, p.seq, p.causal, p.window) // tokens))
        ops += [MatmulOp(name=pre + "attn_route_proj", m=tokens, n=2 * p.router_dim,
                         k=p.d_model, dtype=dt, role="router"),
                MatmulOp(name=pre + "attn_route_scores", m=tokens, n=keys, k=p.router_dim,
                         batch=p.heads, b_is_weight=False, dtype=dt, role="router"),
                VectorOp(name=pre + "attn_route_topk", elements=p.heads * tokens * keys,
                         ops_per_element=TOPK_SELECT_OPS, dtype=dt)]
    ops += [
        AttentionOp(name=pre + "attn", heads=p.heads, kv_heads=p.kv_heads, seq_q=tokens,
                    seq_kv=p.seq, head_dim=head_dim, causal=p.causal, window=p.window,
                    layer=i, dtype=dt, sparsity=p.attention_sparsity),
        MatmulOp(name=pre + "attn_out", m=tokens, n=p.d_model, k=p.d_model, dtype=dt),
        VectorOp(name=pre + "residual1", elements=tokens * p.d_model, inputs_per_element=2,
                 dtype=dt),
        VectorOp(name=pre + "ln2", function="norm", elements=tokens * p.d_model,
                 ops_per_element=LAYERNORM_OPS, dtype=dt),
    ]
    ops += _moe_ffn(p, pre, tokens) if p.moe is not None else _ffn(p, pre, tokens, p.d_ff)
    ops.append(VectorOp(name=pre + "residual2", elements=tokens * p.d_model,
                        inputs_per_element=2, dtype=dt))
    return ops


def _ffn(p: TransformerBuilder, pre: str, tokens: int, d_ff: int) -> list[OpBase]:
    dt = p.dtype
    sparse = not isinstance(p.ffn_sparsity, DenseSpec)
    ops: list[OpBase] = []
    up_sparsity = DenseSpec()
    if p.predictor_rank and sparse:
        # Deja Vu's predictor: x -> rank -> d_ff scores, then top-k; the chosen neurons are the
        # only ffn_up outputs computed (sparse on N) and ffn_down inputs used (sparse on K).
        ops += [MatmulOp(name=pre + "ffn_predictor_down", m=tokens, n=p.predictor_rank,
                         k=p.d_model, dtype=dt, role="predictor"),
                MatmulOp(name=pre + "ffn_predictor_up", m=tokens, n=d_ff,
                         k=p.predictor_rank, dtype=dt, role="predictor"),
                VectorOp(name=pre + "ffn_predictor_topk", elements=tokens * d_ff,
                         ops_per_element=TOPK_SELECT_OPS, dtype=dt)]
        up_sparsity = p.ffn_sparsity
    gated = 2 if p.gated_ffn else 1
    ops += [
        MatmulOp(name=pre + "ffn_up", m=tokens, n=d_ff * gated, k=p.d_model, dtype=dt,
                 sparsity=up_sparsity, sparse_dim="n"),
        VectorOp(name=pre + "ffn_act", function="activation", elements=tokens * d_ff,
                 ops_per_element=GELU_OPS, inputs_per_element=gated, dtype=dt),
        MatmulOp(name=pre + "ffn_down", m=tokens, n=p.d_model, k=d_ff, dtype=dt,
                 sparsity=p.ffn_sparsity),
    ]
    return ops


def moe_expert_ops(pre: str, *, tokens: int, d_model: int, d_ff: int, experts: int,
                   top_k: int, gated: bool, dtype: Dtype,
                   routing: SparsitySpec | None = None) -> list[OpBase]:
    """The routed experts of one MoE layer: their two grouped GEMMs (``MoeOp``), the activation
    of every routed token's expert rows (the dense FFN's ``ffn_act``, ``top_k`` times over), and
    the combine that sums each token's ``top_k`` expert outputs weighted by its gates."""
    inputs = 2 if gated else 1
    return [
        MoeOp(name=pre + "experts", tokens=tokens, d_model=d_model, d_ff=d_ff, experts=experts,
              top_k=top_k, gated=gated, dtype=dtype, sparsity=routing or DenseSpec()),
        VectorOp(name=pre + "experts_act", function="activation",
                 elements=tokens * top_k * d_ff, ops_per_element=GELU_OPS,
                 inputs_per_element=inputs, dtype=dtype),
        VectorOp(name=pre + "experts_combine", elements=tokens * d_model,
                 ops_per_element=2.0 * top_k, inputs_per_element=top_k, dtype=dtype),
    ]


def _moe_ffn(p: TransformerBuilder, pre: str, tokens: int) -> list[OpBase]:
    assert p.moe is not None
    moe, dt = p.moe, p.dtype
    d_ff = moe.d_ff_expert or p.d_ff
    ops: list[OpBase] = [
        RouterOp(name=pre + "router", tokens=tokens, d_model=p.d_model, experts=moe.experts,
                 top_k=moe.top_k, dtype=dt, role="router"),
        *moe_expert_ops(pre, tokens=tokens, d_model=p.d_model, d_ff=d_ff,
                        experts=moe.experts, top_k=moe.top_k, gated=p.gated_ffn, dtype=dt,
                        routing=moe.routing),
    ]
    if moe.shared_experts:
        gated = 2 if p.gated_ffn else 1
        shared_ff = d_ff * moe.shared_experts
        ops += [MatmulOp(name=pre + "shared_up", m=tokens, n=shared_ff * gated,
                         k=p.d_model, dtype=dt),
                VectorOp(name=pre + "shared_act", function="activation",
                         elements=tokens * shared_ff, ops_per_element=GELU_OPS,
                         inputs_per_element=gated, dtype=dt),
                MatmulOp(name=pre + "shared_down", m=tokens, n=p.d_model,
                         k=shared_ff, dtype=dt, sparsity=p.ffn_sparsity)]
    return ops


def build_liquid(p: LiquidBuilder) -> list[OpBase]:
    """A stack of recurrent layers stepped ``steps`` times, then a linear readout."""
    ops: list[OpBase] = []
    width = p.inputs
    for i in range(p.layers):
        ops.append(RecurrentOp(name=f"layer{i}.cell", cell=p.cell, steps=p.steps, inputs=width,
                               hidden=p.hidden, dtype=p.dtype, sparsity=p.sparsity))
        width = p.hidden
    readout_sparsity = p.sparsity if isinstance(p.sparsity, TopKSpec) else DenseSpec()
    ops.append(MatmulOp(name="readout", m=1, n=p.outputs, k=p.hidden, dtype=p.dtype,
                        sparsity=readout_sparsity))
    return ops
