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
- AIConfigurator's vLLM 0.24 collector (:func:`v024_problem`): every constant its rows share or
  need, fitted jointly on all of them - ``fp8_mainloop_efficiency``, ``quant_cta_launch_cycles``
  and the harness's per-kernel times (``aiconfigurator_v024_kernel_s``, the B200's
  ``aiconfigurator_v024_b200_kernel_s``, the quantisation kernels'
  ``aiconfigurator_v024_quant_kernel_s``; the sm90 and sm100 per-round fills fitted to 0 once
  these were the collector's own and are kept at 0) - on ``aiconfigurator_fp8_gemm_fit.csv``
  (the fitting shapes of the fp8 tables on the H100 and H200, disjoint from the held-out
  shapes by a hash rule fixed before any row was simulated; each row simulated as
  :func:`hwsim.validation.gpu_quant.quant_gemm_s` simulates a held-out one),
  ``aiconfigurator_sm90_gemm_fit.csv`` (the same GPUs' bf16 linears) and
  ``aiconfigurator_b200_gemm_fit.csv`` (the B200's), each with its held-out shapes removed; the
  tensor constant as fitted.

- AIConfigurator's TensorRT-LLM 1.0 collector (:func:`trtllm_w4a16_problem`): its per-kernel
  time ``aiconfigurator_trtllm_kernel_s`` on ``aiconfigurator_w4a16_gemm_fit.csv`` (the A100's
  weight-only int4 plugin, TensorRT-LLM's fpA_intB kernel; fitting shapes of the same hash
  split as the fp8 rows), every kernel constant as shipped.

:func:`refit` solves the first two, :func:`refit_v024` the third, :func:`refit_trtllm_w4a16`
the fourth;
:func:`write_gemm_calibration` writes the result with provenance.
"""

from __future__ import annotations

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
from hwsim.presets import reference_dir, reference_rows
from hwsim.validation.aiconfigurator import (  # AIConfigurator's CUDA-graph replay
    GRAPH_REPLAY,
    aic_gemm_s,
    kernel_time_field,
)
from hwsim.validation.gpu_quant import quant_gemm_s  # the held-out fp8 rows' own simulator
from hwsim.workload.load import gemm
from hwsim.workload.model import Model
from hwsim.workload.ops import MatmulOp

SIMT_FILE = "neusight_gemm_fit.csv"
TENSOR_FILE = "aiconfigurator_gemm_fit.csv"
A100_STREAM_FILE = "aiconfigurator_a100_stream_fit.csv"
FP8_FILE = "aiconfigurator_fp8_gemm_fit.csv"
SM90_BF16_FILE = "aiconfigurator_sm90_gemm_fit.csv"
SM100_FILE = "aiconfigurator_b200_gemm_fit.csv"
V024_FILES = (FP8_FILE, SM90_BF16_FILE, SM100_FILE)
W4A16_FILE = "aiconfigurator_w4a16_gemm_fit.csv"
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
    Param("aiconfigurator_v014_kernel_s", 3.0e-6, 1.0e-7, 2.0e-5,
          "s per kernel inside a CUDA graph",
          "harness: GPU time per kernel of a vLLM 0.14 op in AIConfigurator's CUDA-graph "
          "replay (the A100 SXM table)"),
)
A100_STREAM_PARAMS = (
    Param("aiconfigurator_a100_dram_efficiency", 0.85, 0.4, 1.0,
          "fraction of peak DRAM bandwidth",
          "harness: sustained share of the A100's datasheet bandwidth in a weight-streaming "
          "kernel on the board of AIConfigurator's A100 tables (fitted on its vLLM 0.14 rows)"),
)

SM90_PARAMS = (
    # Starts at 0.7: CUTLASS fp8 GEMMs reach 50-65 % of the fp8 peak where bf16 reaches 70-90 %
    # of its own (docs/gpu.md, fp8). From 0.8 the solver stops at the 1.0 bound, a worse
    # minimum of the same rows (soft-L1 cost 4.88 against 4.81).
    Param("fp8_mainloop_efficiency", 0.7, 0.3, 1.0,
          "fraction of gemm_efficiency x the fp8 tensor peak",
          "share of the tensor path's fp8 rate an fp8 GEMM mainloop sustains"),
    Param("sm90_fp8_tile_floor_cycles", 2000.0, 0.0, 2.0e4, "core-clock cycles per tile",
          "least time of each output tile after an SM's first in vLLM's CUTLASS fp8 GEMM on "
          "sm90 (one CTA per SM)"),
    Param("quant_cta_launch_cycles", 10.0, 0.1, 1000.0, "core-clock cycles per CTA",
          "serial start interval of a dynamic-quantisation kernel's one-per-token CTAs"),
    Param("aiconfigurator_v024_kernel_s", 3.0e-6, 1.0e-7, 2.0e-5,
          "s per kernel inside a CUDA graph",
          "harness: GPU time per kernel of a vLLM 0.24 op in AIConfigurator's CUDA-graph "
          "replay"),
    Param("aiconfigurator_v024_quant_kernel_s", 1.5e-6, 1.0e-7, 2.0e-5,
          "s per kernel inside a CUDA graph",
          "harness: GPU time per kernel of vLLM 0.24's fp8 quantisation kernels in "
          "AIConfigurator's CUDA-graph replay"),
)
SM100_PARAMS = (
    Param("aiconfigurator_v024_b200_kernel_s", 2.0e-6, 1.0e-7, 2.0e-5,
          "s per kernel inside a CUDA graph",
          "harness: GPU time per kernel of a vLLM 0.24 op in AIConfigurator's CUDA-graph "
          "replay on the B200"),
)
V024_PARAMS = SM90_PARAMS + SM100_PARAMS
TRTLLM_PARAMS = (
    Param("aiconfigurator_trtllm_kernel_s", 6.0e-6, 1.0e-7, 3.0e-5,
          "s per kernel inside a CUDA graph",
          "harness: GPU time per kernel of a TensorRT-LLM 1.0 weight-only plugin call in "
          "AIConfigurator's collector"),
)


def _read(name: str, ref_dir: Path | None) -> list[dict[str, str]]:
    return reference_rows(ref_dir or reference_dir("gpu"), name)


def simt_rows(ref_dir: Path | None = None) -> tuple[dict[str, object], ...]:
    """The SIMT fitting rows: one per CSV row, measured in seconds, with file and line."""
    return tuple({"preset": r["preset"], "measured": float(r["latency_us"]) * 1e-6,
                  "source": f"{SIMT_FILE}:{i + 2} ({r['source']})", "op": r["op"],
                  "batch": int(r["batch"]), "m": int(r["m"]), "n": int(r["n"]),
                  "k": int(r["k"]), "dtype": r["dtype"]}
                 for i, r in enumerate(_read(SIMT_FILE, ref_dir)))


def _linear_rows(name: str, ref_dir: Path | None) -> tuple[dict[str, object], ...]:
    """AIConfigurator's (m, k) x (k, n) linears of one fitting file, as the fits read them."""
    return tuple({"preset": r["preset"], "measured": float(r["latency_us"]) * 1e-6,
                  "source": f"{name}:{i + 2} ({r['source']})", "op": "gemm",
                  "batch": 1, "m": int(r["m"]), "n": int(r["n"]), "k": int(r["k"]),
                  "dtype": r["dtype"], "framework": r["framework"]}
                 for i, r in enumerate(_read(name, ref_dir)))


def tensor_rows(ref_dir: Path | None = None) -> tuple[dict[str, object], ...]:
    """The tensor-core fitting rows (AIConfigurator's (m, k) x (k, n) linears)."""
    return _linear_rows(TENSOR_FILE, ref_dir)


def a100_stream_rows(ref_dir: Path | None = None) -> tuple[dict[str, object], ...]:
    """The A100 board's weight-streaming fitting rows (the vLLM 0.14 table's bf16 linears at
    <= 16 FLOP/B and >= 0.2 ms, held-out shapes removed; ``make_hbm_stream_fit.py``)."""
    return _linear_rows(A100_STREAM_FILE, ref_dir)


def fp8_rows(ref_dir: Path | None = None) -> tuple[dict[str, object], ...]:
    """The fp8 fitting rows (AIConfigurator's vLLM fp8 linears), with every CSV column."""
    return tuple(dict(r) | {"measured": float(r["latency_us"]) * 1e-6,
                            "source": f"{FP8_FILE}:{i + 2} ({r['source']})"}
                 for i, r in enumerate(_read(FP8_FILE, ref_dir)))


def v024_rows(ref_dir: Path | None = None) -> tuple[dict[str, object], ...]:
    """Every vLLM 0.24 collector fitting row: the fp8 linears, then the H100/H200 and B200 bf16
    linears."""
    bf16 = tuple(dict(r) | {"measured": float(r["latency_us"]) * 1e-6,
                            "source": f"{name}:{i + 2} ({r['source']})"}
                 for name in (SM90_BF16_FILE, SM100_FILE)
                 for i, r in enumerate(_read(name, ref_dir)))
    return fp8_rows(ref_dir) + bf16


def w4a16_rows(ref_dir: Path | None = None) -> tuple[dict[str, object], ...]:
    """The W4A16 fitting rows (AIConfigurator's TensorRT-LLM 1.0 weight-only int4 plugin on the
    A100), with every CSV column."""
    return tuple(dict(r) | {"measured": float(r["latency_us"]) * 1e-6,
                            "source": f"{W4A16_FILE}:{i + 2} ({r['source']})"}
                 for i, r in enumerate(_read(W4A16_FILE, ref_dir)))


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


def _predict(base: GemmConstants, values: Mapping[str, float],
             row: Mapping[str, object]) -> float:
    consts = dataclasses.replace(base, **{k: float(v) for k, v in values.items()})
    with use_gemm_constants(consts):
        if row.get("op", "gemm") == "gemm":  # an AIConfigurator linear, as its collector times it
            return aic_gemm_s(row)
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


def a100_stream_problem(ref_dir: Path | None = None,
                        base: GemmConstants | None = None) -> FitProblem:
    """The collector's A100 board streaming share, on its weight-streaming rows (DRAM-bound:
    the kernel constants barely act on them)."""
    b = base or gemm_constants()
    return FitProblem(name="gpu_gemm_a100_stream", params=A100_STREAM_PARAMS,
                      rows=a100_stream_rows(ref_dir), predict=lambda v, r: _predict(b, v, r))


def _predict_v024(base: GemmConstants, values: Mapping[str, float],
                  row: Mapping[str, object]) -> float:
    if row["dtype"] != "fp8":  # a bf16 linear, replayed as the held-out rows of its collector
        return _predict(base, values, row)
    return _predict_quant(base, values, row)


def v024_depends(row: Mapping[str, object]) -> frozenset[str]:
    """The constants a vLLM 0.24 fitting row's prediction depends on: an fp8 linear on every
    sm90 one (its mainloop, tile floor, quantisation kernels and their times), a bf16 linear
    only on its GPU's per-kernel time (the B200's own, or the sm90 one)."""
    if row["dtype"] == "fp8":
        return frozenset(p.name for p in SM90_PARAMS)
    field = kernel_time_field(str(row["framework"]), str(row["preset"]))
    return frozenset({field} if field else ())


def v024_problem(ref_dir: Path | None = None, base: GemmConstants | None = None) -> FitProblem:
    """The vLLM 0.24 collector's constants' fit problem (the others held at ``base``'s)."""
    b = base or gemm_constants()
    return FitProblem(name="gpu_gemm_v024", params=V024_PARAMS, rows=v024_rows(ref_dir),
                      predict=lambda v, r: _predict_v024(b, v, r), depends=v024_depends)


def refit_v024(ref_dir: Path | None = None, base: GemmConstants | None = None) -> FitResult:
    """Fit the vLLM 0.24 collector's constants given the shipped (or ``base``) SIMT and tensor
    constants."""
    return fit(v024_problem(ref_dir, base))


def _predict_quant(base: GemmConstants, values: Mapping[str, float],
                   row: Mapping[str, object]) -> float:
    """A quantised linear (fp8, int4 weight-only) as its held-out rows are simulated."""
    consts = dataclasses.replace(base, **{k: float(v) for k, v in values.items()})
    with use_gemm_constants(consts):
        return quant_gemm_s(row, GRAPH_REPLAY)  # type: ignore[arg-type]


def trtllm_w4a16_problem(ref_dir: Path | None = None,
                         base: GemmConstants | None = None) -> FitProblem:
    """The TensorRT-LLM collector's per-kernel time, on its W4A16 fitting rows simulated as the
    held-out ones are (:func:`hwsim.validation.gpu_quant.quant_gemm_s`: the fpA_intB kernel)."""
    b = base or gemm_constants()
    return FitProblem(name="gpu_gemm_trtllm_w4a16", params=TRTLLM_PARAMS,
                      rows=w4a16_rows(ref_dir), predict=lambda v, r: _predict_quant(b, v, r))


def refit_trtllm_w4a16(ref_dir: Path | None = None,
                       base: GemmConstants | None = None) -> FitResult:
    """Fit the TensorRT-LLM collector's per-kernel time (the kernel constants as shipped)."""
    return fit(trtllm_w4a16_problem(ref_dir, base))


def refit(ref_dir: Path | None = None) -> tuple[FitResult, FitResult, FitResult]:
    """Fit the SIMT constants, then the A100 board's streaming share, then the sm80 fill and
    the vLLM 0.14 per-kernel time given them (deterministic)."""
    simt = fit(simt_problem(ref_dir))
    base = dataclasses.replace(gemm_constants(), **simt.values)
    stream = fit(a100_stream_problem(ref_dir, base))
    base = dataclasses.replace(base, **stream.values)
    return simt, stream, fit(tensor_problem(ref_dir, base))


HEADER = ("# GEMM kernel constants shared by every GPU (schema: hwsim/config/calibration.py,\n"
          "# GpuGemmCalibration). Written by hwsim.calibration.gpu_gemm.write_gemm_calibration;"
          "\n# read by hwsim/engine/gpu/tensor_gemm.py. Re-fit: hwsim.calibration.gpu_gemm.refit, "
          "refit_v024, refit_trtllm_w4a16."
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
    A100_STREAM_FILE: ("AIConfigurator bf16 vLLM 0.14.0 weight-streaming linears (<= 16 FLOP/B, "
                       ">= 0.2 ms) on the A100 SXM 80GB, disjoint from every held-out A100 row "
                       "(aiconfigurator-core 0.12.0)"),
    SM90_BF16_FILE: ("AIConfigurator bf16 vLLM 0.24.0 linears on the H100 SXM and H200 SXM, "
                     "disjoint from their held-out rows (aiconfigurator-core 0.12.0)"),
    SM100_FILE: ("AIConfigurator bf16 vLLM 0.24.0 linears on the B200 (the one sm100 GPU with "
                 "rows), disjoint from its held-out rows in aiconfigurator_gemm_new_presets.csv "
                 "(aiconfigurator-core 0.12.0)"),
    W4A16_FILE: ("AIConfigurator TensorRT-LLM 1.0.0 weight-only int4 plugin GEMMs on the A100 SXM "
                 "80GB, the fitting shapes of make_quant_gemm.py's hash split, disjoint from the "
                 "held-out aiconfigurator_w4a16_gemm.csv (aiconfigurator-core 0.12.0)"),
}


def _entry(p: Param, result: FitResult, files: tuple[str, ...], refit: str
           ) -> dict[str, object]:
    on = "; ".join(f"hwsim/data/reference/gpu/{f}: {FITTED_ON[f]}" for f in files)
    return {"value": float(f"{result.values[p.name]:.6g}"), "unit": p.unit, "status": "fitted",
            "source": (f"{p.description}; fitted by hwsim.calibration.gpu_gemm.{refit} (scipy "
                       f"least_squares on log(predicted/measured), soft_l1, bounds "
                       f"[{p.lower:g}, {p.upper:g}]); median |error| "
                       f"{result.median_abs_error:.3f} on its {result.rows} rows"),
            "fitted_on": f"{result.rows} rows of {on}"}


def write_gemm_calibration(path: str | Path, simt: FitResult | None, tensor: FitResult | None,
                           v024: FitResult | None, trtllm: FitResult | None = None,
                           base: GpuGemmCalibration = GEMM_CALIBRATION,
                           a100_stream: FitResult | None = None) -> GpuGemmCalibration:
    """Write the fits into the file the engine reads (each constant marked fitted, naming its
    rows; a fit given as None keeps ``base``'s entries); the schema refuses a fitted constant
    without them."""
    doc = base.model_dump(mode="json")
    for params, result, files, refit in (
            (SIMT_PARAMS, simt, (SIMT_FILE,), "refit"),
            (A100_STREAM_PARAMS, a100_stream, (A100_STREAM_FILE,), "refit"),
            (TENSOR_PARAMS, tensor, (TENSOR_FILE,), "refit"),
            (V024_PARAMS, v024, V024_FILES, "refit_v024"),
            (TRTLLM_PARAMS, trtllm, (W4A16_FILE,), "refit_trtllm_w4a16")):
        for p in params:
            if result is not None:
                doc[p.name] = _entry(p, result, files, refit)
    doc["description"] = ("GEMM kernel constants shared by every GPU: per-round pipeline fill "
                          "(SIMT, tensor cores), the SIMT and fp8 mainloop efficiencies, the "
                          "dynamic-quantisation CTA time, AIConfigurator's vLLM 0.14, vLLM 0.24 "
                          "and TensorRT-LLM 1.0 per-kernel times and its A100 board's "
                          "streaming share")
    checked = GpuGemmCalibration.model_validate(doc)
    text = yaml.safe_dump(checked.model_dump(mode="json"), sort_keys=False, width=100,
                          allow_unicode=True)
    Path(path).write_text(HEADER + text, encoding="utf-8")
    return checked
