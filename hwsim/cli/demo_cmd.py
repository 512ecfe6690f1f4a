"""``hwsim demo``: a default model on every accelerator preset, side by side."""

from __future__ import annotations

from typing import Annotated

import typer

from hwsim.cli.render import milli, out, ratio, table


def demo_cmd(
    model: Annotated[str, typer.Option("--model", help="model preset")] = "gpt2-small",
    seq: Annotated[int, typer.Option("--seq", min=1)] = 256,
) -> None:
    """Simulate a default model on every accelerator preset and print a comparison."""
    import hwsim
    from hwsim.presets import list_presets

    m = hwsim.load_model(model, seq=seq) if _is_builder(model) else hwsim.load_model(model)
    cols = ("chip", "latency ms", "energy mJ", "MAC %", "SRAM %", "off-chip %", "static %",
            "utilization", "stall %", "area mm²")
    grid = table(cols, right=cols[1:], title=f"{m.name} ({m.macs / 1e9:.2f} GMACs per input) "
                 "on the accelerator presets, batch 1, analytic fidelity")
    for p in list_presets("chips"):
        if p.group != "accelerators":
            continue
        t = hwsim.simulate(m, hwsim.load_chip(p.path), batch=1).total
        e = t.energy_breakdown_j
        sram = e["ifmap_sram"] + e["filter_sram"] + e["ofmap_sram"]
        shares = [f"{100 * x / t.energy_j:.1f}"
                  for x in (e["mac"] + e["vector"], sram, e["offchip"], e["static"])]
        grid.add_row(p.name, milli(t.latency_s), milli(t.energy_j), *shares,
                     ratio(t.utilization), f"{100 * t.stall_cycles / t.cycles:.1f}",
                     f"{t.area_mm2:.1f}")
    out().print(grid)
    out().print("Energy columns are shares of the total. `hwsim simulate --chip NAME --model "
                f"{model}` shows the per-op rows; `hwsim glossary` explains every field.")


def _is_builder(model: str) -> bool:
    """A preset built by a builder (a transformer family) takes --seq; a fixed graph does not."""
    from hwsim.config.loading import read_yaml_file
    from hwsim.presets import resolve

    return "builder" in read_yaml_file(resolve("models", model))
