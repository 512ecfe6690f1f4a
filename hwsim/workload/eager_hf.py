"""The kernels eager HuggingFace PyTorch runs for one inference forward pass (BERT, GPT-2, OPT).

NeuSight's forward-pass labels (``neusight_forward*.csv``) time ``model(input_ids)`` of
HuggingFace ``transformers==4.38.1`` models built with ``attn_implementation="eager"``, in
``eval()`` under ``torch.no_grad()``, fp32, on PyTorch 2.1 (NeuSight@6945927
neusight/Tracing/trace.py, setup.py, README). Eager fp32 differs from hwsim's stock transformer
build (one fused FlashAttention op, one GELU, fused QKV) in ways that cost time:

- attention is ``matmul -> scale -> mask -> softmax -> matmul`` with the (heads x seq x seq)
  scores written to and read back from DRAM by every step (modeling_bert.py
  ``BertSelfAttention``, modeling_gpt2.py ``GPT2Attention._attn``, modeling_opt.py
  ``OPTAttention``);
- ``torch.matmul`` on the permuted (batch, heads, seq, head_dim) views reshapes them to 3-D
  batches, which copies every operand that is not viewable as one (q, k and v, ATen
  ``at::native::matmul``); OPT copies q, k and v with explicit ``.contiguous()`` instead; the
  merged heads are copied back (``permute(...).contiguous()`` / ``reshape``);
- GPT-2's ``gelu_new`` is the tanh formula in Python (activations.py ``NewGELUActivation``):
  eight elementwise kernels, not one; BERT's ``gelu`` is one kernel, OPT's ``relu`` one;
- linears are ``addmm`` with the bias in the cuBLASLt epilogue (no bias kernel); dropout in
  ``eval()`` launches nothing;
- fp32 matmuls run on CUDA cores (``torch.backends.cuda.matmul.allow_tf32`` is False by default
  since PyTorch 1.12 and NeuSight does not set it).

The heads: BERT is ``AutoModelForSequenceClassification`` (pooler + 2-way classifier on the
first token, no LM head); GPT-2 and OPT are ``AutoModelForCausalLM`` (LM head on every token).
Ops are per input; ``simulate(..., batch=B)`` multiplies them.
"""

from __future__ import annotations

from typing import Literal

from hwsim.workload.builders import GELU_OPS, LAYERNORM_OPS, SOFTMAX_OPS
from hwsim.workload.model import Model
from hwsim.workload.ops import EmbeddingOp, MatmulOp, OpBase, VectorOp

Family = Literal["bert", "gpt2", "opt"]
# NeuSight's model names -> the HuggingFace family its config's "architectures" names
# (scripts/asplos/data/DLmodel_configs/*.json: BertLMHeadModel, GPT2LMHeadModel x3, OPTForCausalLM).
NEUSIGHT_FAMILY: dict[str, Family] = {"bert_large": "bert", "gpt2_large": "gpt2",
                                      "gpt3_xl": "gpt2", "gpt3_27": "gpt2", "opt_13": "opt"}
# Elementwise arithmetic per element, as in builders.py: tanh counted like exp (4: range
# reduction + polynomial); pow(x, 3) is two multiplies; everything else one.
TANH_OPS = 4.0
CUBE_OPS = 2.0
# BertForSequenceClassification's default num_labels (PretrainedConfig: 2).
BERT_LABELS = 2
# OPT's causal 4-D mask (modeling_attn_mask_utils.py _prepare_4d_causal_attention_mask): the
# (seq x seq) causal fill, then expanding the padding mask to (batch, 1, seq, seq), 1 - mask,
# its bool cast and two masked_fills: five passes over seq x seq per input.
OPT_MASK_PASSES = 5


def _ew(name: str, elements: int, ops: float = 1.0, inputs: float = 1.0,
        function: Literal["elementwise", "activation"] = "elementwise") -> VectorOp:
    return VectorOp(name=name, function=function, elements=elements, ops_per_element=ops,
                    inputs_per_element=inputs, dtype="fp32")


def _linear(name: str, m: int, n: int, k: int) -> MatmulOp:
    return MatmulOp(name=name, m=m, n=n, k=k, dtype="fp32")


def _layernorm(name: str, tokens: int, d: int) -> VectorOp:
    return VectorOp(name=name, function="norm", elements=tokens * d,
                    ops_per_element=LAYERNORM_OPS, dtype="fp32", row_elements=d)


def _attention(pre: str, s: int, d: int, heads: int, family: Family) -> list[OpBase]:
    """Scores materialised: bmm, scale, mask, softmax, bmm, with the operand copies."""
    hd, scores = d // heads, heads * s * s
    ops: list[OpBase] = []
    if family == "opt":  # q_proj(x) * scaling, then _shape(...).contiguous() on q, k, v
        ops.append(_ew(pre + "q_scale", s * d))
    ops += [_ew(pre + f"{t}_copy", s * d) for t in "qkv"]
    ops.append(MatmulOp(name=pre + "scores", m=s, n=s, k=hd, batch=heads, b_is_weight=False,
                        dtype="fp32"))
    if family == "opt":  # + (batch, 1, s, s) mask re-read per head, then torch.max with min
        ops += [_ew(pre + "mask_add", scores, inputs=2.0), _ew(pre + "mask_clamp", scores)]
    else:  # / sqrt(head_dim), then the mask: BERT adds (batch,1,1,s), GPT-2 where(bool causal)
        ops += [_ew(pre + "scale", scores), _ew(pre + "mask", scores)]
    ops += [VectorOp(name=pre + "softmax", function="softmax", elements=scores,
                     ops_per_element=SOFTMAX_OPS, dtype="fp32", row_elements=s),
            MatmulOp(name=pre + "context", m=s, n=hd, k=s, batch=heads, b_is_weight=False,
                     dtype="fp32"),
            _ew(pre + "merge_heads", s * d)]
    return ops


def _gelu_new(pre: str, elements: int) -> list[OpBase]:
    """0.5*x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x**3))), one kernel per torch op."""
    return [_ew(pre + "half_x", elements), _ew(pre + "cube", elements, CUBE_OPS),
            _ew(pre + "cube_scale", elements), _ew(pre + "inner_add", elements, inputs=2.0),
            _ew(pre + "inner_scale", elements), _ew(pre + "tanh", elements, TANH_OPS),
            _ew(pre + "one_plus", elements), _ew(pre + "product", elements, inputs=2.0)]


def _layer(pre: str, s: int, d: int, heads: int, d_ff: int, family: Family) -> list[OpBase]:
    ops: list[OpBase] = []
    if family != "bert":  # pre-LN (GPT-2 ln_1, OPT self_attn_layer_norm)
        ops.append(_layernorm(pre + "ln1", s, d))
    if family == "gpt2":  # Conv1D c_attn: one addmm for q, k and v
        ops.append(_linear(pre + "qkv", s, 3 * d, d))
    else:
        ops += [_linear(pre + f"{t}_proj", s, d, d) for t in "qkv"]
    ops += _attention(pre, s, d, heads, family)
    ops += [_linear(pre + "attn_out", s, d, d), _ew(pre + "residual1", s * d, inputs=2.0),
            _layernorm(pre + ("ln_attn" if family == "bert" else "ln2"), s, d),
            _linear(pre + "ffn_up", s, d_ff, d)]
    if family == "gpt2":
        ops += _gelu_new(pre + "gelu.", s * d_ff)
    else:
        ops.append(_ew(pre + "ffn_act", s * d_ff, GELU_OPS if family == "bert" else 1.0,
                       function="activation"))
    ops += [_linear(pre + "ffn_down", s, d, d_ff), _ew(pre + "residual2", s * d, inputs=2.0)]
    if family == "bert":  # post-LN
        ops.append(_layernorm(pre + "ln_out", s, d))
    return ops


def eager_hf_ops(family: Family, *, layers: int, d_model: int, heads: int, d_ff: int,
                 vocab: int, seq: int) -> list[OpBase]:
    """The ops of one input's forward pass, in launch order."""
    s, d = seq, d_model
    ops: list[OpBase] = [EmbeddingOp(name="embed", tokens=s, dim=d, vocab=vocab, dtype="fp32")]
    if family == "bert":  # extended mask (1 - m) * min; token-type and position lookups + adds
        ops += [_ew("mask_invert", s), _ew("mask_scale", s),
                EmbeddingOp(name="token_type_embed", tokens=s, dim=d, vocab=2, dtype="fp32"),
                _ew("embed_add1", s * d, inputs=2.0),
                EmbeddingOp(name="position_embed", tokens=s, dim=d, vocab=s, dtype="fp32"),
                _ew("embed_add2", s * d, inputs=2.0), _layernorm("embed_ln", s, d)]
    else:
        ops += [EmbeddingOp(name="position_embed", tokens=s, dim=d, vocab=s, dtype="fp32"),
                _ew("embed_add", s * d, inputs=2.0)]
    if family == "opt":
        ops += [_ew(f"causal_mask{i}", s * s) for i in range(OPT_MASK_PASSES)]
    for i in range(layers):
        ops += _layer(f"layer{i}.", s, d, heads, d_ff, family)
    if family == "bert":  # pooler dense + tanh on the first token, then the classifier
        ops += [_linear("pooler", 1, d, d), _ew("pooler_tanh", d, TANH_OPS),
                _linear("classifier", 1, BERT_LABELS, d)]
    else:
        ops += [_layernorm("ln_f", s, d), _linear("lm_head", s, vocab, d)]
    return ops


def eager_hf_model(family: Family, *, layers: int, d_model: int, heads: int, d_ff: int,
                   vocab: int, seq: int) -> Model:
    """:func:`eager_hf_ops` as a :class:`Model` (fp32, inference)."""
    if family not in ("bert", "gpt2", "opt"):
        raise ValueError(f"unknown eager HuggingFace family {family!r} (bert, gpt2, opt)")
    if d_model % heads:
        raise ValueError(f"d_model {d_model} is not a multiple of heads {heads}")
    ops = eager_hf_ops(family, layers=layers, d_model=d_model, heads=heads, d_ff=d_ff,
                       vocab=vocab, seq=seq)
    return Model(name=f"eager-hf-{family}", ops=tuple(ops), origin="eager_hf",
                 source="transformers 4.38.1 eager modeling_{bert,gpt2,opt}.py")
