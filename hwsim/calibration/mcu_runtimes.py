"""Fit the vendor-runtime libraries and the per-board supply power on named MLPerf Tiny rows.

Runtime libraries (X-CUBE-AI 7/8/9, Plumerai 2023, Bosch HALE): three factors on the
``plumerai-2022`` constants (conv, depthwise, everything else), log-space least squares on the
four rows of the one submission :data:`hwsim.report.mcu_rounds.LATENCY_FIT` names (always the
Cortex-M4 board, core scale 1); the same runtime's other boards and rounds are held out, so they
check the per-core scales. Board power: per board, the median over the fitted energy rows of
(µJ per inference / the energy run's latency) minus the datasheet core power of the preset.

    python -m hwsim.calibration.mcu_runtimes [--write]

prints the fits and, with ``--write``, stores them in ``configs/calibration/mcu.yaml``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import yaml
from scipy.optimize import least_squares

from hwsim.calibration.mcu import HEADER, core_case, core_latency_ms
from hwsim.config.calibration import McuCalibration
from hwsim.engine.mcu.library import CALIBRATION, CORE_FIELDS, CORE_KERNELS, KIND_FIELDS
from hwsim.hardware.chips import load_chip
from hwsim.presets import calibration_path
from hwsim.report.mcu_rounds import LATENCY_FIT, TinyRow, fitted_latency, tiny_rows

BASE = "plumerai-2022"
RUNTIMES = ("plumerai-2023", "x-cube-ai-7", "x-cube-ai-8", "x-cube-ai-9", "bosch-hale")
ROUNDS_FILE = "hwsim/data/reference/mcu/mlperf_tiny_rounds.csv"


def _factor_vector(f: np.ndarray) -> np.ndarray:
    """(conv, depthwise, other) -> one factor per constant in CORE_FIELDS order."""
    by_kind = dict(zip(KIND_FIELDS, f, strict=True))
    per_field = {fld: by_kind[k] for k, fs in KIND_FIELDS.items() for fld in fs}
    return np.array([per_field[fld] for fld in CORE_FIELDS])


def predict_ms(row: TinyRow, theta: np.ndarray) -> float:
    """hwsim latency of ``row`` with library constants ``theta`` on the row's board preset."""
    case = core_case(row.board, "tflm-reference", row.model)
    return core_latency_ms(case, theta, load_chip(row.board).core_cycle_scale or 1.0)


def fit_runtime(rows: list[TinyRow], base: str = BASE) -> dict[str, float]:
    """The three kind factors on ``base`` that best fit ``rows``' latency (log space)."""
    theta = np.array([getattr(CORE_KERNELS[base], f) for f in CORE_FIELDS])
    y = np.log([r.latency_ms for r in rows])

    def resid(p: np.ndarray) -> np.ndarray:
        t = theta * _factor_vector(np.exp(p))
        return np.log([predict_ms(r, t) for r in rows]) - y

    r = least_squares(resid, np.zeros(3), bounds=(np.log(0.25), np.log(4.0)))
    return dict(zip(KIND_FIELDS, (float(v) for v in np.exp(r.x)), strict=True))


def core_power_w(board: str) -> float:
    """The preset's datasheet core power (run current per MHz x clock x supply), W."""
    chip = load_chip(board)
    return (chip.active_ua_per_mhz or 0.0) * 1e-6 * chip.clock_hz / 1e6 * (chip.supply_v or 0.0)


def fit_board_power(rows: list[TinyRow]) -> dict[str, float]:
    """Per board: median measured supply power over ``rows`` minus the datasheet core power."""
    out: dict[str, float] = {}
    for board in sorted({r.board for r in rows}):
        p = [r.power_w for r in rows if r.board == board and r.power_w is not None]
        out[board] = float(np.median(p)) - core_power_w(board)
    return out


def energy_fit_rows() -> list[TinyRow]:
    return [r for r in tiny_rows() if r.energy_role == "fitted"]


def _names(rows: list[TinyRow]) -> str:
    subs = sorted({f"{r.round} {r.submitter} {r.system}" for r in rows})
    return "; ".join(subs) + f" ({len(rows)} rows of {ROUNDS_FILE})"


def fit_document() -> dict[str, object]:
    """The calibration file's contents with the runtime and board-power fits in place."""
    doc = CALIBRATION.model_dump(mode="json")
    for lib in RUNTIMES:
        rows = fitted_latency(lib)
        f = fit_runtime(rows)
        doc["runtime_libraries"][lib] = {
            "base": BASE, **{k: round(v, 4) for k, v in f.items()},
            "fitted_rows": [r.key for r in rows],
            "source": "log-space least squares (hwsim.calibration.mcu_runtimes) of three "
            "factors on the plumerai-2022 constants (conv; depthwise; FC, per-output and "
            "vector), bounds 0.25-4 (no kind more than 4x off a 2022 runtime), on one "
            "Cortex-M4 submission; its other boards and rounds are held out (hwsim validate "
            "mcu)",
            "fitted_on": f"MLPerf Tiny {_names(rows)}; "
            + ", ".join("/".join(k) for k in LATENCY_FIT[lib])}
    e_rows = energy_fit_rows()
    for board, w in fit_board_power(e_rows).items():
        doc["board_power"][board] = {
            "value_w": round(w, 5), "chips": [board],
            "source": "median over the fitted rows of measured supply power (µJ per inference "
            "/ the energy run's latency) minus the preset's datasheet core power "
            f"({core_power_w(board) * 1e3:.1f} mW); held out: every other energy row",
            "fitted_on": f"MLPerf Tiny energy, {_names([r for r in e_rows if r.board == board])}"}
    return doc


def main(argv: list[str]) -> int:
    doc = fit_document()
    print(yaml.safe_dump({k: doc[k] for k in ("runtime_libraries", "board_power")},
                         sort_keys=False, width=100, allow_unicode=True))
    if "--write" in argv:
        checked = McuCalibration.model_validate(doc)
        text = yaml.safe_dump(checked.model_dump(mode="json"), sort_keys=False, width=100,
                              allow_unicode=True)
        Path(str(calibration_path("mcu"))).write_text(HEADER + text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
