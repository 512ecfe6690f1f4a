"""Leave-one-GPU-out in ``hwsim validate gpu``: the fit-problem registry, the report's shape, and
that no registered problem fits on a held-out row."""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
import types
from typing import Any

import pytest

from hwsim.calibration.fit import FitProblem, Param, fit
from hwsim.calibration.forward_problem import eager_forward_problem, predict
from hwsim.calibration.gddr_stream import NEUSIGHT_STACK
from hwsim.calibration.problems import PROVIDERS, fit_problems, load_provider
from hwsim.engine.gpu.gemm_constants import gemm_constants, use_gemm_constants
from hwsim.engine.simulate import simulate
from hwsim.presets import list_presets
from hwsim.validation import gpu_heldout as gh
from hwsim.validation.gpu_logo import logo_report
from hwsim.workload.eager_hf import NEUSIGHT_FAMILY, eager_hf_model


def _synthetic() -> FitProblem:
    """t = scale * size / speed[preset]; gpu-c runs 20 % slow, so leaving it out shows 1/6."""
    speed = {"gpu-a": 1.0, "gpu-b": 2.0, "gpu-c": 4.0}
    rows = tuple({"preset": p, "size": s, "source": f"synthetic {p} {s}",
                  "measured": 3.0 * s / speed[p] * (1.2 if p == "gpu-c" else 1.0)}
                 for p in speed for s in (1.0, 2.0, 5.0))
    return FitProblem(name="synthetic", rows=rows,
                      params=(Param("scale", 1.0, 0.1, 10.0, "s", "time per unit size"),),
                      predict=lambda v, r: v["scale"] * float(r["size"]) / speed[r["preset"]])


@pytest.fixture
def synthetic_provider(monkeypatch: pytest.MonkeyPatch) -> str:
    mod = types.ModuleType("logo_synthetic")
    mod.problem = _synthetic  # type: ignore[attr-defined]
    mod.not_a_problem = lambda: 3  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "logo_synthetic", mod)
    return "logo_synthetic:problem"


def test_report_shape_on_a_synthetic_problem(synthetic_provider: str) -> None:
    doc = logo_report((synthetic_provider,))
    (p,) = doc["problems"]
    assert p["problem"] == "synthetic" and p["rows"] == 9
    assert [g["preset"] for g in p["per_gpu"]] == ["gpu-a", "gpu-b", "gpu-c"]
    by = {g["preset"]: g for g in p["per_gpu"]}
    # Without gpu-c the fit is exact on a/b and misses gpu-c by 1 - 1/1.2.
    assert by["gpu-c"]["median_abs_error"] == pytest.approx(1 - 1 / 1.2, rel=1e-3)
    assert by["gpu-c"]["values"]["scale"] == pytest.approx(3.0, rel=1e-4)
    assert by["gpu-a"]["median_abs_error"] > 0.01  # gpu-c pulls the constant when a is out
    assert p["fit"]["rows"] == 9 and p["fit"]["sources"] == 9
    assert p["params"][0]["name"] == "scale"
    json.dumps(doc)  # the --json section serialises


@pytest.mark.parametrize(("spec", "message"), [
    ("no_colon", "expected 'module:function'"),
    ("hwsim.no_such_module:x", "No module named"),
    ("logo_synthetic:missing", "has no attribute"),
    ("logo_synthetic:not_a_problem", "returned int, not a FitProblem"),
])
def test_bad_provider_is_named(synthetic_provider: str, spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_provider(spec)


def test_a_problem_registered_twice_fails(synthetic_provider: str) -> None:
    with pytest.raises(ValueError, match="registered twice"):
        fit_problems((synthetic_provider, synthetic_provider))


def _heldout_sources() -> set[str]:
    out: set[str] = set()
    for name in gh.HELDOUT_FILES:
        with open(gh.REFERENCE_DIR / name, newline="") as fh:
            out |= {r["source"] for r in csv.DictReader(fh)}
    return out


def test_registered_problems_fit_no_heldout_row_and_span_gpus() -> None:
    presets = {p.name for p in list_presets("chips") if p.group == "gpus"}
    held = _heldout_sources()
    problems = fit_problems()
    assert len(problems) == len(PROVIDERS) >= 1
    for problem in problems:
        used = {str(r["preset"]) for r in problem.rows}
        assert len(used) >= 2 and used <= presets, problem.name
        assert not {str(r["source"]) for r in problem.rows} & held, problem.name


def test_forward_problem_layer_shortcut_matches_the_full_model() -> None:
    row = eager_forward_problem().rows[2]
    values = {"simt_mainloop_efficiency": 0.7, "dram_efficiency": 0.9}
    model = eager_hf_model(NEUSIGHT_FAMILY[str(row["model"])], layers=int(row["layers"]),
                           d_model=int(row["d_model"]), heads=int(row["heads"]),
                           d_ff=int(row["d_ff"]), vocab=int(row["vocab"]), seq=int(row["seq"]))
    # The problem runs NeuSight's stack (eager ATen LayerNorm) with the candidate values.
    consts = dataclasses.replace(gemm_constants(), simt_mainloop_efficiency=0.7)
    with use_gemm_constants(consts):
        full = simulate(model, str(row["preset"]), batch=int(row["batch"]),
                        chip_overrides=NEUSIGHT_STACK | {"dram_efficiency": 0.9}).total.latency_s
    assert predict(values, row) == pytest.approx(full, rel=1e-9)


def test_forward_fit_reproduces() -> None:
    problem = eager_forward_problem()
    first, second = fit(problem), fit(problem)
    assert first.values == second.values
    assert first.fitted_on and all("NeuSight@" in s for s in first.fitted_on)


def test_validate_gpu_json_has_logo(run_cli: Any) -> None:
    code, out, _ = run_cli("validate", "gpu", "--json")
    assert code == 0
    logo = json.loads(out)["leave_one_gpu_out"]
    names = [p["problem"] for p in logo["problems"]]
    assert names == [p.name for p in fit_problems()]
    for p in logo["problems"]:
        assert {g["preset"] for g in p["per_gpu"]} == {str(r["preset"]) for r in
                                                       next(q for q in fit_problems()
                                                            if q.name == p["problem"]).rows}
        # Scored, or not possible because only that GPU's rows move a named constant.
        assert all(0 <= g["median_abs_error"] < 1 if g["median_abs_error"] is not None
                   else g["unfitted"] for g in p["per_gpu"])
        assert any(g["median_abs_error"] is not None for g in p["per_gpu"])


def test_validate_gpu_bad_kind_exits_2(run_cli: Any) -> None:
    code, _, err = run_cli("validate", "gpus")
    assert code == 2 and "gpus" in err


def _family_problem() -> FitProblem:
    """As _synthetic, plus a constant only gpu-c's rows respond to (a GPU-family constant)."""
    speed = {"gpu-a": 1.0, "gpu-b": 2.0, "gpu-c": 4.0}
    rows = tuple({"preset": p, "size": s, "source": f"family {p} {s}",
                  "measured": 3.0 * s / speed[p] + (0.5 if p == "gpu-c" else 0.0)}
                 for p in speed for s in (1.0, 2.0, 5.0))

    def predict(v: dict[str, float], r: dict[str, Any]) -> float:
        extra = v["c_fill"] if r["preset"] == "gpu-c" else 0.0
        return v["scale"] * float(r["size"]) / speed[r["preset"]] + extra

    return FitProblem(name="family", rows=rows, predict=predict,  # type: ignore[arg-type]
                      params=(Param("scale", 1.0, 0.1, 10.0, "s", "time per unit size"),
                              Param("c_fill", 0.1, 0.0, 5.0, "s", "gpu-c's own fixed time")))


def test_a_constant_only_the_left_out_gpu_moves_is_not_scored() -> None:
    from hwsim.calibration.fit import leave_one_gpu_out, unfitted_params

    problem = _family_problem()
    no_c = [r for r in problem.rows if r["preset"] != "gpu-c"]
    assert unfitted_params(problem, no_c) == ("c_fill",)
    assert unfitted_params(problem, problem.rows) == ()
    logo = leave_one_gpu_out(problem)
    assert logo["gpu-c"].median_abs_error is None and logo["gpu-c"].values == {}
    assert logo["gpu-c"].unfitted == ("c_fill",) and logo["gpu-c"].rows == 3
    # Leaving out gpu-a: gpu-c's rows still fit c_fill, and the data are exact.
    assert logo["gpu-a"].unfitted == ()
    assert logo["gpu-a"].median_abs_error == pytest.approx(0.0, abs=1e-4)
    assert logo["gpu-a"].values["c_fill"] == pytest.approx(0.5, rel=1e-3)


@pytest.fixture
def family_provider(monkeypatch: pytest.MonkeyPatch) -> str:
    mod = types.ModuleType("logo_family")
    mod.problem = _family_problem  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "logo_family", mod)
    return "logo_family:problem"


def test_report_skips_unscored_gpus_in_its_median(family_provider: str) -> None:
    (p,) = logo_report((family_provider,))["problems"]
    by = {g["preset"]: g for g in p["per_gpu"]}
    assert by["gpu-c"]["median_abs_error"] is None and by["gpu-c"]["unfitted"] == ["c_fill"]
    scored = sorted(by[g]["median_abs_error"] for g in ("gpu-a", "gpu-b"))
    assert p["median_abs_error_over_gpus"] == pytest.approx(sum(scored) / 2)


def test_gemm_problems_fit_no_heldout_row_and_span_gpus() -> None:
    from hwsim.calibration.problems import GEMM_PROVIDERS

    presets = {p.name for p in list_presets("chips") if p.group == "gpus"}
    held = _heldout_sources()
    problems = fit_problems(GEMM_PROVIDERS)
    assert [p.name for p in problems] == ["gpu_gemm_simt", "gpu_gemm_v024"]
    for problem in problems:
        used = {str(r["preset"]) for r in problem.rows}
        assert len(used) >= 2 and used <= presets, problem.name
        assert not {str(r["source"]) for r in problem.rows} & held, problem.name
    # The B200 alone fits its own per-kernel time: leaving it out cannot predict it.
    from hwsim.calibration.fit import unfitted_params

    v024 = problems[1]
    rest = [r for r in v024.rows if r["preset"] != "b200-sxm"]
    assert unfitted_params(v024, rest[::8]) == ("aiconfigurator_v024_b200_kernel_s",)


def test_validate_gpu_gemm_logo_prints_the_gemm_problems(
        run_cli: Any, family_provider: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from hwsim.calibration import problems

    monkeypatch.setattr(problems, "GEMM_PROVIDERS", (family_provider,))
    code, out, _ = run_cli("validate", "gpu", "--json", "--gemm-logo")
    assert code == 0
    names = [p["problem"] for p in json.loads(out)["leave_one_gpu_out"]["problems"]]
    assert names == [p.name for p in fit_problems()] + ["family"]
    code, out, _ = run_cli("validate", "gpu", "--gemm-logo")
    assert code == 0 and "not possible" in out and "c_fill" in out


def test_gemm_logo_outside_validate_gpu_exits_2(run_cli: Any) -> None:
    code, _, err = run_cli("validate", "mcu", "--gemm-logo")
    assert code == 2 and "--gemm-logo" in err and "Traceback" not in err
