"""``hwsim capture``: record a real model's activation masks on real inputs as an hwsim trace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hwsim.cli.render import say


def capture_cmd(
    model: Annotated[Path, typer.Argument(help="ONNX model file (.onnx)")],
    inputs: Annotated[Path, typer.Option("--inputs", help=".npz with one array per model "
                                         "input (by name), N inputs stacked on axis 0")],
    out: Annotated[Path, typer.Option("-o", "--out", help="trace .npz to write")],
    mask: Annotated[str, typer.Option("--mask", help="zero (nonzero is active) | threshold:T "
                                      "(|x| > T) | topk:K (K largest |x| per token)")] = "zero",
    max_inputs: Annotated[int | None, typer.Option("--max-inputs", min=1, help="use only the "
                                                   "first N inputs")] = None,
) -> None:
    """Run MODEL on the inputs with ONNX Runtime and save each matmul op's activation mask
    (hwsim's trace format), named as `hwsim simulate --model MODEL` names the ops."""
    from hwsim.capture import capture, parse_rule, write

    rule = parse_rule(mask)
    cap = capture(model, inputs, rule, max_inputs=max_inputs)
    path = write(cap, out)
    say(f"{model.name}: {cap.n_inputs} inputs, mask rule {rule.text}")
    say(f"{'op':<24} {'K':>6} {'tokens/input':>12} {'density mean':>12} "
        f"{'min':>7} {'max':>7}")
    for c in cap.ops:
        s = c.stats()
        say(f"{c.op:<24} {c.k:>6} {c.tokens_per_input:>12} "
            f"{s['density_mean']:>12.4f} {s['density_min']:>7.4f} {s['density_max']:>7.4f}")
    for op, why in cap.skipped.items():
        say(f"not captured: {op} ({why})")
    first = cap.ops[0].op
    say(f"wrote {path}; simulate with --model {model} --sparsity "
        f"'{first}:trace:path={path}'")
