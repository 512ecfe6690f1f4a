"""Op kinds: units of work with shapes and dtypes. MACs, FLOPs and bytes are derived, never typed.

Each op is a frozen pydantic model, so the same class validates a model YAML and serves as the
immutable domain object. Shapes are per input; the simulation batch multiplies them at lowering
(:mod:`hwsim.mapping.primitives`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from hwsim.config.base import StrictModel
from hwsim.config.sparsity import DenseSpec, SparsitySpec
from hwsim.units import BITS_PER_BYTE, DTYPE_BYTES, Dtype, weight_bits
from hwsim.workload.attention import AttentionShape, visible_pairs

# Accumulators are 32-bit for every operand type (int32 for integers, fp32 for floats), as in
# TPU v1 and tensor cores; partial sums that spill to memory are stored at this width.
ACCUMULATOR_BYTES = 4

Count = Annotated[int, Field(ge=1, le=10**12)]
MAX_OP_MACS = 2**60  # x the simulation batch must stay below 2**63 (int64 cycle arithmetic)


class OpBase(StrictModel):
    name: str = Field(min_length=1, description="unique op name within the model")
    dtype: Dtype = Field("int8", description="operand data type")
    sparsity: SparsitySpec = Field(DenseSpec(), description="activation sparsity of this op")
    role: Literal["main", "predictor", "router", "gate"] = Field(
        "main", description="what the op is for: predictor/router/gate ops are the overhead "
        "a sparse model pays to choose its active set")

    @model_validator(mode="after")
    def _size(self) -> OpBase:
        # Cycle arithmetic runs in 64-bit integers; no real layer comes near this.
        if self.macs > MAX_OP_MACS:
            raise ValueError(f"op '{self.name}' has {self.macs:.3g} MACs; the limit per op is "
                             f"{MAX_OP_MACS:.3g}")
        return self

    @property
    def dtype_bytes(self) -> int:
        return DTYPE_BYTES[self.dtype]

    def _weights_bytes(self, elements: int) -> int:
        """Bytes of ``elements`` stored weights (4-bit weights pack two to a byte)."""
        return -(-elements * weight_bits(self.dtype) // BITS_PER_BYTE)

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def macs(self) -> int:  # overridden by every op that does MACs
        return 0

    @property
    def weight_elements(self) -> int:
        """Stored weight values (parameters) of the op; overridden by ops with weights."""
        return 0

    @property
    def weight_bytes(self) -> int:
        """Bytes of the stored weights: ``weight_elements`` at the dtype's width."""
        return self._weights_bytes(self.weight_elements)


class MatmulOp(OpBase):
    """out[M,N] = A[M,K] @ B[K,N], ``batch`` independent times. B is a weight unless
    ``b_is_weight`` is false (e.g. QK^T, where both operands are activations)."""

    kind: Literal["matmul"] = "matmul"
    m: Count = Field(description="rows of A and of the output")
    n: Count = Field(description="columns of B and of the output")
    k: Count = Field(description="reduction dimension")
    batch: Count = Field(1, description="independent matmuls of this shape")
    b_is_weight: bool = Field(True, description="B is a weight shared by every input of a batch")
    sparse_dim: Literal["k", "n"] = Field("k", description="where activation sparsity lives: "
                                          "k (zero inputs) or n (outputs a predictor skips)")

    @property
    def macs(self) -> int:
        return self.m * self.n * self.k * self.batch

    @property
    def weight_elements(self) -> int:
        return self.k * self.n * self.batch if self.b_is_weight else 0


class Conv2dOp(OpBase):
    """2-D convolution on an HxWxC input with K filters of RxSx(C/groups)."""

    kind: Literal["conv2d"] = "conv2d"
    h: Count = Field(description="input height, pixels")
    w: Count = Field(description="input width, pixels")
    c: Count = Field(description="input channels")
    k: Count = Field(description="output channels (filters)")
    r: Count = Field(description="filter height")
    s: Count = Field(description="filter width")
    stride: Count = 1
    padding: int = Field(0, ge=0, description="zero padding on each side, pixels")
    groups: Count = Field(1, description="channel groups (groups = c = k is depthwise)")

    @model_validator(mode="after")
    def _shape(self) -> Conv2dOp:
        if self.c % self.groups or self.k % self.groups:
            raise ValueError(f"groups={self.groups} must divide c={self.c} and k={self.k}")
        if self.h + 2 * self.padding < self.r or self.w + 2 * self.padding < self.s:
            raise ValueError("filter larger than the padded input")
        return self

    @property
    def out_h(self) -> int:
        return (self.h + 2 * self.padding - self.r) // self.stride + 1

    @property
    def out_w(self) -> int:
        return (self.w + 2 * self.padding - self.s) // self.stride + 1

    @property
    def macs(self) -> int:
        return self.out_h * self.out_w * self.k * self.r * self.s * (self.c // self.groups)

    @property
    def weight_elements(self) -> int:
        return self.k * self.r * self.s * (self.c // self.groups)


class AttentionOp(OpBase):
    """Scaled dot-product attention core: QK^T, softmax, AV (projections are separate matmuls).

    The queries are the last ``seq_q`` of ``seq_kv`` positions (prefill: equal; decode: one new
    token against a KV cache). Which keys each query sees (``causal``, ``window``) is defined in
    :mod:`hwsim.workload.attention`; MACs count only visible (query, key) pairs."""

    kind: Literal["attention"] = "attention"
    heads: Count = Field(description="query heads")
    kv_heads: Count | None = Field(None, description="key/value heads, shared by heads/kv_heads "
                                   "query heads each (grouped-query attention; unset: heads)")
    seq_q: Count = Field(description="query tokens")
    seq_kv: Count = Field(description="key/value tokens (the KV cache length in decode)")
    head_dim: Count
    causal: bool = Field(False, description="decoder mask: a query sees only keys at or before "
                         "its position (false: every key, as in an encoder)")
    window: Count | None = Field(None, description="sliding window: each query sees at most "
                                 "this many keys (Mistral-style; unset: no window)")
    layer: int = Field(0, ge=0, description="depth index (gated attention's keep ratio falls "
                       "with depth)")

    @model_validator(mode="after")
    def _attention_shape(self) -> AttentionOp:
        if self.kv_heads is not None and self.heads % self.kv_heads:
            divisors = [d for d in range(1, self.heads + 1) if self.heads % d == 0]
            raise ValueError(f"kv_heads={self.kv_heads} must divide heads={self.heads}; "
                             f"use one of {divisors}")
        if self.causal and self.seq_q > self.seq_kv:
            raise ValueError(f"causal attention needs seq_q <= seq_kv (the queries are the last "
                             f"seq_q positions); got seq_q={self.seq_q}, seq_kv={self.seq_kv}")
        return self

    @property
    def shape(self) -> AttentionShape:
        return AttentionShape(self.heads, self.kv_heads or self.heads, self.seq_q, self.seq_kv,
                              self.head_dim, self.causal, self.window)

    @property
    def macs(self) -> int:
        # QK^T and PV each do head_dim MACs per visible (query, key) pair and head.
        return 2 * self.heads * self.head_dim * visible_pairs(
            self.seq_q, self.seq_kv, self.causal, self.window)

    @property
    def kv_cache_bytes(self) -> int:
        """Keys and values this op keeps per input: K and V of every cached token and K/V
        head (a rolling cache of ``window`` tokens when windowed)."""
        s = self.shape
        return 2 * s.cached_keys * s.kv_heads * self.head_dim * self.dtype_bytes


class VectorOp(OpBase):
    """Elementwise / reduction work: norms, activations, softmax, residual adds, pooling, and
    dynamic activation quantisation (``dynamic_quant``: on a GPU, vLLM's per-tensor abs-max
    kernel then its scale-and-cast kernel, one CTA per row of ``row_elements`` each,
    :mod:`hwsim.engine.gpu.dynamic_quant`; on accelerators an elementwise pass; an Ethos-U NPU
    has no such operator, so it runs on the host core like a norm)."""

    kind: Literal["vector"] = "vector"
    function: Literal["elementwise", "norm", "softmax", "activation", "pool",
                      "dynamic_quant"] = "elementwise"
    elements: Count = Field(description="output elements")
    ops_per_element: Annotated[float, Field(gt=0, le=1e6)] = Field(
        1.0, description="vector-unit operations per output element")
    inputs_per_element: Annotated[float, Field(gt=0, le=1e6)] = Field(
        1.0, description="input elements read per output element (2 for a residual add)")
    row_elements: Count | None = Field(None, description="elements per reduced row of a norm "
                                       "or softmax (unset: rows short enough to stay on chip), "
                                       "or per token of a dynamic_quant (unset: one row)")


class EmbeddingOp(OpBase):
    """Table lookup: gathers ``tokens`` rows of ``dim`` from a ``vocab``-row table."""

    kind: Literal["embedding"] = "embedding"
    tokens: Count
    dim: Count
    vocab: Count

    @property
    def weight_elements(self) -> int:
        return self.vocab * self.dim


class RouterOp(OpBase):
    """MoE router: scores = x @ W_r (d_model x experts), then top-k per token."""

    kind: Literal["router"] = "router"
    tokens: Count
    d_model: Count
    experts: Count
    top_k: Count = 1

    @property
    def macs(self) -> int:
        return self.tokens * self.d_model * self.experts

    @property
    def weight_elements(self) -> int:
        return self.d_model * self.experts


class MoeOp(OpBase):
    """Expert FFNs: each token runs ``top_k`` of ``experts`` FFNs (d_model -> d_ff -> d_model)."""

    kind: Literal["moe"] = "moe"
    tokens: Count
    d_model: Count
    d_ff: Count
    experts: Count
    top_k: Count = 1
    gated: bool = Field(False, description="gated FFN (SwiGLU: three matrices, not two)")

    @model_validator(mode="after")
    def _k(self) -> MoeOp:
        if self.top_k > self.experts:
            raise ValueError(f"top_k={self.top_k} exceeds experts={self.experts}")
        return self

    @property
    def matrices(self) -> int:
        return 3 if self.gated else 2

    @property
    def macs(self) -> int:
        return self.tokens * self.top_k * self.matrices * self.d_model * self.d_ff

    @property
    def weight_elements(self) -> int:
        return self.experts * self.matrices * self.d_model * self.d_ff


class RecurrentOp(OpBase):
    """A recurrent cell stepped ``steps`` times (LSTM, GRU, CfC/liquid)."""

    kind: Literal["recurrent"] = "recurrent"
    cell: Literal["lstm", "gru", "cfc", "ltc"] = "cfc"
    steps: Count
    inputs: Count
    hidden: Count

    @property
    def gates(self) -> int:
        # Matrices per step acting on [x, h]: LSTM 4, GRU 3; CfC has two heads (f, g) plus a
        # time-constant head (Hasani et al. 2022) -> 3; LTC's ODE cell evaluated as 1 fused
        # layer per unfolded step.
        return {"lstm": 4, "gru": 3, "cfc": 3, "ltc": 1}[self.cell]

    @property
    def macs(self) -> int:
        return self.steps * self.gates * self.hidden * (self.inputs + self.hidden)

    @property
    def weight_elements(self) -> int:
        return self.gates * self.hidden * (self.inputs + self.hidden)


Op = Annotated[
    MatmulOp | Conv2dOp | AttentionOp | VectorOp | EmbeddingOp | RouterOp | MoeOp | RecurrentOp,
    Field(discriminator="kind"),
]
