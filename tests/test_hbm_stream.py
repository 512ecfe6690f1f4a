"""HBM3e's sustained streaming efficiency (hwsim.calibration.hbm_stream): fitted on fitting rows
only, reproducible, carried between the two HBM3e GPUs, and what the presets ship."""

from __future__ import annotations

import csv
import statistics

import pytest
import yaml

from hwsim.calibration import hbm_stream as hs
from hwsim.calibration.fit import leave_one_gpu_out
from hwsim.hardware.chips import load_chip
from hwsim.presets import reference_dir


def _heldout_shapes() -> set[tuple[str, str, str, str]]:
    out: set[tuple[str, str, str, str]] = set()
    for path in reference_dir("gpu").glob("aiconfigurator_*.csv"):
        if path.name.endswith("_fit.csv"):
            continue
        with open(path, newline="") as fh:
            out |= {(r["preset"], r["m"], r["n"], r["k"]) for r in csv.DictReader(fh) if "m" in r}
    return out


def test_rows_are_weight_streaming_and_disjoint_from_heldout() -> None:
    rows = hs.read_rows()
    assert not {(str(r["preset"]), str(r["m"]), str(r["n"]), str(r["k"])) for r in rows} \
        & _heldout_shapes()
    for r in rows:
        m, n, k = (int(str(r[c])) for c in ("m", "n", "k"))
        assert 2 * m * n * k / (2 * (m * k + k * n + m * n)) <= 16.0
        assert float(str(r["measured"])) >= 2e-4
    assert {str(r["preset"]) for r in hs.fitting_rows()} == {"h200-sxm", "b200-sxm"}
    assert {str(r["preset"]) for r in hs.check_rows()} == {"h100-sxm"}


def test_refit_reproduces_the_shipped_constant_and_presets() -> None:
    result = hs.fit_stream()
    value = result.values[hs.PARAM.name]
    assert value == pytest.approx(hs.shipped(), rel=1e-3)
    assert result.rows == 60 and result.median_abs_error < 0.05
    assert hs.hbm3e_presets() == ("b200-sxm", "h200-sxm")
    for preset in hs.hbm3e_presets():
        assert load_chip(preset).dram_efficiency == pytest.approx(hs.shipped())
    doc = yaml.safe_load(hs.calibration_path(hs.CALIBRATION).read_text())
    assert hs.FIT_FILE in doc["constants"][hs.PARAM.name]["fitted_on"]


def test_hbm3e_sits_below_the_hbm2e_value_and_hbm3_keeps_it() -> None:
    """The fitted value is below the A100-fitted 0.885 the H100 keeps, and the H100's own
    weight-streaming rows of the same collector agree with 0.885 to a few per cent."""
    assert hs.shipped() < load_chip("h100-sxm").dram_efficiency - 0.02
    assert abs(hs.check_errors()["h100-sxm"]) < 0.03


def test_each_hbm3e_gpu_predicts_the_other() -> None:
    logo = leave_one_gpu_out(hs.problem())
    assert set(logo) == {"h200-sxm", "b200-sxm"}
    values = [r.values[hs.PARAM.name] for r in logo.values()]
    assert max(values) - min(values) < 0.02
    assert all(r.median_abs_error is not None and r.median_abs_error < 0.06
               for r in logo.values())


def test_the_fit_moves_off_a_bad_start() -> None:
    """Scoring the rows at the bounds' midpoint is far worse than the fit: the rows do pin it."""
    prob = hs.problem()
    mid = {hs.PARAM.name: (hs.PARAM.lower + hs.PARAM.upper) / 2}
    errs = [abs(prob.predict(mid, r) / float(str(r["measured"])) - 1) for r in prob.rows]
    assert statistics.median(errs) > 3 * hs.fit_stream().median_abs_error


def test_read_rows_refuses_another_dtype(tmp_path, monkeypatch) -> None:
    bad = tmp_path / hs.FIT_FILE
    bad.write_text("gpu,preset,m,n,k,dtype,latency_us,kernel,framework,source\n"
                   "g,h200-sxm,2,8192,8192,fp8,300,k,vLLM 0.24.0,s\n")
    monkeypatch.setattr(hs, "reference_dir", lambda kind: tmp_path)
    with pytest.raises(ValueError, match=r"aiconfigurator_hbm_stream_fit.csv:2: dtype 'fp8'"):
        hs.read_rows()


def test_predictions_follow_the_gemm_constants_in_force() -> None:
    """The memo is keyed by the GEMM constants too: a GEMM refit's candidates are simulated,
    not answered from the shipped constants' runs."""
    import dataclasses

    from hwsim.engine.gpu.gemm_constants import gemm_constants, use_gemm_constants

    row = hs.fitting_rows()[0]
    values = {hs.PARAM.name: hs.shipped()}
    before = hs.predict(values, row)
    slower = dataclasses.replace(gemm_constants(), aiconfigurator_v024_kernel_s=2e-5)
    with use_gemm_constants(slower):
        assert hs.predict(values, row) > before + 1e-5
    assert hs.predict(values, row) == before
