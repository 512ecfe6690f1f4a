"""Points of a study and their ids: the grid, seeded random draws, and the content hash that
makes a point's id depend only on its inputs (so a resumed study recognises finished points)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hwsim.config.study import Param
from hwsim.config.study_serving import is_run_param
from hwsim.study.spec import Study, Variant
from hwsim.workload.model import content_hash

POINT_ID_HEX = 20  # 80 bits of sha256: no collision in any study this machine can run


@dataclass(frozen=True)
class Point:
    """One design point: a base chip, values of its swept fields and a workload variant."""

    chip: str
    params: dict[str, Any]  # Param.path -> value (tied paths take the same value)
    variant: Variant
    point_id: str
    trial: int = 0  # position in the search sequence (Optuna's trial number)
    overrides: dict[str, Any] = field(default_factory=dict)  # every dotted path -> value
    run: dict[str, Any] = field(default_factory=dict)  # serving study: parallel.* / serving.*


def make_point(study: Study, chip: str, params: dict[str, Any], variant: Variant,
               trial: int = 0) -> Point:
    overrides: dict[str, Any] = {}
    run: dict[str, Any] = {}
    for p in study.params_for(chip):
        if p.path in params:
            for path in p.paths:
                (run if is_run_param(path) else overrides)[path] = params[p.path]
    v = variant
    key = {
        "chip": study.chip_hashes[chip],
        "overrides": {k: _canonical(x) for k, x in sorted(overrides.items())},
        "model": study.model_hashes[(v.model, v.seq, v.phase)],
        "batch": v.batch, "sparsity": list(v.sparsity),
        "fidelity": study.doc.fidelity,
    }
    if study.doc.fidelity == "cycle":  # only the cycle fidelity draws random masks
        key["seed"] = study.doc.seed
    if study.doc.serving is not None:  # a serving run: its request stream and run parameters
        key["serving"] = study.doc.serving.model_dump(mode="json")
        key["run"] = {k: _canonical(x) for k, x in sorted(run.items())}
    pid = content_hash(key).split(":", 1)[1][:POINT_ID_HEX]
    return Point(chip, dict(params), variant, pid, trial, overrides, run)


def _canonical(x: Any) -> Any:
    # 64 and 64.0 configure the same chip: hash them alike.
    if isinstance(x, float) and x.is_integer() and abs(x) < 2 ** 53:
        return int(x)
    return x


def grid_points(study: Study) -> Iterator[Point]:
    """Every point of the grid, chip by chip and variant by variant (so consecutive points
    share a chip and a workload, which the vectorised evaluator groups)."""
    trial = 0
    for chip in study.doc.chips:
        params = study.params_for(chip)
        axes = [p.grid_values() for p in params]
        for variant in study.variants:
            for combo in itertools.product(*axes):
                yield make_point(study, chip, {p.path: v for p, v in zip(params, combo,
                                                                         strict=True)},
                                 variant, trial)
                trial += 1


def random_points(study: Study) -> Iterator[Point]:
    """``budget`` seeded draws (uniform chip, variant and values; log-uniform on log ranges).
    Draws that repeat a point keep one id: the store holds each point once."""
    budget = study.doc.search.budget or 0
    rng = np.random.default_rng(study.doc.search.seed)
    for trial in range(budget):
        chip = study.doc.chips[int(rng.integers(len(study.doc.chips)))]
        variant = study.variants[int(rng.integers(len(study.variants)))]
        params = {p.path: sample_value(p, rng) for p in study.params_for(chip)}
        yield make_point(study, chip, params, variant, trial)


def sample_value(p: Param, rng: np.random.Generator) -> Any:
    if p.values is not None:
        return p.values[int(rng.integers(len(p.values)))]
    assert p.low is not None and p.high is not None
    if p.step is not None:
        n = math.floor((p.high - p.low) / p.step + 1e-9) + 1
        v = p.low + p.step * int(rng.integers(n))
    elif p.log:
        v = float(math.exp(rng.uniform(math.log(p.low), math.log(p.high))))
    else:
        v = float(rng.uniform(p.low, p.high))
    return round(v) if p.is_integer else v
