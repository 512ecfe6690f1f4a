"""``hwsim simulate``: one model (or a single GEMM / conv) on one chip.

The analytic path imports only what it uses: ``--json`` on an accelerator preset loads neither
rich, pandas, scipy nor numba (tests/test_startup_imports.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from hwsim.cli.options import (
    AccuracyCurve,
    AsJson,
    Phase,
    Seq,
    check_output,
    parse_sets,
    workload,
    write_atomically,
)
from hwsim.cli.render import count, err, mega, micro, out, ratio, say, table
from hwsim.errors import input_error

OUT_SUFFIXES = (".json", ".csv", ".parquet")


def simulate_cmd(
    chip: Annotated[str, typer.Option("--chip", help="chip preset or YAML path")],
    model: Annotated[str | None, typer.Option("--model", help="model preset or YAML path")] = None,
    gemm: Annotated[str | None, typer.Option("--gemm", help="M,N,K: A is MxK, B is KxN")] = None,
    conv: Annotated[str | None, typer.Option("--conv", help="H,W,C,K,R,S[,stride]")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a chip field: "
                                                   "PATH=VALUE (repeatable)")] = None,
    batch: Annotated[int, typer.Option("--batch", min=1, help="inputs per inference")] = 1,
    seq: Seq = None,
    phase: Phase = None,
    mode: Annotated[str, typer.Option("--mode", help="inference | training (forward, "
                                      "backward, optimizer update)")] = "inference",
    fidelity: Annotated[str, typer.Option("--fidelity", help="analytic | cycle")] = "analytic",
    sparsity: Annotated[list[str] | None, typer.Option(
        "--sparsity", help="OPGLOB:KIND:key=value,... sets ops' sparsity (repeatable), e.g. "
        "'*ffn_down:topk:density=0.02' or '*:dense'")] = None,
    compare_dense: Annotated[bool, typer.Option(
        "--compare-dense", help="also simulate the dense twin and print the ratios")] = False,
    samples: Annotated[int, typer.Option("--samples", min=0, help="cycle fidelity: simulate N "
                                         "inputs and report latency/energy percentiles")] = 0,
    seed: Annotated[int, typer.Option("--seed", min=0, help="seed of every random draw")] = 0,
    trace: Annotated[Path | None, typer.Option("--trace", help="cycle fidelity: write a Chrome "
                                               "trace-event JSON (Perfetto)")] = None,
    as_json: AsJson = False,
    out_file: Annotated[Path | None, typer.Option("--out", help="write FILE.json, .csv or "
                                                  ".parquet")] = None,
    accuracy_curve: AccuracyCurve = None,
) -> None:
    """Simulate one model (or a single GEMM / conv) on one chip."""
    import hwsim

    work = workload(model, gemm, conv, seq, phase, mode)
    overrides = parse_sets(set_ or [])
    chip_obj = hwsim.load_chip(chip, overrides)
    if out_file is not None:
        check_output(out_file, "--out", OUT_SUFFIXES, "unknown output format",
                     hint="use a .json, .csv or .parquet file name")
    if trace is not None:
        if fidelity != "cycle":
            raise input_error("--trace", "a timeline needs --fidelity cycle")
        if not trace.parent.exists():
            raise input_error(str(trace), "output folder does not exist", field="--trace")
    result = hwsim.simulate(work, chip_obj, batch=batch, fidelity=fidelity,
                            sparsity=sparsity or None, compare_dense=compare_dense,
                            samples=samples, seed=seed, timeline=trace is not None,
                            accuracy_curve=accuracy_curve)
    if out_file is not None:
        write_result(result, out_file)
    if trace is not None:
        from hwsim.report.chrome_trace import write_chrome_trace

        write_chrome_trace(result, trace)
        err().print(f"wrote {trace} (open in https://ui.perfetto.dev)")
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        print_result(result)
        if out_file is not None:
            err().print(f"wrote {out_file}")


def write_result(result: Any, path: Path) -> None:
    """The result as .json, .csv (one row per op) or .parquet, written atomically."""
    suffix = path.suffix.lower()

    def write(tmp: str) -> None:
        if suffix == ".json":
            Path(tmp).write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        elif suffix == ".csv":
            result.to_dataframe().to_csv(tmp, index=False)
        else:
            result.to_dataframe().to_parquet(tmp, index=False)

    write_atomically(path, write)


def print_result(result: Any) -> None:
    """The per-op table, the totals, and whatever else the run produced."""
    rows = table(["op", "kind", "cycles", "µs", "µJ", "util", "bottleneck"],
                 title=f"{result.model} on {result.chip} (batch {result.batch}, "
                 f"{result.fidelity})", right=["cycles", "µs", "µJ", "util"])
    for op in result.ops:
        rows.add_row(op.name, op.kind, count(op.cycles), micro(op.latency_s),
                     micro(op.energy_j), ratio(op.utilization), op.bottleneck)
    t = result.total
    rows.add_row("total", "", count(t.cycles), micro(t.latency_s), micro(t.energy_j),
                 ratio(t.utilization), "", style="bold")
    out().print(rows)
    parts = ", ".join(f"{k} {micro(v)}" for k, v in t.energy_breakdown_j.items())
    out().print(f"energy µJ: {parts}")
    out().print(f"compute {count(t.compute_cycles)} + stall {count(t.stall_cycles)} cycles; "
                f"{t.macs:,} MACs; area {t.area_mm2:.2f} mm²; static {t.static_power_w:.3g} W")
    if result.accuracy is not None:
        from hwsim.cli.accuracy_cmd import accuracy_line

        say(accuracy_line(result.accuracy))
        if result.accuracy.provenance != "unknown":
            say(f"  accuracy source: {result.accuracy.source}")
    _print_fit(result)
    if result.distribution is not None:
        dist = result.distribution
        lat, en = dist["latency_s"], dist["energy_j"]
        out().print(f"{dist['samples']} inputs: latency p50 {micro(lat['p50'])} µs, p90 "
                    f"{micro(lat['p90'])}, p99 {micro(lat['p99'])}, max {micro(lat['max'])}; "
                    f"energy p50 {micro(en['p50'])} µJ, p99 {micro(en['p99'])}")
    if result.vs_dense is not None and result.dense_total is not None:
        _print_vs_dense(t, result.dense_total, result.vs_dense)


def _print_fit(result: Any) -> None:
    fit = next((op.mapping["fit"] for op in result.ops if "fit" in op.mapping), None)
    if fit is None:
        return
    verdict = "fits" if fit["fits"] else "DOES NOT FIT"
    out().print(f"memory fit: {verdict} - weights {fit['weights_bytes']:,} B of "
                f"{fit['flash_bytes']:,} B flash, peak activations {fit['arena_bytes']:,} B "
                f"of {fit['sram_bytes']:,} B SRAM (at {fit['peak_op']})")


def _print_vs_dense(t: Any, dt: Any, v: dict[str, float]) -> None:
    side = table(["", "sparse", "dense", "sparse / dense"], title="sparse vs its dense twin",
                 right=["sparse", "dense", "sparse / dense"])
    side.add_row("latency µs", micro(t.latency_s), micro(dt.latency_s), ratio(v["latency_ratio"]))
    side.add_row("energy µJ", micro(t.energy_j), micro(dt.energy_j), ratio(v["energy_ratio"]))
    side.add_row("off-chip MB", mega(t.bytes["offchip"]), mega(dt.bytes["offchip"]),
                 ratio(v["dram_bytes_ratio"]))
    out().print(side)
