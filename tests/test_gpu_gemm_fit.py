"""The GEMM constants (configs/calibration/gpu_gemm.yaml) are reproducible and fitted only on
fitting data: a refit on the fitting files returns the shipped values, every constant names its
rows, and no fitting row is a held-out row (NeuSight: other GPUs; AIConfigurator: other shapes)."""

from __future__ import annotations

import csv

import pytest

from hwsim.calibration.gpu_gemm import (
    A100_STREAM_FILE,
    A100_STREAM_PARAMS,
    SIMT_FILE,
    SIMT_PARAMS,
    TENSOR_FILE,
    TENSOR_PARAMS,
    V024_FILES,
    V024_PARAMS,
    a100_stream_rows,
    fp8_rows,
    refit,
    refit_v024,
    simt_rows,
    tensor_rows,
    v024_depends,
    v024_problem,
    v024_rows,
)
from hwsim.config.calibration import GpuGemmCalibration, GpuPowerConstant
from hwsim.engine.gpu.gemm_constants import GEMM_CALIBRATION
from hwsim.presets import reference_dir

HELD_OUT = ("neusight_gemm.csv", "neusight_gemm_new_presets.csv", "aiconfigurator_gemm.csv",
            "aiconfigurator_gemm_new_presets.csv")
FP8_HELD_OUT = "aiconfigurator_fp8_gemm.csv"


def _held_out() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for name in HELD_OUT:
        with open(reference_dir("gpu") / name, newline="") as fh:
            rows += list(csv.DictReader(fh))
    return rows


def test_refit_reproduces_the_shipped_constants() -> None:
    simt, stream, tensor = refit()
    shipped = GEMM_CALIBRATION
    for p in A100_STREAM_PARAMS:
        assert stream.values[p.name] == pytest.approx(getattr(shipped, p.name).value, rel=1e-3,
                                                      abs=1e-3), p.name
    for p in SIMT_PARAMS:
        assert simt.values[p.name] == pytest.approx(getattr(shipped, p.name).value, rel=1e-3,
                                                    abs=1e-3), p.name
    for p in TENSOR_PARAMS:
        assert tensor.values[p.name] == pytest.approx(getattr(shipped, p.name).value, rel=1e-3,
                                                      abs=1e-3), p.name
    # The fits explain their own rows to within the 10 % (SIMT) / 15 % (tensor).
    assert simt.median_abs_error <= 0.10
    assert tensor.median_abs_error <= 0.15
    assert stream.median_abs_error <= 0.10


def test_v024_refit_reproduces_the_shipped_constants() -> None:
    """The vLLM 0.24 collector's constants, fitted jointly on all of its fitting rows (fp8 and
    bf16 H100/H200 linears, bf16 B200 linears), as shipped."""
    v024 = refit_v024()
    for p in V024_PARAMS:
        assert v024.values[p.name] == pytest.approx(getattr(GEMM_CALIBRATION, p.name).value,
                                                    rel=1e-3), p.name
    assert v024.rows == 1260 and v024.median_abs_error <= 0.12
    # Every constant sits inside its bounds, not pinned to one (a pinned constant would be
    # absorbing a missing mechanism).
    for p in V024_PARAMS:
        margin = 1e-3 * (p.upper - p.lower)
        assert p.lower + margin < v024.values[p.name] < p.upper - margin, p.name
    sources = {str(r["source"]).split(":")[0] for r in v024_rows()}
    assert sources == set(V024_FILES)


def test_fp8_fitting_shapes_are_disjoint_from_the_held_out_shapes() -> None:
    with open(reference_dir("gpu") / FP8_HELD_OUT, newline="") as fh:
        held = {(r["preset"], r["m"], r["n"], r["k"]) for r in csv.DictReader(fh)}
    rows = fp8_rows()
    assert {r["preset"] for r in rows} == {"h100-sxm", "h200-sxm"}
    assert not {(r["preset"], r["m"], r["n"], r["k"]) for r in rows} & held


def test_every_constant_is_fitted_and_names_its_file() -> None:
    for p, file in ([(p, SIMT_FILE) for p in SIMT_PARAMS] + [(p, TENSOR_FILE)
                                                              for p in TENSOR_PARAMS]
                    + [(p, A100_STREAM_FILE) for p in A100_STREAM_PARAMS]
                    + [(p, f) for p in V024_PARAMS for f in V024_FILES]):
        const = getattr(GEMM_CALIBRATION, p.name)
        assert const.status == "fitted" and file in const.fitted_on


def test_a_fitted_constant_without_rows_is_refused() -> None:
    doc = GEMM_CALIBRATION.model_dump(mode="json")
    doc["simt_tile_fill_cycles"]["fitted_on"] = ""
    with pytest.raises(ValueError, match="fitted_on"):
        GpuGemmCalibration.model_validate(doc)
    assert GpuPowerConstant.model_validate(
        {"value": 1.0, "unit": "s", "status": "assumption", "source": "x"}).fitted_on == ""


def test_fitting_rows_are_disjoint_from_the_held_out_rows() -> None:
    held = _held_out()
    held_gpus = {r["gpu"] for r in held if "op" in r}
    simt = simt_rows()
    assert len(simt) == 180 and all(str(r["source"]).startswith(SIMT_FILE) for r in simt)
    with open(reference_dir("gpu") / SIMT_FILE, newline="") as fh:
        assert not {r["gpu"] for r in csv.DictReader(fh)} & held_gpus
    aic_held = {(r["preset"], int(r["m"]), int(r["n"]), int(r["k"])) for r in held
                if "op" not in r}
    tensor = tensor_rows()
    assert len(tensor) == 200
    assert not {(r["preset"], r["m"], r["n"], r["k"]) for r in tensor} & aic_held
    stream = a100_stream_rows()
    assert len(stream) == 30 and {r["preset"] for r in stream} == {"a100-sxm-80gb"}
    assert not {(r["preset"], r["m"], r["n"], r["k"]) for r in stream} & aic_held
    # Weight-streaming rows: <= 16 FLOP per byte of A, B and C, and >= 0.2 ms.
    for r in stream:
        m, n, k = (int(r[x]) for x in "mnk")  # type: ignore[call-overload]
        assert m * n * k / (m * k + k * n + m * n) <= 16.0 and float(r["measured"]) >= 2e-4


def test_v024_rows_depend_only_on_the_constants_they_declare() -> None:
    """The joint fit recomputes a row only when a constant it declares moves (v024_depends):
    moving any other constant leaves one row of each kind (fp8 and bf16 per GPU) unchanged, and
    each declared one moves some row."""
    problem = v024_problem()
    start = {p.name: p.initial for p in V024_PARAMS}
    kinds: dict[tuple[object, object], dict[str, object]] = {}
    for r in problem.rows:
        kinds.setdefault((r["dtype"], r["preset"]), dict(r))
    assert len(kinds) == 5  # fp8 H100/H200, bf16 H100/H200/B200
    moved_any: set[str] = set()
    for row in kinds.values():
        ref = problem.predict(start, row)
        for p in V024_PARAMS:
            moved = problem.predict(start | {p.name: (p.initial + p.upper) / 2.0}, row)
            if p.name in v024_depends(row):
                moved_any |= {p.name} if moved != ref else set()
            else:
                assert moved == ref, (p.name, row["source"])
    assert moved_any == {p.name for p in V024_PARAMS}
