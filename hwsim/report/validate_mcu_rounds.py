"""Cortex-M latency and energy against MLPerf Tiny over every public round, held-out first.

Each row of ``mlperf_tiny_rounds.csv`` is priced by the engine (:func:`simulate_mcu`) on the
board's preset with the library its runtime maps to (:mod:`hwsim.report.mcu_rounds`), so the
figures are what a user gets. Energy is the engine's (core power incl. the board's fitted
supply term, times hwsim's own latency), compared with the measured µJ per inference. Summaries
are over held-out rows (never used for fitting), then broken down by board, library and round;
a leave-one-round-out re-fit of the board power shows how far power moves between rounds.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from hwsim.calibration.mcu_runtimes import core_power_w, fit_board_power
from hwsim.engine.mcu.analytic import simulate_mcu
from hwsim.hardware.chips import load_chip
from hwsim.report.mcu_rounds import tiny_rows
from hwsim.report.validate_mcu_loo import leave_one_out
from hwsim.workload.load import load_model

TARGETS = {"latency": 0.15, "energy": 0.20}  # issue 18: held-out median |error|


@lru_cache(maxsize=256)
def _simulate(board: str, library: str, model: str) -> tuple[float, float]:
    """(latency ms, energy µJ) of an MLPerf Tiny model on a preset running ``library``."""
    chip = load_chip(board, overrides={"kernel_library": library})
    _, total = simulate_mcu(load_model(f"mlperf-tiny-{model}"), chip, 1)
    return total.latency_s * 1e3, total.energy_j * 1e6


def round_rows() -> list[dict[str, Any]]:
    """One row per compared MLPerf Tiny figure (excluded rows are listed with no error)."""
    out = []
    for r in tiny_rows():
        base = {"round": r.round, "submitter": r.submitter, "system": r.system,
                "board": r.board, "runtime": r.runtime, "library": r.library,
                "model": r.model, "note": r.note, "source": r.source}
        if r.latency_role == "excluded":
            out.append({**base, "quantity": "latency_ms", "role": "excluded",
                        "measured": r.latency_ms, "hwsim": None, "error": None})
            continue
        ms, uj = _simulate(r.board, r.library, r.model)
        out.append({**base, "quantity": "latency_ms", "role": r.latency_role,
                    "measured": r.latency_ms, "hwsim": ms, "error": ms / r.latency_ms - 1})
        if r.energy_uj is not None:
            out.append({**base, "quantity": "energy_uj", "role": r.energy_role,
                        "measured": r.energy_uj, "hwsim": uj, "error": uj / r.energy_uj - 1})
    return out


def _stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    e = np.abs([r["error"] for r in rows])
    worst = max(rows, key=lambda r: abs(r["error"]))
    return {"rows": len(rows), "median_abs_error": float(np.median(e)),
            "mean_abs_error": float(e.mean()), "within_25pct": float(np.mean(e <= 0.25)),
            "mean_error": float(np.mean([r["error"] for r in rows])),
            "worst": f"{worst['round']} {worst['submitter']} {worst['board']} {worst['model']} "
                     f"({100 * worst['error']:+.0f} %)"}


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Held-out (then fitted) rows per quantity, and held-out rows by board, library, round."""
    out = []
    for q in ("latency_ms", "energy_uj"):
        for role in ("heldout", "fitted"):
            rs = [r for r in rows if r["quantity"] == q and r["role"] == role]
            if rs:
                out.append({"quantity": q, "role": role, "by": "all", "group": "all",
                            **_stats(rs)})
        held = [r for r in rows if r["quantity"] == q and r["role"] == "heldout"]
        for by in ("board", "library", "round"):
            for g in sorted({r[by] for r in held}):
                out.append({"quantity": q, "role": "heldout", "by": by, "group": g,
                            **_stats([r for r in held if r[by] == g])})
    return out


def power_leave_one_round_out() -> list[dict[str, Any]]:
    """Board supply power re-fitted on every energy row *outside* one round (all submitters),
    then that round's measured power predicted: how much a board's power moves between rounds
    and setups (latency errors excluded: measured power vs predicted power)."""
    rows = [r for r in tiny_rows() if r.power_w is not None and r.energy_role != "excluded"]
    out = []
    for rnd in sorted({r.round for r in rows}):
        fit = fit_board_power([r for r in rows if r.round != rnd])
        for r in rows:
            if r.round != rnd or r.board not in fit:
                continue
            pred = core_power_w(r.board) + fit[r.board]
            assert r.power_w is not None
            out.append({"round": rnd, "submitter": r.submitter, "board": r.board,
                        "model": r.model, "measured_w": r.power_w, "predicted_w": pred,
                        "error": pred / r.power_w - 1})
    return out


def loro_summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for rnd in sorted({r["round"] for r in rows}):
        e = np.abs([r["error"] for r in rows if r["round"] == rnd])
        out.append({"round": rnd, "rows": len(e), "median_abs_error": float(np.median(e)),
                    "max_abs_error": float(e.max())})
    return out


def report() -> dict[str, Any]:
    rows = round_rows()
    loro = power_leave_one_round_out()
    return {"rows": rows, "summary": summary(rows), "power_leave_one_round_out": loro,
            "power_leave_one_round_out_summary": loro_summary(loro),
            "latency_leave_one_out": leave_one_out(), "targets": TARGETS}
