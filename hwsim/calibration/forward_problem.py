"""Fit problem: eager fp32 HuggingFace forward passes (NeuSight, the fitting GPUs).

Rows: ``neusight_forward_fit.csv`` (A100-PCIE-40GB, V100-PCIE-32GB; fitting data, SOURCES.md),
each built as the kernels eager PyTorch runs (:mod:`hwsim.workload.eager_hf`). Free constants:
the two chip efficiencies these runs are bound by - ``gemm_efficiency`` (fp32 GEMMs on CUDA
cores) and ``dram_efficiency`` (the materialised scores and elementwise kernels). The fit is a
leave-one-GPU-out check of the forward-pass model: the constants it finds are reported by
``hwsim validate gpu``, not written to a preset (GEMM constants belong to the GEMM model).

Speed: every layer of a stack is the same kernels, so a row costs one simulated layer:
``total(1-layer model) + (layers - 1) * time(layer 0)``, and each (row, constants) pair is cached.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from functools import lru_cache

from hwsim.calibration.fit import FitProblem, Param
from hwsim.calibration.gddr_stream import NEUSIGHT_STACK
from hwsim.engine.simulate import simulate
from hwsim.presets import reference_dir
from hwsim.workload.eager_hf import NEUSIGHT_FAMILY, eager_hf_model

FIT_FILE = "neusight_forward_fit.csv"
PARAMS = (
    Param("gemm_efficiency", 0.8, 0.3, 1.0, "1",
          "fraction of the fp32 CUDA-core peak an fp32 GEMM sustains (chip.gemm_efficiency)"),
    Param("dram_efficiency", 0.8, 0.3, 1.0, "1",
          "fraction of the DRAM bandwidth streaming kernels sustain (chip.dram_efficiency)"),
)


@lru_cache(maxsize=4096)
def _latency_s(preset: str, family: str, layers: int, d_model: int, heads: int, d_ff: int,
               vocab: int, seq: int, batch: int, gemm_eff: float, dram_eff: float) -> float:
    one = eager_hf_model(family, layers=1, d_model=d_model, heads=heads, d_ff=d_ff,  # type: ignore[arg-type]
                         vocab=vocab, seq=seq)
    over = NEUSIGHT_STACK | {"gemm_efficiency": gemm_eff, "dram_efficiency": dram_eff}
    res = simulate(one, preset, batch=batch, chip_overrides=over)
    layer_s = sum(op.latency_s for op in res.ops if op.name.startswith("layer0."))
    return res.total.latency_s + (layers - 1) * layer_s


def predict(values: Mapping[str, float], row: Mapping[str, object]) -> float:
    """Modelled forward-pass latency (s) of one CSV row under ``values``."""
    r = {k: str(v) for k, v in row.items()}
    return _latency_s(r["preset"], NEUSIGHT_FAMILY[r["model"]], int(r["layers"]),
                      int(r["d_model"]), int(r["heads"]), int(r["d_ff"]), int(r["vocab"]),
                      int(r["seq"]), int(r["batch"]), float(values["gemm_efficiency"]),
                      float(values["dram_efficiency"]))


def rows() -> tuple[dict[str, object], ...]:
    """The fitting rows with ``measured`` in seconds."""
    with open(reference_dir("gpu") / FIT_FILE, newline="") as fh:
        return tuple({**r, "measured": float(r["latency_ms"]) * 1e-3}
                     for r in csv.DictReader(fh))


def eager_forward_problem() -> FitProblem:
    return FitProblem(name="eager_forward_fp32", params=PARAMS, rows=rows(), predict=predict)
