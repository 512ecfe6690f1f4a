"""SparsitySpec schemas: how an op's activations (and optionally weights) are sparse.

Every kind of DESIGN.md §4 is declared here so configs written today stay valid as the engines
learn to exploit each kind. ``density`` is always the fraction of *nonzero* (active) elements.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from hwsim.config.base import StrictModel

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class Variability(StrictModel):
    """Per-input spread of density: each input draws its density from a clipped normal."""

    std: Fraction = Field(0.0, description="standard deviation of density across inputs (fraction)")
    seed: int = Field(0, description="seed for the per-input draws")


class DenseSpec(StrictModel):
    kind: Literal["dense"] = "dense"


class TopKSpec(StrictModel):
    """Top-k activation sparsity chosen by a predictor (Deja Vu / TEAL style)."""

    kind: Literal["topk"] = "topk"
    density: Fraction = Field(description="fraction of neurons kept per token")
    granularity: Literal["element", "block"] = Field("element", description="selection unit")
    block: int = Field(1, ge=1, description="block size in elements when granularity=block")
    predictor_rank: int = Field(0, ge=0, description="rank of the low-rank predictor (0: none)")
    popularity_skew: float = Field(0.0, ge=0.0, description="zipf exponent of neuron popularity")
    token_correlation: Fraction = Field(0.0, description="fraction of the previous token's "
                                        "active set a token keeps (the rest drawn fresh)")
    variability: Variability = Variability()


class ReluSpec(StrictModel):
    """Natural ReLU sparsity (e.g. 3.0 % nonzero in T5-Base MLPs, Li et al. ICLR 2023)."""

    kind: Literal["relu"] = "relu"
    density: Fraction = Field(description="mean fraction of nonzero activations")
    weight_density: Fraction = Field(1.0, description="fraction of nonzero weights of the op "
                                     "(unstructured pruning, e.g. Han et al. 2015); only a chip "
                                     "with sparse_features.weight_skipping skips them, any other "
                                     "multiplies and moves them like dense weights")
    variability: Variability = Variability()


class MoeSpec(StrictModel):
    """Mixture-of-experts routing."""

    kind: Literal["moe"] = "moe"
    routing: Literal["uniform", "zipf", "balanced"] = Field(
        "uniform", description="route law: uniform or zipf popularity (tokens route "
        "independently, so loads vary), or balanced (every expert within one token of the mean "
        "load: expert-choice routing, load-balanced benchmark harnesses)")
    zipf_s: float = Field(1.0, ge=0.0, description="zipf exponent when routing=zipf")
    capacity_factor: float = Field(1.25, gt=0.0, description="expert capacity / fair share")


class AttentionGateSpec(StrictModel):
    """Gated attention (ASA-like): a gate network skips attention work below a threshold."""

    kind: Literal["attention_gate"] = "attention_gate"
    keep_ratio: Fraction = Field(description="fraction of attention work kept at layer 0")
    granularity: Literal["head", "block", "token"] = "block"
    block: int = Field(64, ge=1, description="block size in tokens when granularity=block")
    depth_decay: float = Field(0.0, ge=0.0, description="keep ratio multiplied by "
                               "(1-depth_decay) per layer")
    gate_params_fraction: Fraction = Field(0.003, description="gate parameters / model params")


class NmSpec(StrictModel):
    """N:M structured sparsity (N nonzeros in every M consecutive elements)."""

    kind: Literal["nm"] = "nm"
    n: int = Field(2, ge=1)
    m: int = Field(4, ge=1)
    operand: Literal["weights", "activations"] = "weights"


class TraceSpec(StrictModel):
    """Real masks from an .npz file (loaded with allow_pickle=False)."""

    kind: Literal["trace"] = "trace"
    path: str = Field(description="npz trace: per op a bit-packed mask (mask/<op>) and its K "
                      "(k_dim/<op>); format in hwsim/sparsity/traces.py")


SparsitySpec = Annotated[
    DenseSpec | TopKSpec | ReluSpec | MoeSpec | AttentionGateSpec | NmSpec | TraceSpec,
    Field(discriminator="kind"),
]
