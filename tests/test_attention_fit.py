"""The attention constants' fit: reproducible from the fitting CSV, disjoint from held-out data,
and what configs/calibration/gpu.yaml ships."""

from __future__ import annotations

import csv

import pytest

from hwsim.calibration.attention_fit import FIT_FILE, PARAMS, fit_attention, problem, read_rows
from hwsim.calibration.fit import leave_one_gpu_out
from hwsim.engine.gpu.power_constants import load_calibration
from hwsim.presets import reference_dir

KEY = ("preset", "phase", "batch", "seq_q", "seq_kv", "heads", "kv_heads", "head_dim")


def _keys(name: str) -> set[tuple[str, ...]]:
    with open(reference_dir("gpu") / name, newline="") as fh:
        return {tuple(r[k] for k in KEY) for r in csv.DictReader(fh)}


def test_fitting_sample_is_disjoint_from_heldout() -> None:
    fit = _keys(FIT_FILE)
    held = _keys("aiconfigurator_attention.csv") | _keys("aiconfigurator_attention_new_presets.csv")
    assert len(fit) == 240 and not fit & held


def test_refit_reproduces_the_shipped_constants() -> None:
    result = fit_attention()
    shipped = load_calibration().kernels
    for p in PARAMS:
        entry = shipped[p.name]
        assert entry.status == "fitted" and FIT_FILE in entry.fitted_on
        assert result.values[p.name] == pytest.approx(entry.value, rel=1e-4)
    assert result.rows == 240 and result.median_abs_error < 0.15
    assert all(FIT_FILE in s for s in result.fitted_on)


def test_fit_moves_off_a_bad_start() -> None:
    """The fit is not a no-op: scoring the rows at the bounds' midpoints is much worse."""
    prob = problem()
    mid = {p.name: (p.lower + p.upper) / 2 for p in PARAMS}
    errs = [abs(prob.predict(mid, r) / float(r["measured"]) - 1) for r in read_rows()]
    errs.sort()
    assert errs[len(errs) // 2] > 2 * fit_attention().median_abs_error


def test_leave_one_gpu_out_runs_per_gpu() -> None:
    logo = leave_one_gpu_out(problem())
    assert set(logo) == {"a100-sxm-80gb", "h100-sxm", "h200-sxm"}
    # H100 and H200 share FA3: each predicts the other well without its own rows.
    assert logo["h100-sxm"].median_abs_error < 0.2 and logo["h200-sxm"].median_abs_error < 0.2
