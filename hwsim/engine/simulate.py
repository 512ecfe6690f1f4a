"""``simulate``: the one entry point every front end (CLI, app, studies) calls."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hwsim import __version__
from hwsim.config.chip import AcceleratorChip
from hwsim.config.sparsity import DenseSpec
from hwsim.engine.accelerator import prepare, simulate_accelerator
from hwsim.engine.result import Result
from hwsim.errors import input_error
from hwsim.hardware.chips import AnyChip, chip_hash, load_chip
from hwsim.workload.load import load_model
from hwsim.workload.model import Model

FIDELITIES = ("analytic", "cycle")


def simulate(model: Model | str | Path, chip: AnyChip | str | Path, *, batch: int = 1,
             fidelity: str = "analytic",
             chip_overrides: Mapping[str, Any] | None = None) -> Result:
    """Simulate one inference of ``batch`` inputs of ``model`` on ``chip``.

    ``model`` and ``chip`` may be objects, preset names or YAML paths. Returns a :class:`Result`
    with per-op rows and totals (cycles, seconds, joules by component, bytes per level).
    """
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise input_error("batch", "batch must be a whole number >= 1", given=batch)
    if fidelity not in FIDELITIES:
        raise input_error("fidelity", "unknown fidelity", given=fidelity,
                          hint="use one of: " + ", ".join(FIDELITIES))
    m = model if isinstance(model, Model) else load_model(model)
    c = chip if _is_chip(chip) and not chip_overrides else load_chip(chip, chip_overrides)
    if fidelity == "cycle":
        raise input_error("fidelity", "the cycle-approximate engine is not built yet",
                          given=fidelity, hint="use --fidelity analytic")
    for op in m.ops:
        if not isinstance(op.sparsity, DenseSpec):
            raise input_error(m.origin or m.name, "this engine costs dense work only; sparsity "
                              "realisation is not built yet", field=f"ops.{op.name}.sparsity",
                              given=op.sparsity.kind, hint="remove the sparsity spec")
    if isinstance(c, AcceleratorChip):
        ops, total = simulate_accelerator(m, c, batch)
    else:
        raise input_error(c.name, f"chips of kind '{c.kind}' have no engine yet", field="kind",
                          given=c.kind, hint="use an accelerator chip (hwsim list chips)")
    tech = prepare(c).tech
    inputs = {
        "chip": {"name": c.name, "kind": c.kind, "hash": chip_hash(c)},
        "model": {"name": m.name, "origin": m.origin, "source": m.source,
                  "hash": m.content_hash},
        "batch": batch, "fidelity": fidelity,
    }
    provenance = {"hwsim_version": __version__, "tech": tech.name,
                  "tech_sources": dict(tech.sources()), "chip_sources": dict(c.sources)}
    return Result(chip=c.name, chip_kind=c.kind, model=m.name, batch=batch, fidelity=fidelity,
                  clock_hz=c.clock_hz, total=total, ops=tuple(ops), inputs=inputs,
                  provenance=provenance)


def _is_chip(x: object) -> bool:
    from hwsim.config.chip import GpuChip, McuChip

    return isinstance(x, AcceleratorChip | GpuChip | McuChip)
