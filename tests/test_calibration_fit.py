"""The fitting protocol (hwsim/calibration/fit.py): recovers known constants, LOGO holds the GPU
out, bad rows fail loudly and name themselves."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from hwsim.calibration.fit import FitProblem, Param, fit, leave_one_gpu_out

# Synthetic "GPUs": peak FLOP/s. The model is t = flops / (eff * peak) + launch_s.
PEAK = {"gpu-a": 100e12, "gpu-b": 50e12, "gpu-c": 20e12}
TRUE = {"eff": 0.7, "launch_s": 5e-6}


def _predict(v: Mapping[str, float], row: Mapping[str, object]) -> float:
    return float(row["flops"]) / (v["eff"] * PEAK[str(row["preset"])]) + v["launch_s"]


def _rows(skew: Mapping[str, float] | None = None) -> tuple[dict[str, object], ...]:
    rows = []
    for preset in PEAK:
        for i, flops in enumerate((1e6, 1e8, 1e9, 1e10, 1e11)):
            row: dict[str, object] = {"preset": preset, "flops": flops,
                                      "source": f"synthetic:{preset}:{i}"}
            row["measured"] = _predict(TRUE, row) * (skew or {}).get(preset, 1.0)
            rows.append(row)
    return tuple(rows)


def _params() -> tuple[Param, ...]:
    return (Param("eff", 0.4, 0.05, 1.0, "1", "fraction of peak"),
            Param("launch_s", 1e-5, 0.0, 1e-3, "s", "fixed cost per kernel"))


def _problem(rows: tuple[dict[str, object], ...]) -> FitProblem:
    return FitProblem(name="synthetic", params=_params(), rows=rows, predict=_predict)


def test_fit_recovers_known_constants() -> None:
    result = fit(_problem(_rows()))
    assert result.values["eff"] == pytest.approx(TRUE["eff"], rel=1e-4)
    assert result.values["launch_s"] == pytest.approx(TRUE["launch_s"], rel=1e-3)
    assert result.median_abs_error < 1e-5
    assert result.rows == 15
    assert result.fitted_on[0] == "synthetic:gpu-a:0" and len(result.fitted_on) == 15


def test_fit_is_deterministic() -> None:
    skewed = _problem(_rows({"gpu-b": 1.3}))
    assert fit(skewed).values == fit(skewed).values


def test_fit_on_subset_names_only_those_rows() -> None:
    problem = _problem(_rows())
    result = fit(problem, problem.rows[:5])
    assert result.rows == 5
    assert all(s.startswith("synthetic:gpu-a") for s in result.fitted_on)


def test_robust_loss_resists_one_outlier() -> None:
    rows = list(_rows())
    rows[7] = {**rows[7], "measured": float(rows[7]["measured"]) * 5.0}  # type: ignore[arg-type]
    result = fit(_problem(tuple(rows)))
    assert result.values["eff"] == pytest.approx(TRUE["eff"], rel=0.02)


def test_logo_excludes_the_held_out_gpu() -> None:
    # gpu-c measures 30 % slower than the model: fitted without it, the constants are the true
    # ones and gpu-c's error is the skew; with it in the fit they would move towards it.
    logo = leave_one_gpu_out(_problem(_rows({"gpu-c": 1.3})))
    assert sorted(logo) == ["gpu-a", "gpu-b", "gpu-c"]
    held = logo["gpu-c"]
    assert held.rows == 5
    assert held.values["eff"] == pytest.approx(TRUE["eff"], rel=1e-3)
    assert held.median_abs_error == pytest.approx(1 - 1 / 1.3, rel=1e-3)
    # With gpu-c in the training set the fit is pulled away from the truth.
    assert abs(logo["gpu-a"].values["eff"] - TRUE["eff"]) > 0.01


def test_logo_needs_two_gpus() -> None:
    rows = tuple(r for r in _rows() if r["preset"] == "gpu-a")
    with pytest.raises(ValueError, match="at least two GPU presets"):
        leave_one_gpu_out(_problem(rows))


@pytest.mark.parametrize(("change", "message"), [
    ({"measured": -1.0}, "row 3 .synthetic:gpu-a:3.*'measured' must be a positive"),
    ({"measured": float("nan")}, "row 3 .*positive finite"),
    ({"measured": "fast"}, "row 3 .*'measured'"),
    ({"preset": ""}, "row 3 .*needs a 'preset'"),
    ({"source": None}, "row 3: needs a 'source'"),
])
def test_bad_row_is_named(change: dict[str, object], message: str) -> None:
    rows = list(_rows())
    rows[3] = {**rows[3], **change}
    with pytest.raises(ValueError, match=message):
        _problem(tuple(rows))


def test_bad_prediction_is_named() -> None:
    problem = FitProblem(name="neg", params=_params(), rows=_rows(),
                         predict=lambda v, r: -1.0)
    with pytest.raises(ValueError, match=r"row 0 .*predict returned -1\.0"):
        fit(problem)


@pytest.mark.parametrize(("args", "message"), [
    (("x", 2.0, 0.0, 1.0), "initial 2.0 outside"),
    (("x", 0.5, 1.0, 1.0), "lower .* must be below"),
    (("x", float("nan"), 0.0, 1.0), "NaN"),
])
def test_bad_param(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Param(*args, unit="1", description="d")  # type: ignore[arg-type]


def _per_gpu_problem(depends: bool, calls: list[int]) -> FitProblem:
    """One shared efficiency and a launch cost per GPU: each row feels two of four constants."""
    launches = (Param(f"launch_{p}", 1e-5, 0.0, 1e-3, "s", "fixed cost per kernel")
                for p in PEAK)
    params = (Param("eff", 0.4, 0.05, 1.0, "1", "fraction of peak"), *launches)

    def predict(v: Mapping[str, float], row: Mapping[str, object]) -> float:
        calls.append(1)
        return _predict({"eff": v["eff"], "launch_s": v[f"launch_{row['preset']}"]}, row)

    return FitProblem(name="per-gpu", params=params, rows=_rows({"gpu-b": 1.2}),
                      predict=predict,
                      depends=(lambda r: frozenset({"eff", f"launch_{r['preset']}"}))
                      if depends else None)


def test_declared_dependencies_skip_rows_a_step_does_not_move() -> None:
    """A fit with ``depends`` returns the very constants of one without, with fewer row
    predictions (a step in one GPU's launch cost recomputes that GPU's rows only)."""
    full: list[int] = []
    sparse: list[int] = []
    a = fit(_per_gpu_problem(False, full))
    b = fit(_per_gpu_problem(True, sparse))
    assert a.values == b.values and a.median_abs_error == b.median_abs_error
    assert len(sparse) < 0.75 * len(full)


def test_a_dependency_on_an_unknown_parameter_is_named() -> None:
    problem = FitProblem(name="synthetic", params=_params(), rows=_rows(), predict=_predict,
                         depends=lambda r: frozenset({"eff", "typo_s"}))
    with pytest.raises(ValueError, match=r"row 0 \(synthetic:gpu-a:0\).*typo_s"):
        fit(problem)
