"""The fast path: many accelerator designs of one base chip and one workload costed in one
numpy call (:func:`hwsim.engine.accelerator.sweep.sweep_accelerator`).

It applies when the fidelity is analytic, the base chip is an accelerator without a router
unit, every swept field is one the sweep varies, and the model's GEMMs are dense. Each group
also runs ``simulate`` on its first design: that gives the group's accuracy (a property of model
and sparsity, not of array sizes) and cross-checks the vectorised totals; on any disagreement
the group falls back to per-point ``simulate``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from hwsim.study.points import Point
from hwsim.study.spec import Study, Variant

log = logging.getLogger(__name__)

# Chip field -> keyword of hwsim.engine.accelerator.sweep.designs_like.
SWEEPABLE = {
    "array.rows": "rows", "array.cols": "cols",
    "buffers.ifmap.size_bytes": "ifmap_bytes", "buffers.filter.size_bytes": "filter_bytes",
    "buffers.ofmap.size_bytes": "ofmap_bytes", "offchip.bw_bytes_per_s": "bw_bytes_per_s",
    "clock_hz": "clock_hz", "vector_unit.lanes": "vector_lanes",
}
MIN_GROUP = 2  # one design alone is cheaper through simulate
CHECK_RTOL = 1e-6


def try_vectorised(study: Study, chip_name: str, variant: Variant,
                   points: list[Point]) -> list[dict[str, Any]] | None:
    """Rows for ``points`` (all on ``chip_name`` x ``variant``), or None when the fast path
    does not apply."""
    if (study.doc.fidelity != "analytic" or study.chip_kinds[chip_name] != "accelerator"
            or len(points) < MIN_GROUP):
        return None
    paths = {path for p in points for path in p.overrides}
    if not paths <= SWEEPABLE.keys() or "static_power_w" in paths:
        return None
    from hwsim.engine.accelerator.sweep import designs_like, sweep_accelerator
    from hwsim.errors import HwsimError
    from hwsim.study.evaluate import base_chip, evaluate_point, fit_fields, variant_model

    base = base_chip(chip_name)
    if base.router_unit is not None:  # the sweep runs router GEMMs on the array
        return None
    model = variant_model(variant.model, variant.seq, variant.phase, variant.sparsity)
    arrays = {SWEEPABLE[path]: np.array([float(p.overrides[path]) for p in points])
              for path in paths}
    designs, clock = designs_like(base, **arrays)
    try:
        res = sweep_accelerator(model, base, designs, clock, batch=variant.batch)
    except ValueError:  # sparse GEMMs: the sweep costs dense work only
        return None
    except HwsimError:
        return None
    area, p_static = _area_and_static(base, designs)
    energy = res.dynamic_energy_j + p_static * res.latency_s
    first = evaluate_point(study, points[0])
    if first.get("error"):
        return None
    ok = all(np.isclose(first[k], v[0], rtol=CHECK_RTOL, atol=0.0) for k, v in
             (("latency_s", res.latency_s), ("energy_j", energy), ("area_mm2", area)))
    if not ok:
        log.warning("vectorised sweep disagrees with simulate on %s; using simulate",
                    chip_name)
        return None
    acc = {k: v for k, v in first.items() if k.startswith("accuracy")}
    # Fit depends on the off-chip capacity, which the sweep never varies.
    fit = fit_fields(base, model, None)
    rows = []
    for i in range(len(points)):
        rows.append({"latency_s": float(res.latency_s[i]), "energy_j": float(energy[i]),
                     "area_mm2": float(area[i]), "evaluator": "vectorised", **acc, **fit})
    rows[0] = first | {"evaluator": "simulate"}
    return rows


def _area_and_static(chip: Any, d: Any) -> tuple[np.ndarray, np.ndarray]:
    """The accelerator's area (mm^2) and static power (W) per design, as
    :func:`hwsim.engine.accelerator.analytic.accelerator_area_mm2` and ``static_power_w``
    compute them for one chip."""
    from hwsim.hardware.tech import load_tech

    tech = load_tech(chip.tech)
    mac = tech.mac_area_mm2(chip.array.dtype)
    logic = np.asarray(d.rows * d.cols * mac + d.vector_lanes * mac, dtype=np.float64)
    sram_bytes = np.asarray(d.ifmap_bytes + d.filter_bytes + d.ofmap_bytes, dtype=np.float64)
    sram = sum(np.asarray(tech.sram_area_mm2(b), dtype=np.float64)
               for b in (d.ifmap_bytes, d.filter_bytes, d.ofmap_bytes))
    area = logic + sram
    if chip.static_power_w is not None:
        return area, np.full_like(area, chip.static_power_w)
    return area, np.asarray(tech.static_power_w(logic, sram_bytes), dtype=np.float64)
