"""Claim-study schema (``configs/studies/claims/*.yaml``): a published claim in our own words,
the figures it states, the conditions it implies, and the scenarios hwsim simulates to test it.

One file per claim. Each ``check`` turns one stated figure into a rule on one metric
(``energy_reduction_x >= 100``), simulated over the chips x batches x sequence lengths x
densities the claim must hold on; each ``sensitivity`` entry changes one thing (a chip feature,
the batch, the sequence length, the density) to find what flips the verdict. Running them is
:mod:`hwsim.claims`' job.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from hwsim.config.base import StrictModel
from hwsim.config.sparsity import Fraction, SparsitySpec

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
PositiveInt = Annotated[int, Field(ge=1, le=10**7)]

# metric -> (unit shown, what it measures). Ratios are baseline / candidate so that "100x" reads
# as the claim does; savings are fractions 0-1.
METRICS: dict[str, tuple[str, str]] = {
    "energy_reduction_x": ("x", "baseline energy / candidate energy per inference"),
    "energy_saving": ("fraction", "1 - candidate energy / baseline energy"),
    "latency_speedup_x": ("x", "baseline latency / candidate latency"),
    "flop_reduction_x": ("x", "baseline MACs / candidate MACs executed when every inactive "
                         "neuron's work is skipped (the workload's own count, no chip)"),
    "fits": ("bool", "candidate fits the chip's memory (1) or not (0)"),
    "devices_needed": ("chips", "chips of this kind needed to hold the resident bytes"),
    "overhead_energy_share": ("fraction", "energy of predictor/router/gate ops / total"),
    "latency_p99_over_p50": ("x", "latency at the high-density input / latency at the median "
                             "density (the spread input-dependent sparsity causes)"),
    "accuracy_retained": ("fraction", "candidate accuracy / baseline accuracy, from the "
                          "accuracy providers with their provenance"),
}
Metric = Literal["energy_reduction_x", "energy_saving", "latency_speedup_x", "flop_reduction_x",
                 "fits", "devices_needed", "overhead_energy_share", "latency_p99_over_p50",
                 "accuracy_retained"]
CHIPLESS_METRICS = ("flop_reduction_x", "accuracy_retained")
OVERRIDE_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class SparsityOverride(StrictModel):
    """A sparsity override with nested fields (``variability``): ops matching ``glob`` get
    ``spec``. Plain ``'glob:kind:key=value'`` strings are accepted too."""

    glob: str = Field(min_length=1, description="op-name glob, e.g. *ffn_down")
    spec: SparsitySpec


SparsityItem = str | SparsityOverride


class Workload(StrictModel):
    """A model as one scenario simulates it."""

    model: str = Field(min_length=1, description="model preset or YAML path")
    label: str = Field("", description="display name (default: the model name)")
    seq: PositiveInt | None = Field(None, description="sequence length, tokens")
    phase: Literal["prefill", "decode"] | None = None
    mode: Literal["inference", "training"] = Field("inference", description="training = "
                                                   "forward, backward and optimizer step")
    builder: dict[str, Any] = Field(default_factory=dict, description="builder fields set "
                                    "by dotted path under builder, e.g. predictor_rank: 1024")
    sparsity: list[SparsityItem] = Field(default_factory=list, description="overrides applied "
                                         "before the density axis")


class DensityAxis(StrictModel):
    """The active fraction swept across scenarios: ops matching ``glob`` get a ``kind`` spec with
    ``key`` set to each value (``extra`` fills the spec's other fields)."""

    glob: str | list[str] = Field(min_length=1, description="op-name glob(s)")
    kind: Literal["topk", "relu", "attention_gate"] = "topk"
    key: Literal["density", "keep_ratio"] = "density"
    values: list[Fraction] = Field(min_length=1, description="active fractions, 0-1")
    extra: dict[str, Any] = Field(default_factory=dict, description="other spec fields")

    @model_validator(mode="after")
    def _key(self) -> DensityAxis:
        want = "keep_ratio" if self.kind == "attention_gate" else "density"
        if self.key != want:
            raise ValueError(f"a {self.kind} axis sets '{want}', not '{self.key}'")
        return self


ChipOverrides = dict[str, dict[str, Any]]  # chip name or kind -> {dotted path: value}


class Check(StrictModel):
    """One stated figure as a rule on one metric, over a grid of scenarios."""

    id: Slug
    figure: str = Field(min_length=1, description="the figure as the claim states it, in our "
                        "words")
    metric: Metric
    claimed: float = Field(description="the claim's number in the metric's unit (100 for "
                           "'100x', 0.55 for '55 % less')")
    rule: Literal["at_least", "at_most"] = Field("at_least", description="the metric must be "
                                                 ">= (at_least) or <= (at_most) the claimed "
                                                 "number")
    reading: str = Field("", description="how the words became this rule, where they are "
                         "vague ('minimal' read as <= 5 %)")
    candidate: Workload
    baseline: Workload | Literal["dense_twin"] = Field(
        "dense_twin", description="the comparison model, or the candidate without sparsity")
    chips: list[str] = Field(default_factory=list, description="chip presets or paths")
    batch: list[PositiveInt] = Field(default_factory=lambda: [1])
    batch_kinds: list[Literal["accelerator", "gpu", "mcu"]] = Field(
        default_factory=lambda: ["gpu"], description="chip kinds that run every batch; the "
        "others run the first batch only (an MCU serves one input at a time)")
    seq: list[PositiveInt] | None = Field(None, description="sequence lengths (builder models)")
    density: DensityAxis | None = None
    chip_overrides: ChipOverrides = Field(default_factory=dict, description="per chip name or "
                                          "kind: dotted chip fields set for this check")
    p99_density_factor: float | None = Field(
        None, gt=1.0, le=100.0, description="latency_p99_over_p50: the high-density input "
        "runs at this multiple of each density value")
    resident: Literal["all", "active"] = Field(
        "all", description="fits/devices_needed: bytes that must stay in memory - all weights "
        "plus the KV cache, or only the bytes one inference reads (weights streamed in)")

    @model_validator(mode="after")
    def _consistent(self) -> Check:
        if not self.chips and self.metric not in CHIPLESS_METRICS:
            raise ValueError(f"metric {self.metric} needs at least one chip in 'chips'")
        if self.metric == "latency_p99_over_p50" and (
                self.p99_density_factor is None or self.density is None):
            raise ValueError("latency_p99_over_p50 needs 'density' and 'p99_density_factor'")
        _check_overrides(self.chip_overrides)
        return self


class Sensitivity(StrictModel):
    """One thing changed, the check re-simulated: does its verdict flip? Give exactly one of
    ``chip_overrides``, ``batch``, ``seq``, ``density``, ``resident``, ``sparsity``."""

    id: Slug
    label: str = Field(min_length=1, description="what is changed, for the report")
    check: Slug | None = Field(None, description="check id (default: the first check)")
    chip_overrides: ChipOverrides | None = None
    batch: list[PositiveInt] | None = Field(None, description="each value replaces the batch "
                                            "axis (all chip kinds)")
    seq: list[PositiveInt] | None = None
    density: list[Fraction] | None = None
    resident: Literal["all", "active"] | None = None
    sparsity: list[SparsityItem] | None = Field(None, description="extra candidate overrides")

    @model_validator(mode="after")
    def _one_change(self) -> Sensitivity:
        given = [k for k in ("chip_overrides", "batch", "seq", "density", "resident",
                             "sparsity") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of chip_overrides, batch, seq, density, "
                             f"resident, sparsity (given: {', '.join(given) or 'none'})")
        if self.chip_overrides is not None:
            _check_overrides(self.chip_overrides)
        return self


class Sweep(StrictModel):
    """Energy vs density on each chip (the report's figure): where sparsity stops paying."""

    workload: Workload
    glob: str | list[str] = Field(min_length=1, description="op-name glob(s)")
    kind: Literal["topk", "relu", "attention_gate"] = "topk"
    densities: list[Fraction] = Field(min_length=2, description="active fractions (keep "
                                      "ratios for attention_gate)")
    extra: dict[str, Any] = Field(default_factory=dict, description="other spec fields")
    chips: list[str] = Field(min_length=1)
    batch: list[PositiveInt] = Field(default_factory=lambda: [1])
    target_ratio: float | None = Field(None, gt=0, description="sparse/dense energy ratio the "
                                       "claim implies (0.01 for '100x'), drawn as a line")


class ClaimDoc(StrictModel):
    schema_version: Literal[1] = 1
    id: Slug
    title: str = Field(min_length=1)
    claim: str = Field(min_length=1, description="the claim in our own words")
    figures: list[str] = Field(min_length=1, description="the claim's stated figures")
    source: str = Field(min_length=1, description="where the claim was published")
    implied_conditions: list[str] = Field(default_factory=list, description="conditions the "
                                          "claim implies but does not state")
    checks: list[Check] = Field(min_length=1)
    sensitivity: list[Sensitivity] = Field(default_factory=list)
    sweep: Sweep | None = None

    @model_validator(mode="after")
    def _refs(self) -> ClaimDoc:
        ids = [c.id for c in self.checks]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"check ids must be unique; repeated: {', '.join(dupes)}")
        for s in self.sensitivity:
            if s.check is not None and s.check not in ids:
                raise ValueError(f"sensitivity '{s.id}' names check '{s.check}'; checks are: "
                                 + ", ".join(ids))
        return self


def _check_overrides(overrides: ChipOverrides) -> None:
    for target, fields in overrides.items():
        for path in fields:
            if not OVERRIDE_PATH.match(path):
                raise ValueError(f"chip_overrides.{target}: '{path}' is not a dotted field path")
