"""Model document schema: a workload is either an explicit op list or a builder with parameters."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from hwsim.config.base import StrictModel
from hwsim.config.chip import Dtype
from hwsim.workload.ops import Op

Size = Annotated[int, Field(ge=1, le=10**9)]


class TransformerBuilder(StrictModel):
    """A decoder/encoder transformer stack (GPT-2, BERT, LLaMA, ViT shapes)."""

    kind: Literal["transformer"] = "transformer"
    layers: Size = Field(description="transformer blocks")
    d_model: Size = Field(description="hidden width")
    heads: Size = Field(description="attention heads")
    kv_heads: Size | None = Field(None, description="key/value heads (grouped-query attention)")
    d_ff: Size = Field(description="feed-forward inner width")
    gated_ffn: bool = Field(False, description="SwiGLU-style FFN with a gate matrix")
    vocab: int = Field(0, ge=0, description="vocabulary size (0: no embedding or LM head)")
    seq: Size = Field(description="sequence length, tokens (KV-cache length in decode)")
    phase: Literal["prefill", "decode"] = Field("prefill", description="prefill processes seq "
                                                "tokens; decode one new token against seq")
    lm_head: bool = Field(True, description="include the output projection to the vocabulary")
    dtype: Dtype = "int8"

    @model_validator(mode="after")
    def _heads(self) -> TransformerBuilder:
        if self.d_model % self.heads:
            raise ValueError(f"heads={self.heads} must divide d_model={self.d_model}")
        if self.kv_heads is not None and self.heads % self.kv_heads:
            raise ValueError(f"kv_heads={self.kv_heads} must divide heads={self.heads}")
        return self


Builder = Annotated[TransformerBuilder, Field(discriminator="kind")]


class ModelDoc(StrictModel):
    schema_version: Literal[1] = 1
    name: str = Field(min_length=1)
    description: str = Field("", description="one line shown by `hwsim list models`")
    source: str = Field(min_length=1, description="where the shapes come from")
    builder: Builder | None = Field(None, description="generate ops from parameters")
    ops: list[Op] | None = Field(None, description="explicit op list, in execution order")

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
