"""``hwsim sensitivity``: which chip fields and workload parameters move latency, energy and area
at one design point (elasticities, :mod:`hwsim.elasticity`)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from hwsim.errors import input_error

METRICS = ("latency_s", "energy_j", "area_mm2")


def sensitivity_cmd(
    chip: Annotated[str, typer.Option("--chip", help="chip preset or YAML path")],
    model: Annotated[str, typer.Option("--model", help="model preset or YAML path")],
    fields: Annotated[str | None, typer.Option(
        "--fields", help="comma-separated dotted chip fields and/or density, batch, seq "
        "(default: every numeric chip field and all three)")] = None,
    step: Annotated[float, typer.Option("--step", help="relative perturbation: each field "
                                        "is simulated at x(1-step) and x(1+step)")] = 0.1,
    batch: Annotated[int, typer.Option("--batch", min=1)] = 1,
    seq: Annotated[int | None, typer.Option("--seq", min=1)] = None,
    phase: Annotated[str | None, typer.Option("--phase", help="prefill | decode")] = None,
    density: Annotated[float | None, typer.Option(
        "--density", help="set the density of every op that has one (0 < d <= 1)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the JSON document")] = False,
) -> None:
    """Elasticity (d ln metric / d ln field) of latency, energy and area to every numeric chip
    field and to density, batch and seq, largest first."""
    from hwsim.cli import render
    from hwsim.elasticity import sensitivity

    if phase is not None and phase not in ("prefill", "decode"):
        raise input_error("--phase", "unknown value, expected one of: prefill, decode",
                          given=phase)
    if density is not None and not 0 < density <= 1:
        raise input_error("--density", "density must be in (0, 1]", given=density)
    names = None if fields is None else [f.strip() for f in fields.split(",") if f.strip()]
    if names is not None and not names:
        raise input_error("--fields", "no field given", hint="e.g. --fields clock_hz,batch")
    result = sensitivity(chip, model, fields=names, step=step, batch=batch, seq=seq,
                         phase=phase, density=density)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
        return
    table = render.table(("field", "value", *METRICS), right=("value", *METRICS),
                         title=f"{result.model} on {result.chip}: elasticity d ln(metric) / "
                         f"d ln(field), central difference at x(1 ± {step:g})")
    for r in result.rows:
        cells = ["n/a" if v is None else f"{v:+.3f}" for v in r.elasticity.values()]
        table.add_row(r.field, f"{r.value:.4g}", *cells)
    render.out().print(table)
    for name, reason in result.skipped.items():
        render.say(f"skipped {name}: {reason}")
    render.say(f"{result.simulations} simulations; +1 means 1 % more of the field gives 1 % "
               "more of the metric")


def print_informational(kind: str) -> None:
    """``hwsim schema chip --informational``: the chip fields marked informational."""
    from hwsim.cli import render
    from hwsim.config.knobs import informational_fields

    if kind != "chip":
        raise input_error("--informational", "informational fields are marked on chip "
                          "schemas only", given=kind, hint="hwsim schema chip --informational")
    table = render.table(("kind", "field", "reason"), fold=("kind", "field", "reason"),
                         title="Chip fields that cannot change results (informational)")
    rows = informational_fields()
    for kind_, path, reason in rows:
        table.add_row(kind_, path, reason)
    render.out().print(table)
    if not rows:
        render.say("no chip field is marked informational: every field can change results")
