"""The printed form of ``hwsim validate gpu``: held-out sections first, then leave-one-GPU-out,
then the calibration set (the CLI computes and caches the sections; this module only prints)."""

from __future__ import annotations

from typing import Any

from hwsim.cli.render import out, percent, sig4, signed_percent, table


def print_gpu_validation(heldout: dict[str, Any], logo: dict[str, Any],
                         rows: list[dict[str, Any]]) -> None:
    """Every section of ``hwsim validate gpu`` in reading order: held out first."""
    from hwsim.report.validate_gpu import group_means

    _print_heldout(heldout)
    _print_power(heldout["power"])
    _print_kernel_power(heldout["kernel_power"])
    _print_square_mm(heldout["square_mm"])
    _print_source_agreement(heldout["source_agreement"])
    _print_logo(logo)
    grid = table(("group", "chip", "case", "measured", "hwsim", "unit", "error", "fit"),
                 title="Calibration set (in-sample: fit marks the row a constant was fitted "
                 "on; the other rows fitted nothing but share the fitted rows' harnesses)",
                 right=("measured", "hwsim", "error"))
    for r in rows:
        grid.add_row(r["group"], r["chip"], r["case"], sig4(r["measured"]), sig4(r["model"]),
                     r["unit"], signed_percent(r["error"]), r["fitted"])
    out().print(grid)
    for g, mean in group_means(rows).items():
        errs = [abs(r["error"]) for r in rows if r["group"] == g]
        out().print(f"{g}: mean |error| {percent(mean)}, max {percent(max(errs))} over "
                    f"{len(errs)} rows")
    out().print("sources: " + ", ".join(sorted({r["source"].split("@")[0] for r in rows})))
    out().print("bounds (issue 5): mean < 10 % per operator kind, < 15 % on every decode row; "
                "misses explained in docs/gpu.md")


def _print_heldout(report: dict[str, Any]) -> None:
    """Held-out public measurements first: per GPU and kind, then the targets and the anchor."""
    grid = table(("kind", "chip", "rows", "median |error|", "median error", "mean |error|",
                  "target", "met"),
                 title="Held out (NeuSight, AIConfigurator, llama.cpp decode; no row used for "
                 "fitting)",
                 right=("rows", "median |error|", "median error", "mean |error|", "target"))
    for s in report["summary"]:
        grid.add_row(s["kind"], s["chip"], str(s["rows"]), percent(s["median_abs_error"]),
                     signed_percent(s["median_error"]), percent(s["mean_abs_error"]),
                     "none" if s["target"] is None else f"<= {percent(s['target'])}",
                     "" if s["met"] is None else ("yes" if s["met"] else "MISSED"))
    out().print(grid)
    overall = [s for s in report["summary"] if s["chip"] == "all"]
    met = [s["kind"] for s in overall if s["met"]]
    missed = [s["kind"] for s in overall if s["met"] is False]
    out().print(f"held out overall: mean |error| {percent(report['mean_abs_error_all'])} over "
                f"{len(report['rows'])} rows; targets met: {', '.join(met) or 'none'}; "
                f"missed: {', '.join(missed) or 'none'}; no held-out data: "
                f"{', '.join(report['kinds_without_data']) or 'none'}; "
                f"{report['skipped_no_preset']} rows skipped (GPU without a preset)")
    dec = report["decode_from_calibration"]
    if dec:
        out().print(f"decode, calibration set: the {dec['rows']} gpt-fast A100 decode "
                    f"rows that fitted nothing: median |error| "
                    f"{percent(dec['median_abs_error'])} (target <= {percent(dec['target'])}, "
                    f"{'met' if dec['met'] else 'MISSED'}); same harnesses as the fitted rows")
    a = report["anchor"]
    out().print(f"anchor: {a['name']} reports {percent(a['mean_error'])} mean error over "
                f"{a['gpus']} GPUs ({percent(a['h100_mean_error'])} on H100)")
    same = report["anchor_same_rows"]
    if same:
        out().print(f"  on the {same['rows']} forward passes both cover "
                    f"({', '.join(same['chips'])}): hwsim mean |error| "
                    f"{percent(same['hwsim_mean_abs_error'])} (median "
                    f"{percent(same['hwsim_median_abs_error'])}), NeuSight's own "
                    f"{percent(same['neusight_mean_abs_error'])} (median "
                    f"{percent(same['neusight_median_abs_error'])})")


def _print_logo(report: dict[str, Any]) -> None:
    """Per fit problem and GPU: the median |error| on that GPU of constants fitted without it."""
    grid = table(("problem", "left out", "rows", "median |error|", "fitted without it"),
                 title="Leave one GPU out (refit on the other GPUs' fitting rows, predict this "
                 "GPU)", right=("rows", "median |error|"))
    for p in report["problems"]:
        for g in p["per_gpu"]:
            if g["median_abs_error"] is None:  # only this GPU's rows move these constants
                grid.add_row(p["problem"], g["preset"], str(g["rows"]), "not possible",
                             "only its own rows fit " + ", ".join(g["unfitted"]))
                continue
            grid.add_row(p["problem"], g["preset"], str(g["rows"]),
                         percent(g["median_abs_error"]),
                         ", ".join(f"{k} {sig4(v)}" for k, v in g["values"].items()))
        fitted = p["fit"]
        grid.add_row(p["problem"], "none (all GPUs)", str(fitted["rows"]),
                     percent(fitted["median_abs_error"]),
                     ", ".join(f"{k} {sig4(v)}" for k, v in fitted["values"].items()))
    out().print(grid)


def _print_kernel_power(report: dict[str, Any]) -> None:
    """Held-out average power of single kernels: attention, fused MoE and GEMMs
    (hwsim.validation.gpu_kernel_power)."""
    grid = table(("quantity", "kernels", "rows", "median |error|", "median error", "target",
                  "met"),
                 title="Held out: kernel power (AIConfigurator vLLM 0.22: B200 FlashInfer "
                 "attention and Triton fused MoE, H200 and B200 bf16 GEMMs; nothing fitted on "
                 "them)",
                 right=("rows", "median |error|", "median error", "target"))
    for s in report["summary"]:
        target = "diagnostic" if s["target"] is None else f"<= {percent(s['target'])}"
        met = "" if s["met"] is None else ("yes" if s["met"] else "MISSED")
        grid.add_row(s["kind"], s["group"], str(s["rows"]), percent(s["median_abs_error"]),
                     signed_percent(s["median_error"]), target, met)
    out().print(grid)
    if report["skipped"]:
        out().print(f"kernel power: {report['skipped']} rows skipped (GPU without a preset)")
    out().print("kernel power is hwsim's energy over hwsim's time; power at measured time "
                "spreads hwsim's per-action energy over the measured latency (docs/gpu.md)")
    from hwsim.validation.gpu_kernel_power import READ_BEFORE, TARGET_GROUP

    rows = {s["group"]: s["rows"] for s in report["summary"] if s["kind"] == "kernel power"}
    out().print(f"the collector's power is the mean of NVML one-second averages polled every "
                f"100 ms while it replays the kernel, so a reading holds at most half a kernel "
                f"under 0.17 s (hwsim.validation.nvml_sampling): {rows.get(READ_BEFORE, 0)} of "
                f"{rows.get('all', 0)} rows were read before their kernel ran (kernel weight 0) "
                f"and measure the board's previous second; the target (GEMM and attention "
                f"kernels, issue 17) applies to the {rows.get(TARGET_GROUP, 0)} GEMM and "
                f"attention rows read during their kernel")


def _print_square_mm(report: dict[str, Any]) -> None:
    """Held-out square torch.mm throughput, crowd-sourced (hwsim.validation.square_mm)."""
    grid = table(("dtype", "chip", "rows", "median |error|", "median error"),
                 title="Held out: square torch.mm throughput, n = 1024-10240 (crowd-sourced "
                 "runs of one public script; no target: one run per board, clocks unrecorded)",
                 right=("rows", "median |error|", "median error"))
    for s in report["summary"]:
        grid.add_row(s["dtype"], s["preset"], str(s["rows"]), percent(s["median_abs_error"]),
                     signed_percent(s["median_error"]))
    out().print(grid)
    out().print(f"square torch.mm: error of the time per op (negative: hwsim too fast); a "
                f"board's best size is compared with hwsim's best; {report['skipped_no_preset']} "
                f"rows skipped (GPU without a preset); source {report['source']}")


def _print_source_agreement(report: dict[str, Any]) -> None:
    """How far NeuSight's and the crowd's large sgemms of one board agree, beside hwsim's
    sustained figure (hwsim.validation.source_agreement)."""
    grid = table(("chip", "NeuSight TFLOP/s", "crowd TFLOP/s", "apart", "hwsim TFLOP/s",
                  "vs NeuSight", "vs crowd"),
                 title="Two public collections of one board: large fp32 sgemms (no model in "
                 "the first three columns)",
                 right=("NeuSight TFLOP/s", "crowd TFLOP/s", "apart", "hwsim TFLOP/s",
                        "vs NeuSight", "vs crowd"))
    for r in report["rows"]:
        lo, hi = r["neusight_range"]
        c_lo, c_hi = r["crowd_range"]
        grid.add_row(r["preset"],
                     f"{sig4(r['neusight_tflops'])} ({sig4(lo)}-{sig4(hi)}, "
                     f"{r['neusight_rows']} rows, {r['neusight_role']})",
                     f"{sig4(r['crowd_tflops'])} ({sig4(c_lo)}-{sig4(c_hi)}, "
                     f"{r['crowd_statistic']})",
                     signed_percent(r["sources_apart"]), sig4(r["hwsim_tflops"]),
                     signed_percent(r["error_vs_neusight"]), signed_percent(r["error_vs_crowd"]))
    out().print(grid)
    out().print(f"NeuSight: fp32 nn.Linear rows of at least {report['min_gflop']:g} GFLOP; "
                f"crowd: square torch.mm at n >= {report['crowd_min_size']} (else a run's best "
                f"size); apart: the crowd's median over NeuSight's, minus 1; hwsim: a sustained "
                f"{report['hwsim_size']}^3 fp32 GEMM, the error of its time per op against each "
                f"(negative: hwsim too fast). Two sources X apart leave no model closer than "
                f"about X/2 to both")


def _print_power(report: dict[str, Any]) -> None:
    """Held-out GPU power and energy per token (hwsim.validation.gpu_power_heldout)."""
    grid = table(("kind", "case", "measured", "hwsim", "unit", "error"),
                 title="Held out: GPU power and energy per token (ML.ENERGY v3, H100; the power "
                 "constants were fitted on other models' rows)",
                 right=("measured", "hwsim", "error"))
    for r in report["rows"]:
        grid.add_row(r["kind"], r["case"], sig4(r["measured"]), sig4(r["model"]), r["unit"],
                     signed_percent(r["error"]))
    out().print(grid)
    for s in report["summary"]:
        verdict = ("no target: diagnostic" if s["target"] is None else
                   f"target {percent(s['target'])}, {'met' if s['met'] else 'missed'}")
        out().print(f"{s['kind']}: median |error| {percent(s['median_abs_error'])} over "
                    f"{s['rows']} rows ({verdict})")
    out().print(f"leave-one-GPU-out: {report['leave_one_gpu_out']}")
    for model, r in report["leave_one_model_out"].items():
        out().print(f"leave-one-model-out (fitting rows): {model} predicted from the other "
                    f"model's fit, energy per token (at the measured step time, the fitted "
                    f"quantity) median |error| {percent(r['median_abs_error'])} over "
                    f"{r['rows']} rows")
