"""Fit problem: eager fp32 HuggingFace forward passes (NeuSight, the fitting GPUs).

Rows: ``neusight_forward_fit.csv`` (A100-PCIE-40GB, V100-PCIE-32GB; fitting data, SOURCES.md),
each built as the kernels eager PyTorch runs (:mod:`hwsim.workload.eager_hf`). Free constants:
the two efficiencies these runs are bound by - ``simt_mainloop_efficiency`` (fp32 GEMMs run as
SIMT sgemm on the CUDA cores; the GEMM constant of that name, installed for the candidate) and
the chip's ``dram_efficiency`` (the materialised scores and elementwise kernels). The fit is a
leave-one-GPU-out check of the forward-pass model: the constants it finds are reported by
``hwsim validate gpu``, not written anywhere (GEMM constants belong to the GEMM model). Until
the PCIe boards took their SXM siblings' energy per FLOP (``math_energy_of``), the first
constant was the chip's ``gemm_efficiency``, which sets no fp32 rate: it moved these rows only
through the board's own TDP anchor (a bf16 GEMM at that efficiency set the energy per FLOP, and
with it the sgemm's throttle).

Speed: every layer of a stack is the same kernels, so a row costs one simulated layer:
``total(1-layer model) + (layers - 1) * time(layer 0)``, and each (row, constants) pair is cached.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Mapping
from functools import lru_cache

from hwsim.calibration.fit import FitProblem, Param
from hwsim.calibration.gddr_stream import NEUSIGHT_STACK
from hwsim.engine.gpu.gemm_constants import gemm_constants, use_gemm_constants
from hwsim.engine.simulate import simulate
from hwsim.presets import reference_dir
from hwsim.workload.eager_hf import NEUSIGHT_FAMILY, eager_hf_model

FIT_FILE = "neusight_forward_fit.csv"
PARAMS = (
    Param("simt_mainloop_efficiency", 0.8, 0.3, 1.0, "fraction of the FP32 pipes' peak",
          "sustained share of the FP32 peak in an sgemm mainloop (the GEMM constant)"),
    Param("dram_efficiency", 0.8, 0.3, 1.0, "1",
          "fraction of the DRAM bandwidth streaming kernels sustain (chip.dram_efficiency)"),
)


@lru_cache(maxsize=4096)
def _latency_s(preset: str, family: str, layers: int, d_model: int, heads: int, d_ff: int,
               vocab: int, seq: int, batch: int, simt_eff: float, dram_eff: float) -> float:
    one = eager_hf_model(family, layers=1, d_model=d_model, heads=heads, d_ff=d_ff,  # type: ignore[arg-type]
                         vocab=vocab, seq=seq)
    over = NEUSIGHT_STACK | {"dram_efficiency": dram_eff}
    consts = dataclasses.replace(gemm_constants(), simt_mainloop_efficiency=simt_eff)
    with use_gemm_constants(consts):
        res = simulate(one, preset, batch=batch, chip_overrides=over)
    layer_s = sum(op.latency_s for op in res.ops if op.name.startswith("layer0."))
    return res.total.latency_s + (layers - 1) * layer_s


def predict(values: Mapping[str, float], row: Mapping[str, object]) -> float:
    """Modelled forward-pass latency (s) of one CSV row under ``values``."""
    r = {k: str(v) for k, v in row.items()}
    return _latency_s(r["preset"], NEUSIGHT_FAMILY[r["model"]], int(r["layers"]),
                      int(r["d_model"]), int(r["heads"]), int(r["d_ff"]), int(r["vocab"]),
                      int(r["seq"]), int(r["batch"]), float(values["simt_mainloop_efficiency"]),
                      float(values["dram_efficiency"]))


def rows() -> tuple[dict[str, object], ...]:
    """The fitting rows with ``measured`` in seconds."""
    with open(reference_dir("gpu") / FIT_FILE, newline="") as fh:
        return tuple({**r, "measured": float(r["latency_ms"]) * 1e-3}
                     for r in csv.DictReader(fh))


def eager_forward_problem() -> FitProblem:
    return FitProblem(name="eager_forward_fp32", params=PARAMS, rows=rows(), predict=predict)
