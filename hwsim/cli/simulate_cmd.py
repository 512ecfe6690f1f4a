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
    Devices,
    Ep,
    Microbatches,
    Phase,
    Pp,
    Seq,
    Tp,
    check_output,
    parallel_option,
    parse_sets,
    workload,
    write_atomically,
)
from hwsim.cli.render import count, err, mega, micro, out, ratio, say, table
from hwsim.errors import input_error

OUT_SUFFIXES = (".json", ".csv", ".parquet")


def simulate_cmd(
    chip: Annotated[str, typer.Option("--chip", help="chip or system preset (dgx-h100), or "
                                      "YAML path")],
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
    tp: Tp = None,
    pp: Pp = None,
    ep: Ep = None,
    devices: Devices = None,
    microbatches: Microbatches = None,
) -> None:
    """Simulate one model (or a single GEMM / conv) on one chip, or on several devices."""
    import hwsim
    from hwsim.parallel import is_system, load_system

    work = workload(model, gemm, conv, seq, phase, mode)
    overrides = parse_sets(set_ or [])
    system = load_system(chip) if is_system(chip) else None
    chip_obj = hwsim.load_chip(system.chip if system else chip, overrides)
    if out_file is not None:
        check_output(out_file, "--out", OUT_SUFFIXES, "unknown output format",
                     hint="use a .json, .csv or .parquet file name")
    if trace is not None:
        if fidelity != "cycle":
            raise input_error("--trace", "a timeline needs --fidelity cycle")
        if not trace.parent.exists():
            raise input_error(str(trace), "output folder does not exist", field="--trace")
    # a system preset goes to simulate by name (its interconnect), the chip overrides with it
    target = chip if system is not None else chip_obj
    result = hwsim.simulate(work, target, batch=batch, chip_overrides=overrides if system
                            else None, fidelity=fidelity,
                            sparsity=sparsity or None, compare_dense=compare_dense,
                            samples=samples, seed=seed, timeline=trace is not None,
                            accuracy_curve=accuracy_curve, devices=devices,
                            parallel=parallel_option(tp, pp, ep, microbatches))
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
    if result.parallel is not None:
        _print_parallel(result.parallel)
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


def _print_parallel(p: dict[str, Any]) -> None:
    """Per-device memory fit, the pipeline and the collectives' time and energy per kind."""
    spec, ic, fit = p["spec"], p["interconnect"], p["memory_fit"]["per_device"]
    out().print(f"{p['devices']} devices of {p['system']} (tp {spec['tp']}, pp {spec['pp']}, "
                f"ep {spec['ep']}); {ic['kind']} {ic['algorithm']}: alpha "
                f"{micro(ic['alpha_s'])} µs/step, bus {ic['bus_bw_bytes_per_s'] / 1e9:.0f} GB/s, "
                f"{ic['energy_j_per_byte'] * 1e12:.0f} pJ/B")
    verdict = "fits" if fit["fits"] else "DOES NOT FIT (KV cache)"
    out().print(f"per-device memory: {verdict} - weights {mega(fit['weights_bytes'])} MB + KV "
                f"cache {mega(fit['kv_cache_bytes'])} MB + activations "
                f"{mega(fit['activation_bytes'])} MB of {mega(fit['capacity_bytes'])} MB "
                f"(unsharded weights {mega(p['memory_fit']['unsharded_weights_bytes'])} MB)")
    if spec["pp"] > 1:
        out().print(f"pipeline: {p['microbatches']} micro-batches of {p['microbatch_size']} "
                    f"({p['schedule']}), bubble {ratio(p['bubble_fraction'])}")
    rows = table(["collective", "count", "µs per device", "µJ"], title="collectives "
                 "(per device on the critical path; energy over all links)",
                 right=["count", "µs per device", "µJ"])
    for kind, row in p["collectives_by_kind"].items():
        rows.add_row(kind, count(row["count"]), micro(row["time_s"]), micro(row["energy_j"]))
    rows.add_row("total", "", micro(p["collective_time_s"]), micro(p["collective_energy_j"]),
                 style="bold")
    out().print(rows)


def _print_vs_dense(t: Any, dt: Any, v: dict[str, float]) -> None:
    side = table(["", "sparse", "dense", "sparse / dense"], title="sparse vs its dense twin",
                 right=["sparse", "dense", "sparse / dense"])
    side.add_row("latency µs", micro(t.latency_s), micro(dt.latency_s), ratio(v["latency_ratio"]))
    side.add_row("energy µJ", micro(t.energy_j), micro(dt.energy_j), ratio(v["energy_ratio"]))
    side.add_row("off-chip MB", mega(t.bytes["offchip"]), mega(dt.bytes["offchip"]),
                 ratio(v["dram_bytes_ratio"]))
    out().print(side)
