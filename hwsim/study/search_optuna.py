"""Optuna search (NSGA-II or TPE) over a study's point space, seeded, in ask/tell batches.

The sequence of asked points depends only on the seed and on the values told, and values come
from the deterministic evaluator or, when resuming, from the store. So a resumed search replays
its finished trials from the store without recomputing them and continues exactly where it was.
Several objectives make a multi-objective search; constraints go to the samplers through
``Trial.set_constraint`` (a point whose constraint cannot be decided counts as violating it
there; the store keeps it as unknown).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from hwsim.study.points import Point, make_point
from hwsim.study.spec import Study


class OptunaSearch:
    def __init__(self, study: Study) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = study
        s = study.doc.search
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            if s.kind == "nsga2":
                sampler: Any = optuna.samplers.NSGAIISampler(population_size=s.population,
                                                             seed=s.seed)
            else:
                sampler = optuna.samplers.TPESampler(seed=s.seed, multivariate=True)
        directions = ["minimize" if o.goal == "min" else "maximize"
                      for o in study.doc.objectives]
        self.optuna = optuna.create_study(directions=directions, sampler=sampler)
        self.dists = self._distributions()

    def _distributions(self) -> dict[str, Any]:
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        doc = self.study.doc
        d: dict[str, Any] = {}
        if len(doc.chips) > 1:
            d["chip"] = CategoricalDistribution(list(doc.chips))
        if len(self.study.variants) > 1:
            d["variant"] = CategoricalDistribution(list(range(len(self.study.variants))))
        for p in doc.space:
            if p.values is not None:
                d[p.path] = CategoricalDistribution(list(p.values))
            elif p.is_integer:
                assert p.low is not None and p.high is not None
                step = int(p.step) if p.step else 1
                high = int(p.low) + (int(p.high) - int(p.low)) // step * step
                d[p.path] = IntDistribution(int(p.low), high, log=p.log, step=step)
            else:
                d[p.path] = FloatDistribution(float(p.low or 0), float(p.high or 0), log=p.log,
                                              step=p.step)
        return d

    def ask(self, n: int) -> list[tuple[Any, Point]]:
        out = []
        doc = self.study.doc
        for _ in range(n):
            trial = self.optuna.ask(self.dists)
            chip = trial.params.get("chip", doc.chips[0])
            variant = self.study.variants[int(trial.params.get("variant", 0))]
            params = {p.path: trial.params[p.path] for p in self.study.params_for(chip)}
            out.append((trial, make_point(self.study, chip, params, variant, trial.number)))
        return out

    def tell(self, trial: Any, row: dict[str, Any]) -> None:
        import optuna

        values = [row.get(o.metric) for o in self.study.doc.objectives]
        if row.get("error") or any(v is None or (isinstance(v, float) and math.isnan(v))
                                   for v in values):
            self.optuna.tell(trial, state=optuna.trial.TrialState.FAIL)
            return
        for i, value in enumerate(constraint_values(self.study, row)):
            trial.set_constraint(f"c{i}", value)
        self.optuna.tell(trial, [float(v) for v in values])


def constraint_values(study: Study, row: dict[str, Any]) -> list[float]:
    """Optuna's convention: <= 0 satisfied. Undecidable constraints count as violated (1)."""
    out: list[float] = []
    for c in study.doc.constraints:
        if c.metric == "fits":
            fits = row.get("fits")
            out.append(0.0 if fits is not None and bool(fits) else 1.0)
            continue
        v = row.get(c.metric)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append(1.0)
            continue
        if c.max is not None:
            out.append(float(v) - c.max)
        if c.min is not None:
            out.append(c.min - float(v))
    return out
