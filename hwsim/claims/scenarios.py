"""One check -> its scenario grid (chip x batch x seq x density) -> a scored point per scenario.

Each point's metric comes from :func:`hwsim.simulate` results (through the run's
:class:`~hwsim.claims.sim.Sim` cache) or, for ``flop_reduction_x`` and ``accuracy_retained``,
from the workload and the accuracy providers; :mod:`hwsim.claims.verdict` scores it.
"""

from __future__ import annotations

import itertools
from typing import Any

from hwsim.claims import accuracy as acc
from hwsim.claims.flops import executed_macs
from hwsim.claims.sim import Sim, density_item
from hwsim.claims.verdict import Point, meets
from hwsim.config.claims import CHIPLESS_METRICS, Check
from hwsim.engine.backend import backend_for
from hwsim.errors import input_error
from hwsim.workload.model import Model

OVERHEAD_ROLES = ("predictor", "router", "gate")


def chip_overrides(check: Check, sim: Sim, chip: str) -> dict[str, Any]:
    """The check's overrides for ``chip``: those for its kind, then those for its name."""
    kind = sim.chip(chip).kind
    return {**check.chip_overrides.get(kind, {}), **check.chip_overrides.get(chip, {})}


def grid(check: Check, sim: Sim) -> list[dict[str, Any]]:
    """Every scenario of the check as attrs: chip, chip_kind, batch, seq, density."""
    seqs: list[int | None] = list(check.seq) if check.seq else [None]
    dens: list[float | None] = list(check.density.values) if check.density else [None]
    chipless = check.metric in CHIPLESS_METRICS  # a workload property: one point per scenario
    chips: list[str | None] = [None] if chipless else list(check.chips)
    out: list[dict[str, Any]] = []
    for chip in chips:
        kind = sim.chip(chip).kind if chip is not None else "workload"
        batches = check.batch if kind in check.batch_kinds else check.batch[:1]
        for batch, seq, d in itertools.product(batches, seqs, dens):
            out.append({"chip": chip or "(workload)", "chip_kind": kind, "batch": batch,
                        "seq": seq, "density": d})
    return out


def run_check(check: Check, sim: Sim) -> list[Point]:
    return [score(check, sim, attrs) for attrs in grid(check, sim)]


def models(check: Check, sim: Sim, seq: int | None, density: float | None) -> tuple[Model, Model]:
    """(candidate, baseline) at one scenario's seq and density."""
    items = density_item(check.density, density) if check.density and density is not None else []
    cand = sim.model(check.candidate, seq=seq, density=items)
    if check.baseline == "dense_twin":
        base = sim.model(check.candidate, seq=seq, dense=True)
    else:
        base = sim.model(check.baseline, seq=seq)
    return cand, base


def score(check: Check, sim: Sim, attrs: dict[str, Any]) -> Point:
    cand, base = models(check, sim, attrs["seq"], attrs["density"])
    value, detail = _metric(check, sim, attrs, cand, base)
    met = None if value is None else meets(value, check.claimed, check.rule)
    return Point(attrs, value, met, detail)


def _metric(check: Check, sim: Sim, attrs: dict[str, Any], cand: Model,
            base: Model) -> tuple[float | None, dict[str, Any]]:
    m = check.metric
    if m == "flop_reduction_x":
        c, b = executed_macs(cand), executed_macs(base)
        return b / c, {"candidate_macs": c, "baseline_macs": b}
    if m == "accuracy_retained":
        ca, ba = acc.accuracy_of(cand), acc.accuracy_of(base)
        return acc.retained(ca, ba), {"candidate_accuracy": ca, "baseline_accuracy": ba}
    chip, batch = attrs["chip"], attrs["batch"]
    ov = chip_overrides(check, sim, chip)
    rc = sim.run(cand, chip, batch, ov)
    detail: dict[str, Any] = {"candidate_energy_j": rc.total.energy_j,
                              "candidate_latency_s": rc.total.latency_s}
    mcu_fit = next((op.mapping["fit"] for op in rc.ops if "fit" in op.mapping), None)
    if mcu_fit is not None:  # every MCU point says whether the candidate fits at all
        detail["candidate_fits"] = bool(mcu_fit["fits"])
    if m in ("fits", "devices_needed"):
        c = sim.chip(chip, ov)
        fit = backend_for(c).memory_fit(cand, c, batch, resident=check.resident, result=rc)
        if fit.fits is None or fit.devices_needed is None:
            raise input_error(c.name, "the chip's off-chip memory has no size_bytes, so a fit "
                              "cannot be checked", field="offchip.size_bytes",
                              hint="set it with chip_overrides or pick a chip with a capacity")
        detail |= {"resident_bytes": fit.resident_bytes, "capacity_bytes": fit.capacity_bytes,
                   "devices_needed": fit.devices_needed, "fit": fit.detail}
        if m == "fits":
            return 1.0 if fit.fits else 0.0, detail
        # Devices as a deployment would spread the model (smallest tensor-parallel degree,
        # then pipeline stages, whose per-device shard fits); the byte count stays a detail.
        from hwsim.parallel.fit import devices_needed

        need = devices_needed(cand, c, batch, resident=check.resident,
                              read_bytes=fit.detail.get("read_per_inference_bytes"),
                              bytes_devices_needed=fit.devices_needed)
        detail |= {"devices_needed": need.devices, "bytes_devices_needed": fit.devices_needed,
                   "parallel": need.to_dict()}
        return (None if need.devices is None else float(need.devices)), detail
    if m == "overhead_energy_share":
        roles = {op.name: op.role for op in cand.ops}
        over = sum(op.energy_j for op in rc.ops if roles.get(op.name) in OVERHEAD_ROLES)
        return over / rc.total.energy_j, detail | {"overhead_energy_j": over}
    if m == "latency_p99_over_p50":
        assert check.density is not None and check.p99_density_factor is not None
        high = min(1.0, attrs["density"] * check.p99_density_factor)
        hi_model = sim.model(check.candidate, seq=attrs["seq"],
                             density=density_item(check.density, high))
        rh = sim.run(hi_model, chip, batch, ov)
        return rh.total.latency_s / rc.total.latency_s, detail | {
            "p99_density": high, "p99_latency_s": rh.total.latency_s}
    rb = sim.run(base, chip, batch, ov)
    detail |= {"baseline_energy_j": rb.total.energy_j, "baseline_latency_s": rb.total.latency_s}
    if m == "energy_reduction_x":
        return rb.total.energy_j / rc.total.energy_j, detail
    if m == "energy_saving":
        return 1.0 - rc.total.energy_j / rb.total.energy_j, detail
    if m == "latency_speedup_x":
        return rb.total.latency_s / rc.total.latency_s, detail
    raise ValueError(f"unhandled metric {m}")
