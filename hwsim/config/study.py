"""Study schema (DESIGN.md §4 "Study"): a base chip, parameter ranges by dotted path, workloads,
objectives, constraints and a search strategy. Declared here so study files validate from day
one; running studies is the DSE layer's job."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from hwsim.config.base import StrictModel


class Param(StrictModel):
    """One swept field: ``values`` (choices) or a numeric ``low``/``high`` range."""

    path: str = Field(min_length=1, description="dotted chip field path, e.g. array.rows")
    values: list[Any] | None = Field(None, description="explicit choices")
    low: float | None = None
    high: float | None = None
    step: float | None = Field(None, gt=0)
    log: bool = Field(False, description="sample the range on a log scale")

    @model_validator(mode="after")
    def _form(self) -> Param:
        if (self.values is None) == (self.low is None or self.high is None):
            raise ValueError("give either 'values' or both 'low' and 'high'")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


class Workload(StrictModel):
    model: str = Field(min_length=1, description="model preset or path")
    batch: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [1])
    seq: list[Annotated[int, Field(ge=1)]] | None = None
    sparsity: list[str] = Field(default_factory=list, description="OPGLOB:KIND:key=value specs")


class Objective(StrictModel):
    metric: Literal["latency_s", "energy_j", "area_mm2", "edp", "accuracy"]
    goal: Literal["min", "max"] = "min"


class Constraint(StrictModel):
    metric: Literal["latency_s", "energy_j", "area_mm2", "power_w", "accuracy", "fits"]
    max: float | None = None
    min: float | None = None


class Search(StrictModel):
    kind: Literal["grid", "random", "nsga2", "tpe"] = "grid"
    budget: int | None = Field(None, ge=1, description="evaluations (random/nsga2/tpe)")
    seed: int = 0


class StudyDoc(StrictModel):
    schema_version: Literal[1] = 1
    name: str = Field(min_length=1)
    description: str = ""
    chips: list[str] = Field(min_length=1, description="base chip presets or paths")
    space: list[Param] = Field(default_factory=list)
    workloads: list[Workload] = Field(min_length=1)
    objectives: list[Objective] = Field(min_length=1)
    constraints: list[Constraint] = Field(default_factory=list)
    search: Search = Search()
    fidelity: Literal["analytic", "cycle"] = "analytic"
    executor: Literal["local", "dask"] = "local"
