"""Fits the FlashAttention kernel model's constants (:mod:`hwsim.engine.gpu.flash`) on the
AIConfigurator vLLM attention FITTING sample (``aiconfigurator_attention_fit.csv``, disjoint from
the held-out rows) through :mod:`hwsim.calibration.fit`:

    python -m hwsim.calibration.attention_fit [--write]

prints the fitted constants; ``--write`` puts their values into ``configs/calibration/gpu.yaml``
(``kernels``), keeping each one's stated source. A test refits and compares.

A row is what the collector times (:mod:`hwsim.validation.vllm_attention`): the KV-cache write
kernel (costed as the engine costs it; it has no free constant) plus the FlashAttention kernel
with the candidate constants, on the row's GPU in CUDA-graph mode."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from functools import cache
from typing import cast

from hwsim.calibration.fit import FitProblem, FitResult, Param, fit, wants_write
from hwsim.calibration.gpu import write_calibration
from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.analytic import kernel_seconds, op_kernels
from hwsim.engine.gpu.flash import FlashConstants, flash_attention
from hwsim.engine.gpu.kernel_constants import FLASH_KEYS, flash_kernel_s
from hwsim.engine.gpu.power_constants import load_calibration
from hwsim.hardware.chips import load_chip
from hwsim.presets import calibration_path, reference_dir
from hwsim.validation.aiconfigurator import GRAPH_REPLAY, attention_timed
from hwsim.validation.burst import blend, response_s, throttled_share
from hwsim.validation.vllm_attention import attention_op, cache_write_op

FIT_FILE = "aiconfigurator_attention_fit.csv"
PARAMS = (
    Param("fa2_mainloop_efficiency", 0.75, 0.2, 1.0, "fraction of tensor peak",
          "FlashAttention-2 mainloop share of the SM's dense tensor-core peak"),
    Param("fa3_mainloop_efficiency", 0.7, 0.2, 1.0, "fraction of tensor peak",
          "FlashAttention-3 mainloop share of the SM's dense tensor-core peak"),
    Param("flash_cta_fixed_s", 3e-6, 5e-8, 3e-5, "s",
          "per-CTA prologue and epilogue of a FlashAttention kernel"),
    Param("flash_kernel_fixed_s", 4e-6, 1e-7, 2e-5, "s",
          "fixed GPU time of one attention kernel inside a CUDA graph"),
)


@cache
def graph_chip(preset: str, framework: str, held: bool = False) -> GpuChip:
    """The preset as AIConfigurator's ``framework`` collector timed it: kernels replayed from a
    CUDA graph, on the collector's board, burst or sustained
    (:func:`hwsim.validation.aiconfigurator.attention_timed`); ``held``: with the load held
    (the power limit acting), for the part of a burst past the board's power response."""
    # The fitting rows name GPU presets only (aiconfigurator_attention_fit.csv).
    harness = attention_timed(GRAPH_REPLAY, preset, framework) or {}
    return cast(GpuChip, load_chip(preset, harness | ({"sustained_load": True} if held else {})))


def read_rows(name: str = FIT_FILE) -> tuple[dict[str, object], ...]:
    """The fitting rows, each with ``preset``, ``measured`` (s) and ``source`` (file:line)."""
    out = []
    with open(reference_dir("gpu") / name, newline="") as fh:
        for i, r in enumerate(csv.DictReader(fh), start=2):
            out.append(dict(r) | {"measured": float(r["latency_us"]) * 1e-6,
                                  "source": f"hwsim/data/reference/gpu/{name}:{i}"})
    return tuple(out)


def _cache_write_s(row: Mapping[str, object], held: bool = False) -> float:
    chip = graph_chip(str(row["preset"]), str(row["framework"]), held)
    op = cache_write_op(row)  # type: ignore[arg-type]
    kernels = op_kernels(op, int(row["batch"]), chip)  # type: ignore[call-overload]
    if not held:
        return sum(k.time_s for k in kernels)
    return sum(kernel_seconds(k, chip, op.dtype) for k in kernels)


def predict(values: Mapping[str, float], row: Mapping[str, object]) -> float:
    """Seconds for one row under candidate constants ``values``: the KV-cache write and the
    attention kernel, as the collector's burst of replays timed them (at boost, blended with
    the power-limited time where the burst outlasts the board's power response,
    :mod:`hwsim.validation.burst`)."""
    k = FlashConstants(**{f: values[key] for f, key in FLASH_KEYS.items()})
    chip = graph_chip(str(row["preset"]), str(row["framework"]))
    op = attention_op(row)  # type: ignore[arg-type]
    cost = flash_attention(op.shape, int(row["batch"]), chip, op.dtype,  # type: ignore[call-overload]
                           op.dtype_bytes, k, flash_kernel_s(chip, k))
    boost = _cache_write_s(row) + cost.time_s
    if chip.sustained_load or throttled_share(boost, 1, response_s()) == 0.0:
        return boost
    held_chip = graph_chip(str(row["preset"]), str(row["framework"]), True)
    held = _cache_write_s(row, held=True) + kernel_seconds(cost, held_chip, op.dtype)
    return blend(boost, held, 1, response_s())


def problem(rows: tuple[dict[str, object], ...] | None = None) -> FitProblem:
    return FitProblem(name="flash_attention", params=PARAMS,
                      rows=rows if rows is not None else read_rows(), predict=predict)


def fit_attention() -> FitResult:
    """The fit the shipped constants come from (``configs/calibration/gpu.yaml``)."""
    return fit(problem())


def write_constants(result: FitResult) -> dict[str, float]:
    """Put the fitted values into ``configs/calibration/gpu.yaml``, each entry's source kept."""
    path = calibration_path("gpu")
    shipped = load_calibration(path).kernels
    values = {p.name: float(f"{result.values[p.name]:.6g}") for p in PARAMS}
    write_calibration(path, kernels={
        name: shipped[name].model_copy(update={"value": value})
        for name, value in values.items()})
    return values


def main(argv: list[str] | None = None) -> None:
    write = wants_write(__doc__, argv, "configs/calibration/gpu.yaml")
    result = fit_attention()
    for p in PARAMS:
        print(f"{p.name} {result.values[p.name]:.6g} {p.unit}")
    print(f"median |error| {result.median_abs_error:.4f} on {result.rows} rows of {FIT_FILE}")
    if write:
        print(f"written: {write_constants(result)}")


if __name__ == "__main__":
    main()
