"""Fits HBM3e's sustained streaming efficiency on AIConfigurator's weight-streaming GEMM FITTING
rows (``aiconfigurator_hbm_stream_fit.csv``: bf16 vLLM 0.24 linears at <= 16 FLOP/B and >= 0.2 ms
on the H200 and B200, every held-out shape removed; ``make_hbm_stream_fit.py``).

Why an HBM3e constant: every HBM preset took ``dram_efficiency`` 0.885, fitted once on the A100's
HBM2e (LLMCompass weight streaming). The same collector's weight-streaming rows on the H100
(HBM3, in the same file, fitting nothing) sit at the model within a few per cent with it, so
the value carries from HBM2e to HBM3; on the two HBM3e GPUs the same kernels are a few per cent
slower than 0.885 of their datasheet bandwidth gives, on both alike. The constant belongs to the
memory, not to a GPU: it is fitted on both HBM3e GPUs together, and leave-one-GPU-out (fit on
the H200, predict the B200, and back) tests that it carries between them.

A row is simulated as its held-out neighbours are (:func:`hwsim.validation.aiconfigurator.
aic_gemm_s`: the linear in a CUDA-graph replay at the collector's per-kernel time), with the
candidate efficiency as a chip override; predictions are memoised per (row, value, GEMM
constants in force).

Refit and write (``configs/calibration/gpu_hbm_stream.yaml`` and the HBM3e presets'
``dram_efficiency``): ``python -m hwsim.calibration.hbm_stream --write``. The vLLM 0.24 GEMM
constants (``hwsim.calibration.gpu_gemm.refit_v024``) are fitted on rows of these GPUs too, so
after a write they are refitted, then this fit is rerun to check it did not move.
"""

from __future__ import annotations

import csv
import statistics
import sys
from collections.abc import Mapping
from functools import cache
from typing import Any, cast

import yaml

from hwsim.calibration.fit import FitProblem, FitResult, Param, fit
from hwsim.calibration.preset_write import write_dram_efficiency
from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.gemm_constants import GemmConstants, gemm_constants
from hwsim.hardware.chips import load_chip
from hwsim.presets import calibration_path, preset_dir, reference_dir
from hwsim.validation.aiconfigurator import GRAPH_REPLAY, aic_gemm_s

FIT_FILE = "aiconfigurator_hbm_stream_fit.csv"
CALIBRATION = "gpu_hbm_stream"
MEMORY = "hbm3e"
PARAM = Param("hbm3e_dram_efficiency", 0.85, 0.4, 1.0, "fraction of peak DRAM bandwidth",
              "sustained share of an HBM3e GPU's datasheet bandwidth in a weight-streaming kernel")
# Columns that identify a row's simulation (the memo key).
_KEY = ("preset", "m", "n", "k", "dtype", "framework")


def _memory(preset: str) -> str:
    return cast(GpuChip, load_chip(preset)).offchip.kind


def read_rows(name: str = FIT_FILE) -> tuple[dict[str, object], ...]:
    """Every row of the file with ``measured`` (s) and ``source`` (file:line)."""
    out = []
    with open(reference_dir("gpu") / name, newline="") as fh:
        for i, r in enumerate(csv.DictReader(fh), start=2):
            if r["dtype"] != "bf16":
                raise ValueError(f"hwsim/data/reference/gpu/{name}:{i}: dtype {r['dtype']!r}, "
                                 "expected 'bf16' (the weight-streaming rows)")
            out.append(dict(r) | {"measured": float(r["latency_us"]) * 1e-6,
                                  "source": f"hwsim/data/reference/gpu/{name}:{i}"})
    return tuple(out)


def fitting_rows() -> tuple[dict[str, object], ...]:
    """The rows the constant is fitted on: those of GPUs whose DRAM is HBM3e."""
    return tuple(r for r in read_rows() if _memory(str(r["preset"])) == MEMORY)


def check_rows() -> tuple[dict[str, object], ...]:
    """The rows that fit nothing (the H100's HBM3): a check of the preset value it keeps."""
    return tuple(r for r in read_rows() if _memory(str(r["preset"])) != MEMORY)


@cache
def _latency_s(key: tuple[tuple[str, str], ...], efficiency: float | None,
               constants: GemmConstants) -> float:
    # ``constants`` (the GEMM constants in force) is only part of the memo key: a GEMM refit
    # that installs candidates must not be answered from another set's simulations.
    harness: dict[str, Any] = dict(GRAPH_REPLAY)
    if efficiency is not None:
        harness["dram_efficiency"] = efficiency
    return aic_gemm_s(dict(key), harness)


def _key(row: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    return tuple((k, str(row[k])) for k in _KEY)


def predict(values: Mapping[str, float], row: Mapping[str, object]) -> float:
    """Seconds for one row at the candidate efficiency."""
    return _latency_s(_key(row), float(values[PARAM.name]), gemm_constants())


def problem(rows: tuple[dict[str, object], ...] | None = None) -> FitProblem:
    return FitProblem(name="hbm3e_streaming", params=(PARAM,),
                      rows=rows if rows is not None else fitting_rows(), predict=predict)


def fit_stream() -> FitResult:
    """The fit the shipped constant comes from."""
    return fit(problem())


def check_errors() -> dict[str, float]:
    """Median signed error of the check rows per preset, each at its shipped preset value."""
    by_preset: dict[str, list[float]] = {}
    for r in check_rows():
        err = _latency_s(_key(r), None, gemm_constants()) / float(cast(float, r["measured"])) - 1.0
        by_preset.setdefault(str(r["preset"]), []).append(err)
    return {p: statistics.median(e) for p, e in sorted(by_preset.items())}


@cache
def shipped() -> float:
    """The written constant (``configs/calibration/gpu_hbm_stream.yaml``)."""
    doc = yaml.safe_load(calibration_path(CALIBRATION).read_text())
    return float(doc["constants"][PARAM.name]["value"])


def hbm3e_presets() -> tuple[str, ...]:
    """The shipped GPU presets whose DRAM is HBM3e (they carry the fitted value)."""
    return tuple(sorted(p.stem for p in (preset_dir("chips") / "gpus").glob("*.yaml")
                        if yaml.safe_load(p.read_text()).get("offchip", {}).get("kind")
                        == MEMORY))


def _write(result: FitResult) -> None:
    gpus = sorted({str(r["preset"]) for r in fitting_rows()})
    where = (f"hwsim/data/reference/gpu/{FIT_FILE} ({result.rows} rows: AIConfigurator vLLM 0.24 "
             f"bf16 weight-streaming linears on {' and '.join(gpus)}, held-out shapes removed)")
    how = ("hwsim.calibration.hbm_stream.fit_stream (scipy least_squares on log(pred/meas), "
           f"soft_l1); median |error| on the fitted rows {result.median_abs_error:.3f}")
    value = float(f"{result.values[PARAM.name]:.4g}")
    doc = {"schema_version": 1,
           "description": "HBM3e sustained streaming efficiency, copied into the HBM3e presets' "
                          "dram_efficiency",
           "constants": {PARAM.name: {"value": value, "unit": PARAM.unit,
                                      "description": PARAM.description, "status": "fitted",
                                      "source": how, "fitted_on": where}}}
    header = "# Written by `python -m hwsim.calibration.hbm_stream --write`; do not edit.\n"
    calibration_path(CALIBRATION).write_text(header + yaml.safe_dump(doc, sort_keys=False,
                                                                     width=100))
    write_dram_efficiency(hbm3e_presets(), value)


def main(argv: list[str]) -> None:
    res = fit_stream()
    print(f"{PARAM.name}: {res.values[PARAM.name]:.4f} (median |error| "
          f"{res.median_abs_error:.3f} on {res.rows} rows of {FIT_FILE})")
    for preset, err in check_errors().items():
        print(f"check, {preset} at its preset dram_efficiency: median error {err:+.3f}")
    if "--write" in argv:
        _write(res)


if __name__ == "__main__":
    main(sys.argv[1:])
