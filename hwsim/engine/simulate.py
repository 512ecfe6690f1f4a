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
             timeline: bool = False, accuracy_curve: Path | None = None) -> Result:
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
    c = chip if _is_chip(chip) and not chip_overrides else load_chip(chip, chip_overrides)
    if c.kind != "accelerator":  # these engines price density only: measure it on the masks
        from hwsim.sparsity.trace_density import traces_as_density

        m = traces_as_density(m)
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


def _is_chip(x: object) -> bool:
    return isinstance(x, ChipBase)
