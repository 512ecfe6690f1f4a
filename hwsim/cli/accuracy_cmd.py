"""``hwsim accuracy``: a model's accuracy under its sparsity, with provenance, without simulating.

Also the accuracy line ``hwsim simulate`` prints next to latency and energy.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from hwsim.cli.options import AccuracyCurve, Phase, Seq
from hwsim.cli.render import say


def accuracy_cmd(
    model: Annotated[str, typer.Option("--model", help="model preset or YAML path")],
    sparsity: Annotated[list[str] | None, typer.Option(
        "--sparsity", help="OPGLOB:KIND:key=value,... sets ops' sparsity (repeatable), e.g. "
        "'layer*.ffn_down:topk:density=0.1'")] = None,
    accuracy_curve: AccuracyCurve = None,
    seq: Seq = None,
    phase: Phase = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="seed of the measured "
                                      "provider's bootstrap")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print the accuracy object as JSON")
                       ] = False,
) -> None:
    """A model's accuracy under its sparsity: measured, literature, user curve or unknown."""
    from hwsim.accuracy import accuracy_of
    from hwsim.sparsity.overrides import apply_sparsity
    from hwsim.workload.load import load_model

    m = load_model(model, seq=seq, phase=phase)
    if sparsity:
        m = apply_sparsity(m, sparsity)
    acc = accuracy_of(m, curve=accuracy_curve, seed=seed)
    if as_json:
        sys.stdout.write(json.dumps(acc.to_dict(), indent=2) + "\n")
        return
    say(f"{m.name}: " + accuracy_line(acc))
    if acc.provenance != "unknown":
        say(f"  source: {acc.source}")
        if acc.notes:
            say(f"  notes: {acc.notes}")
        if getattr(acc, "dense_source", ""):
            say(f"  {acc.dense_source}")


def accuracy_line(acc: Any) -> str:
    """``accuracy: 11.02 perplexity [literature] at density 0.5`` (or ``unknown - why``)."""
    if acc.provenance == "unknown" or acc.value is None:
        return f"accuracy: unknown - {acc.source}"
    text = f"accuracy: {acc.value:.4g} {acc.metric} [{acc.provenance}]"
    if acc.ci is not None:
        text += f", 95 % CI [{acc.ci[0]:.4g}, {acc.ci[1]:.4g}]"
    if acc.density is not None:
        text += f" at density {acc.density:.4g}"
    dense = getattr(acc, "dense_value", None)
    if dense is not None:
        text += f"; dense twin {dense:.4g}, loss vs dense {acc.loss_vs_dense:.4g}"
    if acc.extrapolated:
        text += " - EXTRAPOLATED (outside the curve's range: nearest point's value)"
    return text
