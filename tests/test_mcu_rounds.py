"""MLPerf Tiny over every public round: held-out medians pinned, fitted rows named, libraries
and board power consistent between presets, calibration file and the fits."""

from __future__ import annotations

import typing

import numpy as np
import pytest

from hwsim.calibration.mcu_runtimes import RUNTIMES, fit_document
from hwsim.config.chip import KernelLibrary
from hwsim.engine.mcu.library import CALIBRATION, CORE_FIELDS, CORE_KERNELS
from hwsim.hardware.chips import load_chip
from hwsim.report.mcu_rounds import tiny_rows
from hwsim.report.validate_mcu_rounds import report


@pytest.fixture(scope="module")
def doc() -> dict[str, typing.Any]:
    return report()


def _all(doc: dict[str, typing.Any], quantity: str, role: str) -> dict[str, typing.Any]:
    return next(s for s in doc["summary"] if s["quantity"] == quantity and s["role"] == role
                and s["by"] == "all")


def test_heldout_latency_median_and_share_within_25pct(doc: dict[str, typing.Any]) -> None:
    s = _all(doc, "latency_ms", "heldout")
    assert s["rows"] == 117
    assert 0.10 <= s["median_abs_error"] <= 0.125  # 11.3 % measured
    assert s["within_25pct"] >= 0.85  # 88 %


def test_heldout_energy_median(doc: dict[str, typing.Any]) -> None:
    s = _all(doc, "energy_uj", "heldout")
    assert s["rows"] == 71
    assert 0.15 <= s["median_abs_error"] <= 0.19  # 17.5 % measured
    assert s["within_25pct"] >= 0.60  # 66 %: the >= 80 % target is missed (docs/mcu.md)


def test_no_row_is_both_fitted_and_heldout() -> None:
    fitted = {r.key for r in tiny_rows() if r.latency_role == "fitted"}
    for lib, fit in CALIBRATION.runtime_libraries.items():
        assert set(fit.fitted_rows) <= fitted, lib
        held = {r.key for r in tiny_rows() if r.library == lib and r.latency_role == "heldout"}
        assert not held & set(fit.fitted_rows)


def test_stored_runtime_fits_and_board_power_reproduce() -> None:
    doc = fit_document()
    for lib in RUNTIMES:
        stored = CALIBRATION.runtime_libraries[lib]
        for k in ("conv_factor", "depthwise_factor", "other_factor"):
            assert doc["runtime_libraries"][lib][k] == pytest.approx(getattr(stored, k),
                                                                     rel=2e-3), (lib, k)
    for board, fit in CALIBRATION.board_power.items():
        assert doc["board_power"][board]["value_w"] == pytest.approx(fit.value_w, abs=2e-5)
        for chip in fit.chips:
            assert load_chip(chip).board_power_w == pytest.approx(fit.value_w)


def test_library_names_match_the_calibration_file() -> None:
    assert set(typing.get_args(KernelLibrary)) == set(CORE_KERNELS)
    for f in CORE_FIELDS:
        assert getattr(CORE_KERNELS["vendor-optimized"], f) == getattr(
            CORE_KERNELS["plumerai-2022"], f)


def test_board_power_acts_on_energy_not_latency() -> None:
    from hwsim.engine.mcu.analytic import simulate_mcu
    from hwsim.workload.load import load_model

    m = load_model("mlperf-tiny-kws")
    base = load_chip("stm32u585-m33", overrides={"board_power_w": 0.0})
    more = load_chip("stm32u585-m33", overrides={"board_power_w": 0.01})
    _, a = simulate_mcu(m, base, 1)
    _, b = simulate_mcu(m, more, 1)
    assert b.latency_s == a.latency_s
    assert b.energy_j - a.energy_j == pytest.approx(0.01 * a.latency_s, rel=1e-6)


def test_leave_one_round_out_power(doc: dict[str, typing.Any]) -> None:
    med = np.median([r["median_abs_error"] for r in doc["power_leave_one_round_out_summary"]])
    assert 0.08 <= med <= 0.15  # 11.6 %: a board's supply power moves ~10 % between rounds


def test_leave_one_library_and_round_out(doc: dict[str, typing.Any]) -> None:
    folds = {(r["by"], r["group"]): r for r in doc["latency_leave_one_out"]}
    # A runtime never fitted, priced by the pooled others: Bosch HALE lands close (5.2 %), the
    # microTVM/ONNC CMSIS-NN builds do not (37 %).
    assert folds[("library", "bosch-hale")]["median_abs_error"] <= 0.08
    assert folds[("library", "cmsis-nn")]["median_abs_error"] >= 0.30
    # X-CUBE-AI 8 priced as 7.x: 7.4 %; the base libraries are not re-fitted in their folds.
    assert folds[("library", "x-cube-ai-8")]["median_abs_error"] <= 0.10
    assert folds[("round", "v0.5")]["rows"] == 0
    assert 0.10 <= folds[("round", "v1.1")]["median_abs_error"] <= 0.14  # 11.8 %
