"""MCU validation: hwsim against MLPerf Tiny measurements and Vela 5.2.0's cycle estimates.

Every reference figure is read from ``hwsim/data/reference/mcu``
(:mod:`hwsim.report.mcu_reference`) with its source; Vela's outputs are cached there, so this
needs no Vela at run time. Four
views: the totals (both fidelities), the leave-one-out predictions of the fitted constants
(:mod:`hwsim.calibration.mcu`), Vela's per-layer figures
(:mod:`hwsim.report.validate_mcu_layers`) and held-out Vela runs across memory modes and
U55/U65 (:mod:`hwsim.report.validate_mcu_modes`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from hwsim.calibration.mcu import core_heldout
from hwsim.engine.mcu.analytic import simulate_mcu
from hwsim.engine.mcu.cycle import simulate_mcu_cycle
from hwsim.engine.mcu.library import CMSIS_NN_FIT_MODELS, SCALED_LIBRARIES
from hwsim.hardware.chips import load_chip
from hwsim.report.mcu_reference import (
    mlperf_tiny_heldout_ms,
    mlperf_tiny_ms,
    mlperf_tiny_uj,
    vela_cycles,
)
from hwsim.report.validate_mcu_ethosu import report as ethosu_report
from hwsim.report.validate_mcu_layers import layer_rows, layer_summary
from hwsim.report.validate_mcu_modes import mode_rows, mode_summary
from hwsim.report.validate_mcu_rounds import report as rounds_report
from hwsim.workload.load import load_model

MODELS = ("kws", "vww", "ic", "ad")


def validation_rows() -> list[dict[str, Any]]:
    """One row per (board, model, library, quantity): measured, hwsim (analytic and cycle
    fidelity) and relative errors.

    ``quantity`` is ``latency_ms`` or ``energy_uj`` (MLPerf Tiny, measured on the board) or
    ``npu_cycles`` (Vela 5.2.0's estimate: a peer model, not a measurement).
    """
    rows: list[dict[str, Any]] = []
    energy = mlperf_tiny_uj()
    measured_sets = [(mlperf_tiny_ms(), "MLPerf Tiny"),
                     (mlperf_tiny_heldout_ms(), "MLPerf Tiny (held out)")]
    for ms, reference in measured_sets:
        for (board, library), per_model in ms.items():
            chip = load_chip(board, overrides={"kernel_library": library})
            for model, measured in per_model.items():
                m = load_model(f"mlperf-tiny-{model}")
                _, total = simulate_mcu(m, chip, 1)
                cyc = simulate_mcu_cycle(m, chip, 1).total
                held = library in SCALED_LIBRARIES and model not in CMSIS_NN_FIT_MODELS
                rows.append(_row(board, model, library, "latency_ms", measured,
                                 total.latency_s * 1e3, cyc.latency_s * 1e3,
                                 "MLPerf Tiny (held out)" if held else reference))
    for (board, library), per_model in energy.items():
        chip = load_chip(board, overrides={"kernel_library": library})
        for model, uj in per_model.items():
            m = load_model(f"mlperf-tiny-{model}")
            _, total = simulate_mcu(m, chip, 1)
            cyc = simulate_mcu_cycle(m, chip, 1).total
            rows.append(_row(board, model, library, "energy_uj", uj, total.energy_j * 1e6,
                             cyc.energy_j * 1e6, "MLPerf Tiny"))
    for model, per_cfg in vela_cycles().items():
        m = load_model(f"mlperf-tiny-{model}")
        for cfg, cycles in per_cfg.items():
            chip = load_chip(cfg)
            ops, _ = simulate_mcu(m, chip, 1)
            cyc = simulate_mcu_cycle(m, chip, 1).ops
            rows.append(_row(cfg, model, "npu", "npu_cycles", float(cycles),
                             sum(o.mapping["npu_cycles"] for o in ops),
                             sum(o.mapping["npu_cycles"] for o in cyc), "Vela 5.2.0"))
    return rows


def _row(board: str, model: str, library: str, quantity: str, measured: float, hwsim: float,
         hwsim_cycle: float, reference: str) -> dict[str, Any]:
    return {"board": board, "model": model, "library": library, "quantity": quantity,
            "measured": measured, "hwsim": hwsim, "error": hwsim / measured - 1.0,
            "hwsim_cycle": hwsim_cycle, "error_cycle": hwsim_cycle / measured - 1.0,
            "reference": reference}


def heldout_rows() -> list[dict[str, Any]]:
    """Leave-one-out predictions of MLPerf Tiny latency (core constants), each with the
    in-sample error of the full re-fit for comparison. (The Ethos-U model's held-out figures
    are in :mod:`hwsim.report.validate_mcu_ethosu`: its cycle constants are not fitted on the
    MLPerf Tiny models.)"""
    out = core_heldout(mlperf_tiny_ms())
    return [{**asdict(h), "error": h.error, "in_sample_error": h.in_sample / h.measured - 1.0}
            for h in out]


def heldout_summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per group and fold kind (model / board / config): held-out vs in-sample |error|."""
    out = []
    keys = sorted({(r["group"], r["left_out"].split("=")[0]) for r in rows})
    for group, fold in keys:
        rs = [r for r in rows if r["group"] == group and r["left_out"].startswith(fold + "=")]
        held = np.abs([r["error"] for r in rs])
        ins = np.abs([r["in_sample_error"] for r in rs])
        worst = max(rs, key=lambda r: abs(r["error"]))
        out.append({"group": group, "leave_out": fold, "figures": len(rs),
                    "median_abs_error": float(np.median(held)), "max_abs_error": float(held.max()),
                    "worst": f"{worst['case']} ({100 * worst['error']:+.0f} %)",
                    "within_25pct": float(np.mean(held <= 0.25)),
                    "in_sample_median_abs_error": float(np.median(ins))})
    return out


def report(per_layer: bool = False) -> dict[str, Any]:
    """Everything ``hwsim validate mcu`` prints (``--json`` writes exactly this)."""
    layers = layer_rows()
    held = heldout_rows()
    modes = mode_rows()
    doc: dict[str, Any] = {"ethosu": ethosu_report(), "rounds": rounds_report(),
                           "comparison": validation_rows(), "heldout": held,
                           "heldout_summary": heldout_summary(held),
                           "per_layer_summary": layer_summary(layers),
                           "memory_modes": modes, "memory_modes_summary": mode_summary(modes)}
    if per_layer:
        doc["per_layer"] = layers
    return doc
