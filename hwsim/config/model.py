"""Model document schema: a workload is either an explicit op list or a builder with parameters."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from hwsim.config.base import StrictModel
from hwsim.config.sparsity import DenseSpec, MoeSpec, SparsitySpec
from hwsim.units import Dtype
from hwsim.workload.ops import Op

Size = Annotated[int, Field(ge=1, le=10**9)]


class MoeBlock(StrictModel):
    """Replace every FFN by a routed mixture of experts."""

    experts: Size
    top_k: Size = 1
    d_ff_expert: Size | None = Field(None, description="expert FFN width (default: d_ff)")
    shared_experts: int = Field(0, ge=0, description="always-active experts (DeepSeekMoE)")
    routing: SparsitySpec = Field(MoeSpec(), description="routing law and capacity")


class PatchEmbed(StrictModel):
    """Vision-transformer input: a stride-`patch` conv over the image, plus a class token."""

    image: Size = Field(description="image side, pixels")
    patch: Size = Field(description="patch side, pixels")
    channels: Size = 3
    classes: int = Field(0, ge=0, description="classifier outputs (0: none)")


class TransformerBuilder(StrictModel):
    """A decoder/encoder transformer stack (GPT-2, BERT, LLaMA, ViT shapes)."""

    kind: Literal["transformer"] = "transformer"
    layers: Size = Field(description="transformer blocks")
    d_model: Size = Field(description="hidden width")
    heads: Size = Field(description="attention heads")
    kv_heads: Size | None = Field(None, description="key/value heads (grouped-query attention): "
                                  "must divide heads; unset = heads (multi-head attention)")
    causal: bool = Field(False, description="decoder attention: each token sees only earlier "
                         "tokens (GPT, LLaMA); false = full attention (BERT, ViT, T5 encoder)")
    window: Size | None = Field(None, description="sliding-window attention: each token sees at "
                                "most this many keys, and the KV cache rolls at this length "
                                "(Mistral 7B: 4096); unset = no window")
    d_ff: Size = Field(description="feed-forward inner width")
    gated_ffn: bool = Field(False, description="SwiGLU-style FFN with a gate matrix")
    vocab: int = Field(0, ge=0, description="vocabulary size (0: no embedding or LM head)")
    seq: Size = Field(description="sequence length, tokens (KV-cache length in decode)")
    phase: Literal["prefill", "decode"] = Field("prefill", description="prefill processes seq "
                                                "tokens; decode one new token against seq")
    lm_head: bool = Field(True, description="include the output projection to the vocabulary")
    dtype: Dtype = "int8"
    moe: MoeBlock | None = Field(None, description="mixture-of-experts FFNs")
    patch_embed: PatchEmbed | None = Field(None, description="vision input (ViT)")
    ffn_sparsity: SparsitySpec = Field(DenseSpec(), description="activation sparsity of the "
                                       "FFN's inner neurons (input of ffn_down)")
    predictor_rank: int = Field(0, ge=0, description="low-rank predictor of active FFN neurons "
                                "(Deja Vu): 0 = none; >0 also skips ffn_up's inactive outputs")
    attention_sparsity: SparsitySpec = Field(DenseSpec(), description="attention_gate (skip "
                                             "blocks) or topk (keys per query)")
    gate_dim: int = Field(0, ge=0, description="gate network width per layer for gated "
                          "attention (its cost is a real op)")
    router_dim: int = Field(0, ge=0, description="routing-network projection width for routed "
                            "attention: scores of every key at this width pick the top-k")

    @model_validator(mode="after")
    def _heads(self) -> TransformerBuilder:
        if self.d_model % self.heads:
            raise ValueError(f"heads={self.heads} must divide d_model={self.d_model}")
        if self.kv_heads is not None and self.heads % self.kv_heads:
            divisors = [d for d in range(1, self.heads + 1) if self.heads % d == 0]
            raise ValueError(f"kv_heads={self.kv_heads} must divide heads={self.heads}; "
                             f"use one of {divisors}")
        return self


class LiquidBuilder(StrictModel):
    """A sparse liquid network: CfC/LTC-style recurrent layers stepped over an input sequence,
    with a fraction of hidden neurons active per step, and a linear readout."""

    kind: Literal["liquid"] = "liquid"
    layers: Size = 1
    inputs: Size = Field(description="input features per step")
    hidden: Size = Field(description="neurons per layer")
    steps: Size = Field(description="time steps per inference")
    cell: Literal["cfc", "ltc", "lstm", "gru"] = "cfc"
    outputs: Size = Field(description="readout classes")
    sparsity: SparsitySpec = Field(DenseSpec(), description="active hidden neurons per step")
    dtype: Dtype = "int8"


Builder = Annotated[TransformerBuilder | LiquidBuilder, Field(discriminator="kind")]


class MeasuredAccuracySource(StrictModel):
    """Accuracy measured by hwsim itself: a trained network in models/weights evaluated on its
    real test set under the model's sparsity."""

    measured: str = Field(min_length=1, description="measured family, e.g. digits-mlp")


class LiteratureAccuracySource(StrictModel):
    """Accuracy from a published curve shipped with hwsim (each point with its citation)."""

    literature: str = Field(min_length=1, description="curve id, e.g. teal-llama2-7b")


class CurveAccuracySource(StrictModel):
    """A user-supplied curve: a CSV with columns density and the metric."""

    csv: str = Field(min_length=1, description="path to the CSV, relative to the model file")
    metric: str = Field("accuracy", min_length=1,
                        description="the metric column's name, e.g. accuracy or perplexity")
    source: str = Field("user-supplied", description="where the curve comes from")


AccuracySource = MeasuredAccuracySource | LiteratureAccuracySource | CurveAccuracySource


class ModelDoc(StrictModel):
    schema_version: Literal[1] = 1
    name: str = Field(min_length=1)
    description: str = Field("", description="one line shown by `hwsim list models`")
    source: str = Field(min_length=1, description="where the shapes come from")
    builder: Builder | None = Field(None, description="generate ops from parameters")
    ops: list[Op] | None = Field(None, description="explicit op list, in execution order")
    accuracy: AccuracySource | None = Field(
        None, description="where this model's accuracy under sparsity comes from; none = unknown")

    @model_validator(mode="after")
    def _one_form(self) -> ModelDoc:
        if (self.builder is None) == (self.ops is None):
            raise ValueError("give exactly one of 'builder' or 'ops'")
        if self.ops is not None:
            if not self.ops:
                raise ValueError("'ops' is empty")
            names = [op.name for op in self.ops]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"op names must be unique; repeated: {', '.join(dupes)}")
        return self
