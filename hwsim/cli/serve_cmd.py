"""``hwsim serve``: request-level serving simulation of one model on one chip."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from hwsim.cli.options import PHASES, Phase, check_choice
from hwsim.cli.render import out


def serve_cmd(
    chip: Annotated[str, typer.Option("--chip", help="chip preset or YAML path")],
    model: Annotated[str, typer.Option("--model", help="model preset or YAML path")],
    rate: Annotated[str | None, typer.Option("--rate", help="arrival rate, e.g. 200/s")] = None,
    batching: Annotated[str, typer.Option("--batching", help="max_batch=8,timeout_ms=2 or "
                                          "none")] = "none",
    duration: Annotated[str, typer.Option("--duration", help="e.g. 10s, 500ms")] = "10s",
    slo_ms: Annotated[float | None, typer.Option("--slo-ms", help="latency SLO, ms")] = None,
    arrivals: Annotated[str, typer.Option("--arrivals", help="poisson | deterministic | "
                                          "trace:FILE.csv")] = "poisson",
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
    sparsity: Annotated[list[str] | None, typer.Option("--sparsity", help="as in simulate")
                        ] = None,
    seq: Annotated[int | None, typer.Option("--seq", min=1)] = None,
    phase: Phase = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Request-level serving simulation: arrivals, batching, latency percentiles, SLO, energy."""
    from hwsim.serving import render, serve_from_cli

    check_choice("--phase", phase, PHASES)
    result = serve_from_cli(chip, model, rate, batching, duration, slo_ms, arrivals, seed,
                            sparsity, seq=seq, phase=phase)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        out().print(render(result))
