"""Literature accuracy curves: one published model family and sparsity method, every point cited.

A curve file (``configs/accuracy/<name>.yaml``) says which ops the paper sparsified (op-name
globs), with which hwsim sparsity kind, and gives (density, value) points. Each point carries its
own citation -- paper, table or figure, URL -- and says whether the number was read in the source
itself (``primary``) or only in a transcription of it (``secondary``, naming where).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, model_validator

from hwsim.config.base import StrictModel

CurveKind = Literal["topk", "relu", "attention_gate", "nm"]
Metric = Literal["perplexity", "accuracy", "accuracy_retained"]
Unit = Literal["ppl", "percent", "fraction"]
Density = Annotated[float, Field(gt=0.0, le=1.0, description="fraction of active elements")]


class Citation(StrictModel):
    """Where one published number comes from."""

    paper: str = Field(min_length=1, description="authors, title, venue, year")
    table: str = Field(min_length=1, description="table or figure (and row) the number is in")
    url: str = Field(min_length=1, description="where to read it")
    transcription: Literal["primary", "secondary"] = Field(
        "primary", description="primary: read in the source itself; secondary: read in a "
        "transcription of that table (named in 'via')")
    via: str = Field("", description="for secondary numbers: the transcription read")

    @model_validator(mode="after")
    def _via(self) -> Citation:
        if self.transcription == "secondary" and not self.via:
            raise ValueError("a secondary number must say where it was read ('via')")
        return self


class CurvePoint(StrictModel):
    density: Density
    value: float = Field(description="the metric at this density, in the curve's unit")
    label: str = Field("", description="the row in the paper, e.g. 'Wanda 2:4'")
    citation: Citation


class CurveSparsity(StrictModel):
    """What the paper sparsified, in hwsim's terms."""

    kind: CurveKind = Field(description="the hwsim sparsity kind the paper measured")
    ops: list[str] = Field(min_length=1, description="op-name globs of the ops it sparsified")
    density_ops: list[str] = Field(
        default_factory=list, description="globs of the ops whose density the curve's x axis "
        "is (default: ops); e.g. the FFN intermediate is ffn_down's input even when ffn_up also "
        "skips rows")
    n: int | None = Field(None, ge=1, description="nm only: nonzeros per group")
    m: int | None = Field(None, ge=1, description="nm only: group size")
    also_kinds: list[CurveKind] = Field(
        default_factory=list, description="other kinds read on this curve, with also_note")
    also_note: str = Field("", description="why another kind may be read on this curve and "
                           "what that assumes; shown with every value read that way")
    selection: Literal["exact", "predictor"] = Field(
        "exact", description="exact: the paper zeroed exactly the chosen elements; predictor: "
        "a learned predictor chose them (its misses are in the numbers)")
    description: str = Field(min_length=1, description="what the paper did, in one sentence")

    @model_validator(mode="after")
    def _pattern(self) -> CurveSparsity:
        if (self.kind == "nm") != (self.n is not None and self.m is not None):
            raise ValueError("give n and m exactly when kind is nm")
        if self.n is not None and self.m is not None and self.n > self.m:
            raise ValueError(f"n={self.n} exceeds m={self.m}")
        if self.also_kinds and not self.also_note:
            raise ValueError("also_kinds needs also_note saying what reading them assumes")
        if self.kind in self.also_kinds:
            raise ValueError(f"also_kinds repeats the curve's own kind '{self.kind}'")
        return self


class LiteratureCurveDoc(StrictModel):
    schema_version: Literal[1] = 1
    name: str = Field(min_length=1, description="curve id = file stem, e.g. wanda-llama2-7b-2of4")
    model_family: str = Field(min_length=1, description="the published model, e.g. Llama-2-7B")
    method: str = Field(min_length=1, description="sparsification method, e.g. Wanda 2:4")
    metric: Metric
    unit: Unit
    metric_detail: str = Field(min_length=1, description="dataset / benchmark suite and setting")
    sparsity: CurveSparsity
    points: list[CurvePoint] = Field(min_length=2)
    notes: str = ""

    @model_validator(mode="after")
    def _points(self) -> LiteratureCurveDoc:
        if (self.metric == "perplexity") != (self.unit == "ppl"):
            raise ValueError("perplexity curves use unit ppl, and only they do")
        densities = [p.density for p in self.points]
        dupes = sorted({d for d in densities if densities.count(d) > 1})
        if dupes:
            raise ValueError(f"repeated densities: {dupes}; one value per density")
        hi = {"ppl": math.inf, "percent": 100.0, "fraction": 1.0}[self.unit]
        for i, p in enumerate(self.points):
            if not math.isfinite(p.value) or p.value < 0 or p.value > hi:
                raise ValueError(f"points[{i}].value={p.value} is outside [0, {hi}] for unit "
                                 f"{self.unit}")
        return self
