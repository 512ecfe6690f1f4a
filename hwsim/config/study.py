"""Study schema (DESIGN.md §4 "Study"): base chips, parameter ranges by dotted path, workloads x
sparsity, objectives, constraints and a search strategy. Running studies is :mod:`hwsim.study`.

A *point* of a study is one (base chip, parameter values, workload variant): a workload variant
is one model x batch x seq x sparsity setting. Every search kind explores that same point space,
so a grid's best and an Optuna search's best are comparable.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from hwsim.config.base import StrictModel
from hwsim.config.study_serving import SERVING_METRICS, ServingBlock, is_run_param

# The serving metrics (hwsim.config.study_serving.SERVING_METRICS) apply to serving studies only.
ObjectiveMetric = Literal["latency_s", "energy_j", "area_mm2", "edp", "power_w", "accuracy",
                          "ttft_p50_s", "ttft_p90_s", "tpot_p50_s", "tpot_p90_s", "e2e_p90_s",
                          "throughput_tokens_per_s", "energy_j_per_token",
                          "goodput_requests_per_s", "goodput_fraction", "devices"]
ConstraintMetric = Literal["latency_s", "energy_j", "area_mm2", "edp", "power_w", "accuracy",
                           "fits", "ttft_p50_s", "ttft_p90_s", "tpot_p50_s", "tpot_p90_s",
                           "e2e_p90_s", "throughput_tokens_per_s", "energy_j_per_token",
                           "goodput_requests_per_s", "goodput_fraction", "devices"]
MAX_GRID_POINTS = 5_000_000  # a bigger grid is a typo (a step far too small), not a study


class Param(StrictModel):
    """One swept chip field: ``values`` (choices) or a numeric ``low``/``high`` range."""

    path: str = Field(min_length=1, description="dotted chip field path, e.g. array.rows")
    tied: list[str] = Field(default_factory=list, description="other dotted paths set to the "
                            "same value (e.g. array.cols tied to array.rows for square arrays)")
    values: list[Any] | None = Field(None, min_length=1, description="explicit choices")
    low: float | None = None
    high: float | None = None
    step: float | None = Field(None, gt=0, description="grid step of a range (linear)")
    log: bool = Field(False, description="sample the range on a log scale")
    integer: bool | None = Field(None, description="whole-number range; unset: whole when "
                                 "low, high and step are")
    chips: list[str] | None = Field(None, description="base chips this parameter applies to "
                                    "(unset: all)")

    @model_validator(mode="after")
    def _form(self) -> Param:
        if (self.values is None) == (self.low is None or self.high is None):
            raise ValueError("give either 'values' or both 'low' and 'high'")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError("low must not exceed high")
        if self.log and self.low is not None and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        if self.log and self.step is not None:
            raise ValueError("give 'step' (linear grid) or 'log', not both")
        if self.values is not None and (self.step is not None or self.log):
            raise ValueError("'step' and 'log' apply to low/high ranges, not to 'values'")
        if self.values is not None and len({_key(v) for v in self.values}) != len(self.values):
            raise ValueError("'values' has duplicates")
        return self

    @property
    def paths(self) -> list[str]:
        return [self.path, *self.tied]

    @property
    def is_integer(self) -> bool:
        if self.integer is not None:
            return self.integer
        nums = [x for x in (self.low, self.high, self.step) if x is not None]
        return all(float(x).is_integer() for x in nums)

    def grid_values(self) -> list[Any]:
        """The values a grid search visits (a range needs ``step``; a log range gives powers
        of two between low and high)."""
        if self.values is not None:
            return list(self.values)
        assert self.low is not None and self.high is not None
        if self.log:
            lo, hi = math.log2(self.low), math.log2(self.high)
            out = [2.0 ** e for e in range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1)]
        else:
            assert self.step is not None
            n = math.floor((self.high - self.low) / self.step + 1e-9) + 1
            out = [self.low + i * self.step for i in range(n)]
        return [round(v) for v in out] if self.is_integer else out


def _key(v: Any) -> str:
    return repr(v)


class Workload(StrictModel):
    model: str = Field(min_length=1, description="model preset or path")
    batch: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [1], min_length=1)
    seq: list[Annotated[int, Field(ge=1)]] | None = Field(None, description="sequence lengths "
                                                          "(builder models)")
    phase: Literal["prefill", "decode"] | None = None
    sparsity: list[str | list[str]] = Field(
        default_factory=list, description="sparsity variants: each entry is one OPGLOB:KIND:"
        "key=value spec or a list of them applied together; empty: the model as defined")


class Objective(StrictModel):
    metric: ObjectiveMetric
    goal: Literal["min", "max"] = "min"


class Constraint(StrictModel):
    """A bound on a metric (``max`` and/or ``min``); ``fits`` takes no bound: the model's
    weights (and on MCUs its activations) must fit the chip's memory."""

    metric: ConstraintMetric
    max: float | None = None
    min: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Constraint:
        if self.metric == "fits":
            if self.max is not None or self.min is not None:
                raise ValueError("'fits' takes no max/min")
        elif self.max is None and self.min is None:
            raise ValueError(f"constraint on {self.metric} needs 'max' or 'min'")
        return self


class Search(StrictModel):
    kind: Literal["grid", "random", "nsga2", "tpe"] = "grid"
    budget: int | None = Field(None, ge=1, description="evaluations (random/nsga2/tpe)")
    seed: int = Field(0, ge=0)
    population: int = Field(16, ge=2, le=4096, description="nsga2 population; also the number "
                            "of points asked from Optuna at once (tpe)")

    @model_validator(mode="after")
    def _budget(self) -> Search:
        if self.kind == "grid" and self.budget is not None:
            raise ValueError("a grid visits every point; 'budget' applies to random, nsga2 "
                             "and tpe")
        if self.kind != "grid" and self.budget is None:
            raise ValueError(f"search '{self.kind}' needs a 'budget' (number of evaluations)")
        return self


class Store(StrictModel):
    batch_points: int = Field(256, ge=1, le=100_000, description="points evaluated and "
                              "committed per transaction (a kill loses at most one batch)")


class StudyDoc(StrictModel):
    schema_version: Literal[1] = 1
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                      description="study name; the store is runs/<name>.duckdb")
    description: str = ""
    chips: list[str] = Field(min_length=1, description="base chip presets or paths")
    space: list[Param] = Field(default_factory=list)
    workloads: list[Workload] = Field(min_length=1)
    objectives: list[Objective] = Field(min_length=1, max_length=3)
    constraints: list[Constraint] = Field(default_factory=list)
    search: Search = Search()
    fidelity: Literal["analytic", "cycle"] = "analytic"
    seed: int = Field(0, ge=0, description="seed of the cycle fidelity's mask draws")
    executor: Literal["local", "dask"] = "local"
    store: Store = Store()
    serving: ServingBlock | None = Field(None, description="serve each decoder workload token "
                                         "by token at every point (hwsim serve); metrics: TTFT, "
                                         "TPOT, throughput, energy per token, goodput")

    @model_validator(mode="after")
    def _consistent(self) -> StudyDoc:
        if len(set(self.chips)) != len(self.chips):
            raise ValueError("'chips' has duplicates")
        seen: set[str] = set()
        for p in self.space:
            for path in p.paths:
                if path in seen:
                    raise ValueError(f"chip field '{path}' is swept twice")
                seen.add(path)
            unknown = [c for c in (p.chips or []) if c not in self.chips]
            if unknown:
                raise ValueError(f"parameter '{p.path}' names chips not in 'chips': {unknown}")
        metrics = [o.metric for o in self.objectives]
        if len(set(metrics)) != len(metrics):
            raise ValueError("an objective is listed twice")
        self._serving_consistent()
        if self.search.kind == "grid":
            for p in self.space:
                if p.values is None and p.step is None and not p.log:
                    raise ValueError(f"grid search: parameter '{p.path}' needs 'values', "
                                     "'step' or 'log'")
            size = self.grid_size()
            if size > MAX_GRID_POINTS:
                raise ValueError(f"the grid has {size:,} points (limit {MAX_GRID_POINTS:,}); "
                                 "use larger steps or a random/nsga2/tpe search")
        return self

    def _serving_consistent(self) -> None:
        """Serving metrics and run parameters need a serving block; a serving point has no
        single-inference latency/energy/area, so those metrics are refused there."""
        from hwsim.config.study_serving import RUN_PARAM_PATHS

        named = [o.metric for o in self.objectives] + [c.metric for c in self.constraints]
        run_paths = [path for p in self.space for path in p.paths if is_run_param(path)]
        if self.serving is None:
            bad = [m for m in named if m in SERVING_METRICS]
            if bad or run_paths:
                raise ValueError(f"{(bad or run_paths)[0]!r} needs a 'serving' block (rate_per_s, "
                                 "duration_s, prompt/output tokens)")
            return
        bad = [m for m in named if m not in SERVING_METRICS and m != "fits"]
        if bad:
            raise ValueError(f"metric {bad[0]!r} is a single-inference figure; a serving study "
                             f"measures {', '.join(SERVING_METRICS)}")
        for path in run_paths:
            if path not in RUN_PARAM_PATHS:
                raise ValueError(f"unknown serving parameter {path!r}; sweepable: "
                                 f"{', '.join(RUN_PARAM_PATHS)}")
        for p in self.space:
            if any(is_run_param(x) for x in p.paths) and (p.tied or p.chips is not None):
                raise ValueError(f"parameter {p.path!r}: 'tied' and 'chips' apply to chip "
                                 "fields")
        if self.fidelity != "analytic":
            raise ValueError("a serving study prices iterations with the analytic engine: "
                             "fidelity must be 'analytic'")
        for i, w in enumerate(self.workloads):
            if w.batch != [1] or w.seq is not None or w.phase is not None:
                raise ValueError(f"workloads[{i}]: batch, seq and phase do not apply to "
                                 "serving (the scheduler forms the batches); sweep "
                                 "serving.max_num_seqs instead")

    def grid_size(self) -> int:
        variants = sum(len(w.batch) * len(w.seq or [None]) * max(1, len(w.sparsity))
                       for w in self.workloads)
        total = 0
        for chip in self.chips:
            n = 1
            for p in self.space:
                if p.chips is None or chip in p.chips:
                    n *= len(p.grid_values()) if (p.values is not None or p.step or p.log) else 1
            total += n
        return total * variants
