"""Energy vs density on each chip, and the crossover where sparsity stops paying.

For each chip, batch and density the sparse workload and its dense twin are simulated; the
ratio sparse/dense < 1 means sparsity pays. ``pays_below`` is the largest swept density at which
it still pays (None: it pays at none), ``target_below`` the largest at which the claim's implied
ratio is reached.
"""

from __future__ import annotations

from typing import Any

from hwsim.claims.sim import Sim, density_item
from hwsim.config.claims import DensityAxis, Sweep


def run_sweep(sweep: Sweep, sim: Sim) -> dict[str, Any]:
    key = "keep_ratio" if sweep.kind == "attention_gate" else "density"
    axis = DensityAxis(glob=sweep.glob, kind=sweep.kind, key=key, values=sweep.densities,
                       extra=sweep.extra)
    dense = sim.model(sweep.workload, dense=True)
    series = []
    for chip in sweep.chips:
        kind = sim.chip(chip).kind
        for batch in sweep.batch if kind == "gpu" else sweep.batch[:1]:
            rd = sim.run(dense, chip, batch)
            rows = []
            for d in sorted(sweep.densities):
                m = sim.model(sweep.workload, density=density_item(axis, d))
                r = sim.run(m, chip, batch)
                rows.append({"density": d, "energy_j": r.total.energy_j,
                             "latency_s": r.total.latency_s,
                             "energy_ratio": r.total.energy_j / rd.total.energy_j})
            series.append({"chip": chip, "chip_kind": kind, "batch": batch,
                           "dense_energy_j": rd.total.energy_j, "points": rows,
                           "pays_below": _largest(rows, 1.0),
                           "target_below": (_largest(rows, sweep.target_ratio)
                                            if sweep.target_ratio else None)})
    globs = [sweep.glob] if isinstance(sweep.glob, str) else sweep.glob
    return {"workload": sweep.workload.label or sweep.workload.model, "globs": globs,
            "kind": sweep.kind, "target_ratio": sweep.target_ratio, "series": series}


def _largest(rows: list[dict[str, Any]], ratio: float) -> float | None:
    """Largest density whose energy ratio is below ``ratio`` (strictly: equal does not pay)."""
    ok = [r["density"] for r in rows if r["energy_ratio"] < ratio]
    return max(ok) if ok else None
