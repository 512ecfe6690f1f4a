"""The GEMM kernel constants (``configs/calibration/gpu_gemm.yaml``): fit problems and the refit.

Two problems through :mod:`hwsim.calibration.fit`, on fitting rows only (the held-out files are
never read here), each predicting with the engine itself - the whole ``simulate`` path with the
power-limit throttle - with candidate constants installed:

- SIMT sgemm (:func:`simt_problem`): ``simt_tile_fill_cycles`` and
  ``simt_mainloop_efficiency`` on ``neusight_gemm_fit.csv`` (fp32 nn.Linear/bmm on the A100
  PCIe 40GB and V100 PCIe 32GB, GPUs with no held-out role), timed as NeuSight timed them: CUDA
  events around one eager PyTorch call, so the launch is in the time (the preset's
  ``launch_overhead_s``);
- tensor cores (:func:`tensor_problem`): ``tensor_tile_fill_cycles`` on
  ``aiconfigurator_gemm_fit.csv`` (bf16 vLLM linears on the A100 SXM, disjoint from the held-out
  A100 rows), replayed in a CUDA graph as AIConfigurator times them, with the SIMT constants
  as fitted;
- vLLM's fp8 linear (:func:`fp8_problem`): ``fp8_mainloop_efficiency``, ``quant_cta_launch_cycles``,
  ``sm90_tile_fill_cycles`` (both fitting GPUs run sm90 kernels) and the harness's
  ``aiconfigurator_v024_kernel_s`` on ``aiconfigurator_fp8_gemm_fit.csv`` (the
  fitting shapes of AIConfigurator's vLLM 0.24 fp8 tables on the H100 and H200, disjoint from the
  held-out shapes by a hash rule fixed before any row was simulated), each row simulated as
  :func:`hwsim.validation.gpu_quant.quant_gemm_s` simulates a held-out one, with the tensor
  constant as fitted;
- sm100 (:func:`sm100_problem`): ``sm100_tile_fill_cycles`` on ``aiconfigurator_b200_gemm_fit.csv``
  (the B200's bf16 vLLM 0.24 linears, disjoint from its held-out rows), replayed as the held-out
  rows of that collector are (the vLLM 0.24 per-kernel time).

:func:`refit` solves the first two, :func:`refit_fp8` the third, :func:`refit_sm100` the fourth;
:func:`write_gemm_calibration` writes the result with provenance.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Mapping
from pathlib import Path

import yaml

from hwsim.calibration.fit import FitProblem, FitResult, Param, fit
from hwsim.config.calibration import GpuGemmCalibration
from hwsim.engine.gpu.gemm_constants import (
    GEMM_CALIBRATION,
    GemmConstants,
    gemm_constants,
    use_gemm_constants,
)
from hwsim.engine.simulate import simulate
from hwsim.presets import reference_dir
from hwsim.validation.aiconfigurator import (  # AIConfigurator's CUDA-graph replay
    GRAPH_REPLAY,
    timed_as,
)
from hwsim.validation.gpu_quant import quant_gemm_s  # the held-out fp8 rows' own simulator
from hwsim.workload.load import gemm
from hwsim.workload.model import Model
from hwsim.workload.ops import MatmulOp

SIMT_FILE = "neusight_gemm_fit.csv"
TENSOR_FILE = "aiconfigurator_gemm_fit.csv"
FP8_FILE = "aiconfigurator_fp8_gemm_fit.csv"
SM100_FILE = "aiconfigurator_b200_gemm_fit.csv"
SIMT_PARAMS = (
    Param("simt_tile_fill_cycles", 1000.0, 0.0, 2.0e4, "cycles per round of co-resident CTAs",
          "SIMT pipeline fill and epilogue per round of co-resident CTAs"),
    Param("simt_mainloop_efficiency", 0.85, 0.3, 1.0, "fraction of the FP32 pipes' peak",
          "sustained share of the FP32 peak in a SIMT sgemm mainloop"),
)
TENSOR_PARAMS = (
    Param("tensor_tile_fill_cycles", 1000.0, 0.0, 2.0e4, "cycles per round of co-resident CTAs",
          "tensor-core pipeline fill per round of co-resident CTAs (an sm80 CTA's C-tile store "
          "is costed apart)"),
)

FP8_PARAMS = (
    Param("fp8_mainloop_efficiency", 0.8, 0.3, 1.0,
          "fraction of gemm_efficiency x the fp8 tensor peak",
          "share of the tensor path's fp8 rate an fp8 GEMM mainloop sustains"),
    Param("quant_cta_launch_cycles", 10.0, 0.1, 1000.0, "core-clock cycles per CTA",
          "serial start interval of a dynamic-quantisation kernel's one-per-token CTAs"),
    Param("aiconfigurator_v024_kernel_s", 3.0e-6, 1.0e-7, 2.0e-5,
          "s per kernel inside a CUDA graph",
          "harness: GPU time per kernel of a vLLM 0.24 op in AIConfigurator's CUDA-graph "
          "replay"),
    Param("sm90_tile_fill_cycles", 1000.0, 0.0, 2.0e4, "cycles per round of co-resident CTAs",
          "sm90 tensor-core pipeline fill per round of co-resident CTAs (TMA-fed "
          "warp-specialised wgmma kernels)"),
)


def _read(name: str, ref_dir: Path | None) -> list[dict[str, str]]:
    with open((ref_dir or reference_dir("gpu")) / name, newline="") as fh:
        return list(csv.DictReader(fh))


def simt_rows(ref_dir: Path | None = None) -> tuple[dict[str, object], ...]:
    """The SIMT fitting rows: one per CSV row, measured in seconds, with file and line."""
    return tuple({"preset": r["preset"], "measured": float(r["latency_us"]) * 1e-6,
                  "source": f"{SIMT_FILE}:{i + 2} ({r['source']})", "op": r["op"],
                  "batch": int(r["batch"]), "m": int(r["m"]), "n": int(r["n"]),
                  "k": int(r["k"]), "dtype": r["dtype"]}
                 for i, r in enumerate(_read(SIMT_FILE, ref_dir)))


def tensor_rows(ref_dir: Path | None = None) -> tuple[dict[str, object], ...]:
    """The tensor-core fitting rows (AIConfigurator's (m, k) x (k, n) linears)."""
    return tuple({"preset": r["preset"], "measured": float(r["latency_us"]) * 1e-6,
                  "source": f"{TENSOR_FILE}:{i + 2} ({r['source']})", "op": "gemm",
                  "batch": 1, "m": int(r["m"]), "n": int(r["n"]), "k": int(r["k"]),
                  "dtype": r["dtype"]}
                 for i, r in enumerate(_read(TENSOR_FILE, ref_dir)))


def fp8_rows(ref_dir: Path | None = None) -> tuple[dict[str, object], ...]:
    """The fp8 fitting rows (AIConfigurator's vLLM fp8 linears), with every CSV column."""
    return tuple(dict(r) | {"measured": float(r["latency_us"]) * 1e-6,
                            "source": f"{FP8_FILE}:{i + 2} ({r['source']})"}
                 for i, r in enumerate(_read(FP8_FILE, ref_dir)))


def sm100_rows(ref_dir: Path | None = None) -> tuple[dict[str, object], ...]:
    """The B200 fitting rows (AIConfigurator's vLLM 0.24 bf16 linears), with every CSV column."""
    return tuple(dict(r) | {"measured": float(r["latency_us"]) * 1e-6,
                            "source": f"{SM100_FILE}:{i + 2} ({r['source']})"}
                 for i, r in enumerate(_read(SM100_FILE, ref_dir)))


def neusight_gemm(row: Mapping[str, object]) -> tuple[Model, int]:
    """A NeuSight GEMM row as hwsim's GEMM and batch. NeuSight's (B, M, N, K) are
    ``nn.Linear(N, K)`` on a (B, M, N) input, or ``torch.bmm`` of (B, M, N) by (B, N, K)
    (neusight/Dataset/collect.py, profile_kernel): N is the reduction, K the output columns;
    hwsim's ``gemm(m, n, k)`` reduces over k."""
    m, n, k, b = (int(row[key]) for key in ("m", "n", "k", "batch"))  # type: ignore[call-overload]
    dtype = str(row["dtype"])
    if row["op"] == "linear":  # nn.Linear flattens the batch into the rows
        return gemm(m * b, k, n, dtype=dtype), 1
    # torch.bmm: b independent products, each with its own B (an activation, not a weight).
    op = MatmulOp(name="bmm", m=m, n=k, k=n, batch=b, b_is_weight=False, dtype=dtype)
    return Model(name=f"bmm {b}x{m}x{k}x{n}", ops=(op,), origin="validation"), 1


SM100_PARAMS = (
    Param("sm100_tile_fill_cycles", 1000.0, 0.0, 2.0e4, "cycles per round of co-resident CTAs",
          "sm100 tensor-core pipeline fill per round of co-resident CTAs (Blackwell tcgen05 "
          "kernels)"),
)


def _predict(base: GemmConstants, values: Mapping[str, float],
             row: Mapping[str, object]) -> float:
    consts = dataclasses.replace(base, **{k: float(v) for k, v in values.items()})
    with use_gemm_constants(consts):
        if row["op"] == "gemm":
            model = gemm(int(row["m"]), int(row["n"]), int(row["k"]),  # type: ignore[call-overload]
                         dtype=str(row["dtype"]))
            return simulate(model, str(row["preset"]),
                            chip_overrides=GRAPH_REPLAY).total.latency_s
        model, batch = neusight_gemm(row)
        return simulate(model, str(row["preset"]), batch=batch).total.latency_s


def simt_problem(ref_dir: Path | None = None,
                 base: GemmConstants | None = None) -> FitProblem:
    """The SIMT constants' fit problem (the tensor constant held at ``base``'s value)."""
    b = base or gemm_constants()
    return FitProblem(name="gpu_gemm_simt", params=SIMT_PARAMS, rows=simt_rows(ref_dir),
                      predict=lambda v, r: _predict(b, v, r))


def tensor_problem(ref_dir: Path | None = None,
                   base: GemmConstants | None = None) -> FitProblem:
    """The tensor-core constant's fit problem (the SIMT constants held at ``base``'s)."""
    b = base or gemm_constants()
    return FitProblem(name="gpu_gemm_tensor", params=TENSOR_PARAMS, rows=tensor_rows(ref_dir),
                      predict=lambda v, r: _predict(b, v, r))


def _predict_fp8(base: GemmConstants, values: Mapping[str, float],
                 row: Mapping[str, object]) -> float:
    consts = dataclasses.replace(base, **{k: float(v) for k, v in values.items()})
    with use_gemm_constants(consts):
        return quant_gemm_s(row, GRAPH_REPLAY)  # type: ignore[arg-type]


def fp8_problem(ref_dir: Path | None = None, base: GemmConstants | None = None) -> FitProblem:
    """The fp8 linear's constants' fit problem (the other constants held at ``base``'s)."""
    b = base or gemm_constants()
    return FitProblem(name="gpu_gemm_fp8", params=FP8_PARAMS, rows=fp8_rows(ref_dir),
                      predict=lambda v, r: _predict_fp8(b, v, r))


def refit_fp8(ref_dir: Path | None = None, base: GemmConstants | None = None) -> FitResult:
    """Fit the fp8 constants given the shipped (or ``base``) SIMT and tensor constants."""
    return fit(fp8_problem(ref_dir, base))


def _predict_sm100(base: GemmConstants, values: Mapping[str, float],
                   row: Mapping[str, object]) -> float:
    consts = dataclasses.replace(base, **{k: float(v) for k, v in values.items()})
    model = gemm(int(row["m"]), int(row["n"]), int(row["k"]),  # type: ignore[call-overload]
                 dtype=str(row["dtype"]))
    with use_gemm_constants(consts):
        # As the held-out rows of the same collector: a vLLM 0.24 graph replay.
        return simulate(model, str(row["preset"]), chip_overrides=timed_as(
            GRAPH_REPLAY, str(row["framework"]))).total.latency_s


def sm100_problem(ref_dir: Path | None = None,
                  base: GemmConstants | None = None) -> FitProblem:
    """The sm100 pipeline fill's fit problem on the B200 fitting rows."""
    b = base or gemm_constants()
    return FitProblem(name="gpu_gemm_sm100", params=SM100_PARAMS, rows=sm100_rows(ref_dir),
                      predict=lambda v, r: _predict_sm100(b, v, r))


def refit_sm100(ref_dir: Path | None = None, base: GemmConstants | None = None) -> FitResult:
    """Fit the sm100 fill given the shipped (or ``base``) other constants."""
    return fit(sm100_problem(ref_dir, base))


def refit(ref_dir: Path | None = None) -> tuple[FitResult, FitResult]:
    """Fit the SIMT constants, then the tensor constant given them (deterministic)."""
    simt = fit(simt_problem(ref_dir))
    base = dataclasses.replace(gemm_constants(), **simt.values)
    return simt, fit(tensor_problem(ref_dir, base))


HEADER = ("# GEMM kernel constants shared by every GPU (schema: hwsim/config/calibration.py,\n"
          "# GpuGemmCalibration). Written by hwsim.calibration.gpu_gemm.write_gemm_calibration;"
          "\n# read by hwsim/engine/gpu/tensor_gemm.py. Re-fit: hwsim.calibration.gpu_gemm.refit, "
          "refit_fp8."
          "\n")
FITTED_ON = {
    SIMT_FILE: ("NeuSight fp32 nn.Linear/bmm event-timed latencies on the A100 PCIe 40GB and "
                "V100 PCIe 32GB (sitar-lab/NeuSight@6945927 test/linear.csv, test/bmm.csv)"),
    TENSOR_FILE: ("AIConfigurator bf16 vLLM 0.14.0 linears on the A100 SXM 80GB, disjoint from "
                  "the held-out aiconfigurator_gemm.csv (aiconfigurator-core 0.12.0)"),
    FP8_FILE: ("AIConfigurator vLLM 0.24.0 fp8 linears (CutlassFP8ScaledMMLinearKernel, dynamic "
               "per-tensor activation scale) on the H100 SXM and H200 SXM, the fitting shapes "
               "of make_quant_gemm.py's hash split, disjoint from the held-out "
               "aiconfigurator_fp8_gemm.csv (aiconfigurator-core 0.12.0)"),
    SM100_FILE: ("AIConfigurator bf16 vLLM 0.24.0 linears on the B200 (the one sm100 GPU with "
                 "rows), disjoint from its held-out rows in aiconfigurator_gemm_new_presets.csv "
                 "(aiconfigurator-core 0.12.0)"),
}
REFIT_FUNCTION = {SIMT_FILE: "refit", TENSOR_FILE: "refit", FP8_FILE: "refit_fp8",
                  SM100_FILE: "refit_sm100"}


def _entry(p: Param, result: FitResult, file: str) -> dict[str, object]:
    return {"value": float(f"{result.values[p.name]:.6g}"), "unit": p.unit, "status": "fitted",
            "source": (f"{p.description}; fitted by hwsim.calibration.gpu_gemm."
                       f"{REFIT_FUNCTION[file]} (scipy "
                       f"least_squares on log(predicted/measured), soft_l1, bounds "
                       f"[{p.lower:g}, {p.upper:g}]); median |error| "
                       f"{result.median_abs_error:.3f} on its {result.rows} rows"),
            "fitted_on": (f"{result.rows} rows of hwsim/data/reference/gpu/{file}: "
                          f"{FITTED_ON[file]}")}


def write_gemm_calibration(path: str | Path, simt: FitResult | None, tensor: FitResult | None,
                           fp8: FitResult | None, sm100: FitResult | None = None,
                           base: GpuGemmCalibration = GEMM_CALIBRATION) -> GpuGemmCalibration:
    """Write the fits into the file the engine reads (each constant marked fitted, naming its
    rows; a fit given as None keeps ``base``'s entries); the schema refuses a fitted constant
    without them."""
    doc = base.model_dump(mode="json")
    for params, result, file in ((SIMT_PARAMS, simt, SIMT_FILE), (TENSOR_PARAMS, tensor,
                                                                  TENSOR_FILE),
                                 (FP8_PARAMS, fp8, FP8_FILE), (SM100_PARAMS, sm100, SM100_FILE)):
        for p in params:
            if result is not None:
                doc[p.name] = _entry(p, result, file)
    doc["description"] = ("GEMM kernel constants shared by every GPU: per-round pipeline fill "
                          "(SIMT, tensor cores), the SIMT and fp8 mainloop efficiencies, the "
                          "dynamic-quantisation CTA time, and AIConfigurator's vLLM 0.24 "
                          "per-kernel time")
    checked = GpuGemmCalibration.model_validate(doc)
    text = yaml.safe_dump(checked.model_dump(mode="json"), sort_keys=False, width=100,
                          allow_unicode=True)
    Path(path).write_text(HEADER + text, encoding="utf-8")
    return checked
