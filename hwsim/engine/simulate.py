"""``simulate``: the one entry point every front end (CLI, app, studies) calls."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hwsim import __version__
from hwsim.config.chip import ChipBase
from hwsim.engine.backend import backend_for
from hwsim.engine.result import Result
from hwsim.errors import input_error
from hwsim.hardware.chips import AnyChip, chip_hash, load_chip
from hwsim.sparsity.overrides import apply_sparsity, dense_twin
from hwsim.workload.load import load_model
from hwsim.workload.model import Model
from hwsim.workload.ops import MAX_OP_MACS

FIDELITIES = ("analytic", "cycle")
MAX_SAMPLES = 100_000


def simulate(model: Model | str | Path, chip: AnyChip | str | Path, *, batch: int = 1,
             fidelity: str = "analytic", chip_overrides: Mapping[str, Any] | None = None,
             sparsity: Sequence[str | tuple[str, object]] | None = None,
             compare_dense: bool = False, samples: int = 0, seed: int = 0,
             timeline: bool = False, accuracy_curve: Path | None = None,
             devices: int | None = None, parallel: Mapping[str, Any] | Any = None) -> Result:
    """Simulate one inference of ``batch`` inputs of ``model`` on ``chip``.

    ``model`` and ``chip`` may be objects, preset names or YAML paths. ``sparsity`` overrides the
    model's sparsity per op glob (``"*ffn_down:topk:density=0.02"`` or (glob, SparsitySpec)).
    ``compare_dense`` also simulates the dense twin and fills ``Result.vs_dense`` with
    sparse/dense ratios of latency, energy and off-chip bytes. ``fidelity="cycle"`` realises
    masks (seeded by ``seed``) and runs the tile-level event simulation; ``samples=N`` then
    simulates N inputs with densities drawn from the specs' variability and fills
    ``Result.distribution`` (p50/p90/p99/max of latency and energy); ``timeline=True`` keeps the
    per-engine event timelines for :func:`hwsim.report.chrome_trace.write_chrome_trace`.
    ``Result.accuracy`` comes from :func:`hwsim.accuracy.accuracy_of` (``accuracy_curve``, a
    density/metric CSV, overrides the model's own source; "unknown" when there is none).
    ``devices``/``parallel`` (``{"tp": 8, "pp": 1, "ep": 1}`` or a
    :class:`hwsim.parallel.ParallelSpec`) spread the model over devices; ``chip`` may then be a
    system preset (``dgx-h100``) or a chip that one names. ``Result.parallel`` holds the
    per-device memory fit and every collective (:mod:`hwsim.parallel.run`); totals are then
    the whole system's. One device (the default) is the single-chip path, unchanged.
    Returns a :class:`Result` with per-op rows and totals (cycles, seconds, joules by
    component, bytes per level).
    """
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise input_error("batch", "batch must be a whole number >= 1", given=batch)
    if fidelity not in FIDELITIES:
        raise input_error("fidelity", "unknown fidelity", given=fidelity,
                          hint="use one of: " + ", ".join(FIDELITIES))
    m = model if isinstance(model, Model) else load_model(model)
    if sparsity:
        m = apply_sparsity(m, sparsity)
    biggest = max((op.macs for op in m.ops), default=0)
    if biggest * batch > MAX_OP_MACS:
        raise input_error("batch", f"batch {batch} x the largest op's {biggest:.3g} MACs exceeds "
                          f"the {MAX_OP_MACS:.3g} MACs hwsim costs in one op", given=batch)
    spec, system = _parallel_setup(chip, devices, parallel)
    if system is not None and not _is_chip(chip):
        chip = system.chip
    c = chip if _is_chip(chip) and not chip_overrides else load_chip(chip, chip_overrides)
    for name, value, lo in (("samples", samples, 0), ("seed", seed, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < lo:
            raise input_error(name, f"{name} must be a whole number >= {lo}", given=value)
    if samples and fidelity != "cycle":
        raise input_error("samples", "samples need the cycle fidelity", given=samples,
                          hint="add --fidelity cycle")
    if samples > MAX_SAMPLES:
        raise input_error("samples", f"at most {MAX_SAMPLES} samples", given=samples)
    from hwsim.accuracy import accuracy_of

    accuracy = accuracy_of(m, curve=accuracy_curve, seed=seed)  # first: bad curves fail fast
    if spec is not None:
        return _run_parallel(m, c, spec, system, batch, fidelity, seed, samples, timeline,
                             compare_dense, accuracy)
    result = dataclasses.replace(_run(m, c, batch, fidelity, seed, timeline), accuracy=accuracy)
    if samples:
        from hwsim.engine.sampling import sample_distribution

        result = dataclasses.replace(result, distribution=sample_distribution(
            m, c, batch, samples, seed))
    if not compare_dense:
        return result
    dense = _run(dense_twin(m), c, batch, fidelity, seed, False)
    level = backend_for(c).weight_level
    vs = {
        "latency_ratio": result.total.latency_s / dense.total.latency_s,
        "energy_ratio": result.total.energy_j / dense.total.energy_j,
        # the level weights stream from: off-chip DRAM/HBM, or an MCU's flash
        "dram_bytes_ratio": (result.total.bytes[level] / dense.total.bytes[level]
                             if dense.total.bytes[level] else 1.0),
    }
    return dataclasses.replace(result, vs_dense=vs, dense_total=dense.total)


def _run(m: Model, c: AnyChip, batch: int, fidelity: str, seed: int = 0,
         timeline: bool = False) -> Result:
    backend = backend_for(c)
    timelines = None
    if fidelity == "cycle":
        run = backend.cycle(m, c, batch, seed=seed, record=timeline)
        ops, total = run.ops, run.total
        timelines = run.timelines if timeline else None
    else:
        ops, total = backend.analytic(m, c, batch)
    tech = backend.tech(c)
    inputs = {
        "chip": {"name": c.name, "kind": c.kind, "hash": chip_hash(c)},
        "model": {"name": m.name, "origin": m.origin, "source": m.source,
                  "hash": m.content_hash},
        "batch": batch, "fidelity": fidelity,
    }
    provenance = {"hwsim_version": __version__, "tech": tech.name,
                  "tech_sources": dict(tech.sources()), "chip_sources": dict(c.sources)}
    if fidelity == "cycle":
        inputs["seed"] = seed
    return Result(chip=c.name, chip_kind=c.kind, model=m.name, batch=batch, fidelity=fidelity,
                  clock_hz=c.clock_hz, total=total, ops=tuple(ops), inputs=inputs,
                  provenance=provenance, timelines=timelines)


def _parallel_setup(chip: Any, devices: int | None, parallel: Any) -> tuple[Any, Any]:
    """(spec, system) of a many-device run, or (None, None) for one device. A system preset
    without a spec is one device of its chip."""
    from hwsim.parallel import is_system, load_system, parse_parallel, resolve_devices

    system = load_system(chip) if is_system(chip) else None
    if devices is None and parallel is None:
        return None, system
    spec = resolve_devices(parse_parallel(parallel), devices)
    return (None if spec.single else spec), system


def _run_parallel(m: Model, c: AnyChip, spec: Any, system: Any, batch: int, fidelity: str,
                  seed: int, samples: int, timeline: bool, compare_dense: bool,
                  accuracy: Any) -> Result:
    from hwsim.parallel import system_for_chip
    from hwsim.parallel.run import simulate_parallel

    if system is None:
        system = system_for_chip(c.name)
        if system is None:
            raise input_error("devices", f"no interconnect for {spec.devices} x {c.name}: "
                              "no system preset is built from this chip", given=spec.devices,
                              hint="use a system preset (hwsim list systems) or write one "
                              "naming this chip (configs/hardware/systems/*.yaml)")
    elif system.chip != c.name:
        raise input_error("chip", f"system {system.name} is built from {system.chip}, not "
                          f"{c.name}", given=c.name)
    for name, value in (("samples", samples), ("trace", timeline)):
        if value:
            raise input_error(name, f"{name} is not available for a many-device run",
                              given=value, hint="drop it, or simulate one device")

    def run(model: Model, chip: AnyChip, b: int) -> Result:
        return _run(model, chip, b, fidelity, seed, False)

    result = dataclasses.replace(simulate_parallel(m, c, system, spec, batch, run),
                                 accuracy=accuracy)
    if not compare_dense:
        return result
    dense = simulate_parallel(dense_twin(m), c, system, spec, batch, run)
    level = backend_for(c).weight_level
    vs = {"latency_ratio": result.total.latency_s / dense.total.latency_s,
          "energy_ratio": result.total.energy_j / dense.total.energy_j,
          "dram_bytes_ratio": (result.total.bytes[level] / dense.total.bytes[level]
                               if dense.total.bytes[level] else 1.0)}
    return dataclasses.replace(result, vs_dense=vs, dense_total=dense.total)


def _is_chip(x: object) -> bool:
    return isinstance(x, ChipBase)
