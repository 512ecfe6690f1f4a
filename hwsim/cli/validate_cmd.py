"""``hwsim validate gpu|mcu|accelerator|sparse-accel|serving``: hwsim against published
measurements, each row with its source."""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Annotated, Any

import typer

from hwsim.cli.options import choice_error
from hwsim.cli.render import out, percent, sig4, signed_percent, table
from hwsim.errors import input_error


def validate_cmd(
    kind: Annotated[str, typer.Argument(help="gpu | mcu | accelerator | sparse-accel | serving: "
                                        "the model against published measurements (Vela for "
                                        "Ethos-U, Eyeriss silicon for accelerators, published "
                                        "sparse accelerators for sparse-accel, vLLM and "
                                        "TensorRT-LLM serving runs)")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    per_layer: Annotated[bool, typer.Option("--per-layer", help="mcu: also every layer "
                                            "against Vela's per-layer cycles")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="gpu: recompute the held-out "
                                           "rows and refits instead of reading the user cache "
                                           "(hwsim.validation.result_cache)")] = False,
    gemm_logo: Annotated[bool, typer.Option("--gemm-logo", help="gpu: also refit the GEMM "
                                            "constants leave-one-GPU-out (SIMT sgemm on NeuSight "
                                            "rows, the vLLM 0.24 collector's constants); about "
                                            "5 minutes more on 2 cores the first time, then "
                                            "cached")] = False,
) -> None:
    """Compare hwsim with published measurements (each row with its source)."""
    kinds = ("gpu", "mcu", "accelerator", "sparse-accel", "serving")
    if kind not in kinds:
        raise choice_error("kind", kind, kinds)
    if no_cache and kind != "gpu":
        raise input_error("--no-cache", "only `validate gpu` caches its results",
                          hint="drop --no-cache")
    if gemm_logo and kind != "gpu":
        raise input_error("--gemm-logo", "the GEMM leave-one-GPU-out refits are part of "
                          "`validate gpu` only", hint="drop --gemm-logo or use `validate gpu`")
    if kind == "serving" and not per_layer:
        _validate_serving(as_json)
        return
    if kind == "mcu":
        _validate_mcu(as_json, per_layer)
        return
    if per_layer:
        raise input_error("--per-layer", "per-layer figures exist for `validate mcu` only",
                          hint="`validate accelerator` always prints its layers")
    if kind == "accelerator":
        _validate_accelerator(as_json)
        return
    if kind == "sparse-accel":
        _validate_sparse_accel(as_json)
        return
    _validate_gpu(as_json, use_cache=not no_cache, gemm_logo=gemm_logo)


def _validate_serving(as_json: bool) -> None:
    from hwsim.report.print_serving_validation import print_serving
    from hwsim.validation.serving import report

    doc = report()
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    print_serving(doc)


def _validate_gpu(as_json: bool, use_cache: bool = True, gemm_logo: bool = False) -> None:
    from hwsim.report.print_gpu_validation import print_gpu_validation
    from hwsim.report.validate_gpu import validation_rows
    from hwsim.validation.gpu_heldout import calibration_decode, heldout_report
    from hwsim.validation.gpu_kernel_power import kernel_power_report
    from hwsim.validation.gpu_logo import logo_report
    from hwsim.validation.gpu_power_heldout import power_report
    from hwsim.validation.result_cache import cached
    from hwsim.validation.source_agreement import source_agreement_report
    from hwsim.validation.square_mm import square_mm_report

    # Each section is cached under a digest of every input (code, presets, constants, data).
    heldout = cached("heldout", heldout_report, use_cache=use_cache)
    rows = cached("calibration", validation_rows, use_cache=use_cache)
    heldout["decode_from_calibration"] = calibration_decode(rows)
    logo = cached("leave_one_gpu_out", logo_report, use_cache=use_cache)
    if gemm_logo:
        from hwsim.calibration.problems import GEMM_PROVIDERS

        # The section's name carries the providers, so another registry is another entry.
        key = hashlib.sha256(",".join(GEMM_PROVIDERS).encode()).hexdigest()[:12]
        gemm = cached(f"leave_one_gpu_out_gemm_{key}", lambda: logo_report(GEMM_PROVIDERS),
                      use_cache=use_cache)
        logo = logo | {"problems": logo["problems"] + gemm["problems"]}
    heldout["power"] = cached("power", power_report, use_cache=use_cache)
    heldout["kernel_power"] = cached("kernel_power", kernel_power_report, use_cache=use_cache)
    heldout["square_mm"] = cached("square_mm", square_mm_report, use_cache=use_cache)
    heldout["source_agreement"] = cached("source_agreement", source_agreement_report,
                                         use_cache=use_cache)
    if as_json:
        doc = {"heldout": heldout, "leave_one_gpu_out": logo, "calibration": rows}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    print_gpu_validation(heldout, logo, rows)


def _validate_mcu(as_json: bool, per_layer: bool) -> None:
    from hwsim.report.print_mcu_ethosu import print_ethosu
    from hwsim.report.print_mcu_rounds import print_rounds
    from hwsim.report.validate_mcu import report

    doc = report(per_layer)
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
        return
    print_ethosu(doc["ethosu"])
    print_rounds(doc["rounds"])
    totals = table(("board", "model", "library", "quantity", "measured", "analytic", "error",
                    "cycle", "error", "reference"),
                   title="MCU/NPU model vs MLPerf Tiny measurements and Vela 5.2.0 (totals)",
                   right=("measured", "analytic", "cycle", "error"))
    for r in doc["comparison"]:
        totals.add_row(r["board"], r["model"], r["library"], r["quantity"], sig4(r["measured"]),
                       sig4(r["hwsim"]), signed_percent(r["error"]), sig4(r["hwsim_cycle"]),
                       signed_percent(r["error_cycle"]), r["reference"])
    out().print(totals)
    out().print("The core constants are fitted to these MLPerf Tiny figures "
                "(configs/calibration/mcu.yaml): in-sample agreement shows the model can fit; "
                "held-out predictions below. The Vela rows fit no cycle constant (Ethos-U: "
                "held-out figures above).")
    out().print(_heldout_table(doc["heldout_summary"]))
    out().print(_per_layer_summary(doc["per_layer_summary"]))
    if per_layer:
        rows = table(("model", "config", "layer", "vela op", "vela", "analytic", "cycle",
                      "error"), title="Every layer vs Vela 5.2.0")
        for r in doc["per_layer"]:
            error = "" if r["error"] is None else signed_percent(r["error"])
            rows.add_row(r["model"], r["config"], r["layer"], r["vela_op"],
                         str(r["vela_cycles"]), f"{r['hwsim']:.0f}", f"{r['hwsim_cycle']:.0f}",
                         error)
        out().print(rows)
    out().print("Ethos-U ops with a shape (conv, depthwise, FC, pool, elementwise, softmax) use "
                "the structural model; the fitted per-kind regression costs the rest. Sources: "
                "hwsim/data/reference/mcu/SOURCES.md.")


def _validate_accelerator(as_json: bool) -> None:
    from hwsim.validation import zigzag
    from hwsim.validation.eyeriss import report

    doc = report()
    peer = {obj: zigzag.report(obj) for obj in ("energy", "latency")}
    if as_json:
        sys.stdout.write(json.dumps(doc | {"zigzag": peer}, indent=2) + "\n")
        return
    gating = "gates" if doc["zero_features"]["zero_gating"] else "does not gate"
    grid = table(("network", "layer", "quantity", "unit", "measured", "hwsim", "error"),
                 title=f"Held out: {doc['chip']} vs Eyeriss silicon (JSSC 2017 Tables V, VI; "
                 "AlexNet CONV batch 4, VGG-16 CONV batch 3; nothing here was fitted)",
                 right=("measured", "hwsim", "error"))
    for r in doc["rows"]:
        grid.add_row(r["network"], r["layer"], r["metric"], r["unit"], sig4(r["measured"]),
                     sig4(r["hwsim"]), signed_percent(r["error"]))
    out().print(grid)
    med = doc["median_abs_error"]
    out().print(f"median |error| {percent(med['all'])} over {len(doc['rows'])} held-out figures ("
                + ", ".join(f"{k} {percent(v)}" for k, v in med.items() if k != "all") + ")")
    split = table(("component", "layer", "paper", "hwsim share of chip energy", "within"),
                  title="Held out: power split (JSSC 2017 Fig. 16 text: bounds only)")
    for r in doc["power_split"]:
        split.add_row(r["component"], r["layer"], r["bound"], percent(r["hwsim"]),
                      "yes" if r["within"] else "no")
    out().print(split)
    out().print(f"Each layer gets the paper's measured ifmap zero fraction as ReLU sparsity; the "
                f"preset {gating} zero operands. DRAM accesses are 16-bit values (bytes / 2); "
                "power is on-chip energy / latency (the paper measured the chip without DRAM). "
                "Sources: " + doc["reference"])
    _zigzag_tables(peer)


def _validate_sparse_accel(as_json: bool) -> None:
    from hwsim.validation.sparse_accel import report

    doc = report()
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    grid = table(("design", "preset", "workload", "layer", "metric", "d_act", "d_w",
                  "published", "hwsim", "error", "Sparseloop", "error "),
                 title="Held out: published sparse accelerators vs hwsim, per layer (units: "
                 "hwsim/validation/sparse_accel*.py; nothing here was fitted)",
                 right=("d_act", "d_w", "published", "hwsim", "error", "Sparseloop", "error "))
    for r in doc["rows"]:
        if r["metric"] == "latency_vs_dense":
            continue  # normalised latencies (DSTC): their own table below
        peer = "" if r["peer"] is None else sig4(r["peer"])
        peer_err = "" if r["peer_error"] is None else signed_percent(r["peer_error"])
        grid.add_row(r["design"], r["preset"], r["workload"], r["layer"], r["metric"],
                     f"{r['iact_density']:.2f}", f"{r['weight_density']:.2f}",
                     sig4(r["published"]), sig4(r["hwsim"]), signed_percent(r["error"]), peer,
                     peer_err)
    out().print(grid)
    _sparse_accel_latency_table(doc["rows"])
    summary = table(("design", "rows", "median |error|", "target", "Sparseloop median |error|"),
                    title="Per design (held out)", right=("rows", "median |error|", "target",
                                                         "Sparseloop median |error|"))
    for design, s in doc["by_design"].items():
        med, peer = s["median_abs_error"], s["peer_median_abs_error"]
        summary.add_row(design, str(s["rows"]), "-" if med is None else percent(med),
                        percent(doc["target_median_abs_error"]),
                        "-" if peer is None else percent(peer))
    out().print(summary)
    _sparse_accel_by_metric(doc)
    for design, why in doc["gaps"].items():
        out().print(f"{design}: " + " ".join(why.split()))
    out().print("Sources: " + doc["reference"] + "; docs/sparse-accelerators.md.")


def _sparse_accel_by_metric(doc: dict[str, Any]) -> None:
    """Median |error| per design and metric, and SCNN's network bars (Fig. 9/11 'all')."""
    grid = table(("design", "metric", "median |error|"), title="Per design and metric (held out)",
                 right=("median |error|",))
    for design, s in doc["by_design"].items():
        for metric, med in s.get("by_metric", {}).items():
            grid.add_row(design, metric, "-" if med is None else percent(med))
    out().print(grid)
    nets = table(("network", "metric", "published", "hwsim", "error"),
                 title="SCNN whole network (the paper's 'all' bars; shown, not in the medians)",
                 right=("published", "hwsim", "error"))
    for n in doc.get("scnn_networks", []):
        for metric in ("speedup_vs_dense", "energy_vs_dense"):
            pub, hw = n[metric]["published"], n[metric]["hwsim"]
            nets.add_row(n["network"], metric, sig4(pub), sig4(hw), signed_percent(hw / pub - 1))
    out().print(nets)


def _sparse_accel_latency_table(rows: list[dict[str, Any]]) -> None:
    """Rows whose figure is a latency normalised to dense (DSTC, Sparseloop Fig. 13)."""
    grid = table(("design", "preset", "workload", "d_A", "d_B", "published", "hwsim", "error",
                  "Sparseloop", "error "),
                 title="Held out: latency normalised to dense (sparse / dense), published vs "
                 "hwsim (nothing here was fitted)",
                 right=("d_A", "d_B", "published", "hwsim", "error", "Sparseloop", "error "))
    for r in rows:
        if r["metric"] != "latency_vs_dense":
            continue
        peer = "" if r["peer"] is None else f"{r['peer']:.2f}"
        peer_err = "" if r["peer_error"] is None else signed_percent(r["peer_error"])
        grid.add_row(r["design"], r["preset"], r["workload"], f"{r['iact_density']:.1f}",
                     f"{r['weight_density']:.1f}", f"{r['published']:.3f}",
                     f"{r['hwsim']:.3f}", signed_percent(r["error"]), peer, peer_err)
    out().print(grid)


def _zigzag_tables(peer: dict[str, dict[str, Any]]) -> None:
    """hwsim vs ZigZag 3.9.1 on the same layers and designs: medians per design and workload,
    under each objective both tools minimised, then energy by memory level."""
    grid = table(("objective", "ZigZag design", "hwsim preset", "workload", "layers",
                  "DRAM bytes", "energy", "latency"),
                 title="Held out: hwsim vs ZigZag 3.9.1 (peer), median |error| per layer "
                 "(target 15 %; docs/zigzag.md)", right=("layers", "DRAM bytes", "energy",
                                                          "latency"))
    for obj, rep in peer.items():
        for r in rep["by_design_and_workload"]:
            grid.add_row(obj, r["hardware"], r["preset"], r["workload"], str(r["layers"]),
                         percent(r["dram_bytes"]), percent(r["energy_pj"]),
                         percent(r["latency_cycles"]))
        o = rep["overall_median_abs_error"]
        grid.add_row(obj, "all", "", "", str(len(rep["layers"])), percent(o["dram_bytes"]),
                     percent(o["energy_pj"]), percent(o["latency_cycles"]))
    out().print(grid)
    lv = table(("ZigZag design", "workload", "level", "ZigZag µJ", "hwsim µJ", "ratio"),
               title="Energy by memory level, summed over layers (objective: energy)",
               right=("ZigZag µJ", "hwsim µJ", "ratio"))
    for r in peer["energy"]["energy_by_level_pj"]:
        ratio = r["hwsim"] / r["zigzag"] if r["zigzag"] else float("nan")
        lv.add_row(r["hardware"], r["workload"], r["level"], sig4(r["zigzag"] / 1e6),
                   sig4(r["hwsim"] / 1e6), f"{ratio:.2f}")
    out().print(lv)
    out().print("Same layers, same designs (presets zigzag-*: ZigZag's shipped hardware "
                "descriptions translated), same objective; nothing fitted. " +
                peer["energy"]["peer"])


def _heldout_table(summary: list[dict[str, Any]]) -> Any:
    held = table(("constants", "leave out", "figures", "median", "max", "worst", "<=25%",
                  "in-sample median"), title="Leave-one-out: re-fit without one model / board "
                 "/ Vela config, predict it (|error| of the held-out figures)")
    for r in summary:
        held.add_row(r["group"], r["leave_out"], str(r["figures"]),
                     percent(r["median_abs_error"]), percent(r["max_abs_error"]), r["worst"],
                     percent(r["within_25pct"], 0), percent(r["in_sample_median_abs_error"]))
    return held


def _per_layer_summary(summary: list[dict[str, Any]]) -> Any:
    lay = table(("layers", "n", "share of Vela cycles", "median |err|", "p90 |err|", "<=15%",
                 "<=50%", "median signed"),
                title="Per layer vs Vela 5.2.0 (analytic NPU cycles, 4 models x 4 configs)")
    for r in summary:
        lay.add_row(r["group"], str(r["layers"]), percent(r["vela_cycle_share"]),
                    percent(r["median_abs_error"], 0), percent(r["p90_abs_error"], 0),
                    percent(r["within_15pct"], 0), percent(r["within_50pct"], 0),
                    signed_percent(r["signed_median_error"]))
    return lay

