"""Builders expand a parameterised architecture into its op list."""

from __future__ import annotations

from hwsim.config.model import TransformerBuilder
from hwsim.workload.ops import AttentionOp, EmbeddingOp, MatmulOp, OpBase, VectorOp

# Vector-unit operations per element, counted as the arithmetic a straightforward kernel does:
# LayerNorm: mean, variance (sub, square, add), normalise (sub, mul), scale and shift (mul, add)
# ~ 8; softmax: max, sub, exp (counted as 4 ops: range reduction + polynomial), sum, divide ~ 8;
# GELU (tanh form): ~ 8 multiplies/adds plus tanh (4) ~ 12; residual add: 1.
LAYERNORM_OPS = 8.0
SOFTMAX_OPS = 8.0
GELU_OPS = 12.0


def build_transformer(p: TransformerBuilder) -> list[OpBase]:
    """Ops of one forward pass (prefill: ``seq`` tokens; decode: 1 token reading a KV cache)."""
    tokens = p.seq if p.phase == "prefill" else 1
    head_dim = p.d_model // p.heads
    kv_heads = p.kv_heads or p.heads
    kv_dim = kv_heads * head_dim
    dt = p.dtype
    ops: list[OpBase] = []
    if p.vocab:
        ops.append(EmbeddingOp(name="embed", tokens=tokens, dim=p.d_model, vocab=p.vocab, dtype=dt))
    for i in range(p.layers):
        pre = f"layer{i}."
        ops += [
            VectorOp(name=pre + "ln1", function="norm", elements=tokens * p.d_model,
                     ops_per_element=LAYERNORM_OPS, dtype=dt),
            MatmulOp(name=pre + "qkv", m=tokens, n=p.d_model + 2 * kv_dim, k=p.d_model, dtype=dt),
            AttentionOp(name=pre + "attn", heads=p.heads, seq_q=tokens, seq_kv=p.seq,
                        head_dim=head_dim, dtype=dt),
            MatmulOp(name=pre + "attn_out", m=tokens, n=p.d_model, k=p.d_model, dtype=dt),
            VectorOp(name=pre + "residual1", elements=tokens * p.d_model, inputs_per_element=2,
                     dtype=dt),
            VectorOp(name=pre + "ln2", function="norm", elements=tokens * p.d_model,
                     ops_per_element=LAYERNORM_OPS, dtype=dt),
            MatmulOp(name=pre + "ffn_up", m=tokens, n=p.d_ff * (2 if p.gated_ffn else 1),
                     k=p.d_model, dtype=dt),
            VectorOp(name=pre + "ffn_act", function="activation", elements=tokens * p.d_ff,
                     ops_per_element=GELU_OPS, inputs_per_element=2 if p.gated_ffn else 1,
                     dtype=dt),
            MatmulOp(name=pre + "ffn_down", m=tokens, n=p.d_model, k=p.d_ff, dtype=dt),
            VectorOp(name=pre + "residual2", elements=tokens * p.d_model, inputs_per_element=2,
                     dtype=dt),
        ]
    if p.vocab and p.lm_head:
        ops += [
            VectorOp(name="ln_f", function="norm", elements=tokens * p.d_model,
                     ops_per_element=LAYERNORM_OPS, dtype=dt),
            MatmulOp(name="lm_head", m=tokens, n=p.vocab, k=p.d_model, dtype=dt),
        ]
    return ops
