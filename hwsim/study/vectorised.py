"""The fast path: many designs of one base chip and one workload costed in one numpy call,
where the chip kind's backend has a vectorised sweep (``sweep_designs``; today the accelerator's
:func:`hwsim.engine.accelerator.sweep.sweep_accelerator`).

It applies when the fidelity is analytic, every swept field is one the backend's sweep varies
(``sweepable_fields``) and the backend accepts the workload (e.g. dense GEMMs, no router unit).
Each group also runs ``simulate`` on its first design: that gives the group's accuracy (a property
of model and sparsity, not of array sizes) and cross-checks the vectorised totals; on any
disagreement the group falls back to per-point ``simulate``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from hwsim.study.evaluate import base_chip, evaluate_point, fit_fields, variant_model
from hwsim.study.points import Point
from hwsim.study.spec import Study, Variant

log = logging.getLogger(__name__)

MIN_GROUP = 2  # one design alone is cheaper through simulate
CHECK_RTOL = 1e-6


def try_vectorised(study: Study, chip_name: str, variant: Variant,
                   points: list[Point]) -> list[dict[str, Any]] | None:
    """Rows for ``points`` (all on ``chip_name`` x ``variant``), or None when the fast path
    does not apply."""
    if study.doc.fidelity != "analytic" or len(points) < MIN_GROUP:
        return None
    from hwsim.engine.backend import backend_for

    backend = backend_for(study.chip_kinds[chip_name])
    sweep = getattr(backend, "sweep_designs", None)
    paths = {path for p in points for path in p.overrides}
    if sweep is None or not paths <= set(getattr(backend, "sweepable_fields", ())):
        return None
    base = base_chip(chip_name)
    model = variant_model(variant.model, variant.seq, variant.phase, variant.sparsity)
    values = {path: np.array([float(p.overrides[path]) for p in points]) for path in paths}
    swept = sweep(model, base, values, variant.batch)
    if swept is None:
        return None
    latency_s, energy, area = swept
    first = evaluate_point(study, points[0])
    if first.get("error"):
        return None
    ok = all(np.isclose(first[k], v[0], rtol=CHECK_RTOL, atol=0.0) for k, v in
             (("latency_s", latency_s), ("energy_j", energy), ("area_mm2", area)))
    if not ok:
        log.warning("vectorised sweep disagrees with simulate on %s; using simulate",
                    chip_name)
        return None
    acc = {k: v for k, v in first.items() if k.startswith("accuracy")}
    # Fit depends on the off-chip capacity, which the sweep never varies.
    fit = fit_fields(base, model, variant.batch, None)
    rows = []
    for i in range(len(points)):
        rows.append({"latency_s": float(latency_s[i]), "energy_j": float(energy[i]),
                     "area_mm2": float(area[i]), "evaluator": "vectorised", **acc, **fit})
    rows[0] = first | {"evaluator": "simulate"}
    return rows

