"""Fits the B200's GPU time per kernel inside a CUDA graph (``graph_kernel_overhead_s`` of
``configs/hardware/gpus/b200-sxm.yaml``) on AIConfigurator's B200 attention FITTING sample
(``aiconfigurator_b200_attention_fit.csv``, disjoint from the held-out
``aiconfigurator_b200_attention_power.csv``):

    python -m hwsim.calibration.b200_graph_fit [--write]

prints the fitted value and its median |error|; ``--write`` puts it into the preset (its source
line, which names this module, stays as it is); a test refits and compares.

Why a B200 value: the preset first took A100's gpt-fast-fitted 6.73 us, which alone exceeds the
6.1 us the B200 takes for a whole one-token decode row (the KV-cache write and the attention
kernel). Each row is simulated as the held-out rows are (:mod:`hwsim.validation.vllm_attention`,
the write then the attention, replayed in a CUDA graph); the FlashAttention constants stay the
A100/H100/H200 fit's (:mod:`hwsim.calibration.attention_fit`), so only this one number is free.
One GPU: no leave-one-GPU-out is possible, and the fit is not registered in
:mod:`hwsim.calibration.problems` for that reason.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from functools import cache

from hwsim.calibration.fit import FitProblem, FitResult, Param, fit, wants_write
from hwsim.calibration.preset_write import write_preset_field
from hwsim.presets import reference_dir
from hwsim.validation.vllm_attention import vllm_attention_s

FIT_FILE = "aiconfigurator_b200_attention_fit.csv"
PRESET = "b200-sxm"
PARAM = Param("graph_kernel_overhead_s", 4e-6, 1e-7, 2e-5, "s",
              "B200 GPU time per kernel inside a CUDA graph (grid launch, gap, drain)")


def read_rows(name: str = FIT_FILE) -> tuple[dict[str, object], ...]:
    """The fitting rows, each with ``measured`` (s) and ``source`` (file:line)."""
    out = []
    with open(reference_dir("gpu") / name, newline="") as fh:
        for i, r in enumerate(csv.DictReader(fh), start=2):
            if r["preset"] != PRESET:
                raise ValueError(f"hwsim/data/reference/gpu/{name}:{i}: preset {r['preset']!r}, "
                                 f"expected {PRESET!r} (a B200-only fitting file)")
            out.append(dict(r) | {"measured": float(r["latency_us"]) * 1e-6,
                                  "source": f"hwsim/data/reference/gpu/{name}:{i}"})
    return tuple(out)


@cache
def _latency_s(key: tuple[tuple[str, str], ...], overhead_s: float) -> float:
    return vllm_attention_s(dict(key), {"cuda_graphs": True,
                                        "graph_kernel_overhead_s": overhead_s})


def predict(values: Mapping[str, float], row: Mapping[str, object]) -> float:
    """Seconds for one row with the candidate per-kernel graph time."""
    key = tuple(sorted((k, str(v)) for k, v in row.items() if k not in ("measured", "source")))
    return _latency_s(key, float(values[PARAM.name]))


def problem(rows: tuple[dict[str, object], ...] | None = None) -> FitProblem:
    return FitProblem(name="b200_graph_kernel", params=(PARAM,),
                      rows=rows if rows is not None else read_rows(), predict=predict)


def fit_b200_graph() -> FitResult:
    """The fit the preset's value comes from."""
    return fit(problem())


def main(argv: list[str] | None = None) -> None:
    write = wants_write(__doc__, argv, "configs/hardware/gpus/b200-sxm.yaml")
    result = fit_b200_graph()
    value = float(f"{result.values[PARAM.name]:.3g}")
    print(f"graph_kernel_overhead_s: {value:.4g} s "
          f"(median |error| {result.median_abs_error:.3f} on {result.rows} rows of {FIT_FILE})")
    if write:
        write_preset_field({"b200-sxm": value}, PARAM.name)
        print(f"written: b200-sxm {PARAM.name} {value}")


if __name__ == "__main__":
    main()
