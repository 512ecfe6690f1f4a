"""Held-out quantised GEMMs from NVIDIA AIConfigurator (``aiconfigurator_fp8_gemm.csv``,
``aiconfigurator_w4a16_gemm.csv``; split rule in ``make_quant_gemm.py``), each simulated as the
framework op it times:

- vLLM's FP8 linear (``Fp8LinearOp.apply``, vllm/model_executor/layers/quantization/utils/
  w8a8_utils.py) quantises its bf16 input with ``scaled_fp8_quant`` and then runs
  ``cutlass_scaled_mm``. ``Fp8Config`` defaults to ``activation_scheme="dynamic"``, so the
  quantisation is dynamic per-tensor: an abs-max kernel and a scale-and-cast kernel, one CTA per
  token each (a ``dynamic_quant`` op, :mod:`hwsim.engine.gpu.dynamic_quant`), then the fp8 GEMM.
  The first reading of the code took a static scale (one elementwise kernel); the fitting rows
  (``aiconfigurator_fp8_gemm_fit.csv``: 32768 x 32 x 64 takes 238 us, about 7 ns per token
  whatever N and K) showed the per-token cost of the dynamic path, and vLLM's default confirms it.
  The GEMM costs the vLLM 0.24 collector's per-kernel time and the two quantisation kernels
  the collector's time for them (:mod:`hwsim.validation.aiconfigurator`);
- TensorRT-LLM's weight-only int4 plugin takes fp16 activations and int4 weights: one ``int4``
  GEMM on its CUTLASS fpA_intB kernel (``int4_weight_only_kernel: fpa_intb``,
  :mod:`hwsim.engine.gpu.fpa_intb`), at the TensorRT-LLM collector's per-kernel time.
"""

from __future__ import annotations

from typing import Any

from hwsim.engine.simulate import simulate
from hwsim.validation.aiconfigurator import (
    KERNEL_TIME_OF,
    gemm_ops_per_replay,
    quant_kernel_s,
    timed_as,
    timed_s,
)
from hwsim.workload.model import Model
from hwsim.workload.ops import MatmulOp, VectorOp

# TensorRT-LLM's weight-only plugin runs its CUTLASS fpA_intB kernels, not Marlin.
TRTLLM_PLUGIN = {"int4_weight_only_kernel": "fpa_intb"}
FILES = {"aiconfigurator_fp8_gemm.csv": "fp8 gemm", "aiconfigurator_w4a16_gemm.csv": "w4a16 gemm"}
# A bf16 input element is two bytes: read as two fp8-sized inputs per fp8 output element.
BF16_INPUTS_PER_FP8_OUTPUT = 2.0


def vllm_fp8_linear(m: int, n: int, k: int) -> Model:
    """vLLM's per-tensor FP8 linear on an (m, k) bf16 input and a (k, n) fp8 weight, with the
    input's scale computed on the fly (``Fp8Config``'s default dynamic activation scheme)."""
    quant = VectorOp(name="scaled_fp8_quant", function="dynamic_quant", elements=m * k,
                     inputs_per_element=BF16_INPUTS_PER_FP8_OUTPUT, row_elements=k, dtype="fp8")
    gemm = MatmulOp(name="cutlass_scaled_mm", m=m, n=n, k=k, dtype="fp8")
    return Model(name="vllm fp8 linear", ops=(quant, gemm), origin="validation")


def quant_gemm_s(r: dict[str, str], harness: dict[str, Any] | None) -> float:
    """Seconds of one held-out quantised-GEMM row on its preset, timed as its collector timed
    it (a burst of replays where it was one: :func:`hwsim.validation.aiconfigurator.timed_s`)."""
    m, n, k = int(r["m"]), int(r["n"]), int(r["k"])
    preset, ops = r["preset"], gemm_ops_per_replay(r["framework"])
    if r["dtype"] == "fp8":
        model = vllm_fp8_linear(m, n, k)
        harness = timed_as(harness, r["framework"], preset)
        quant_s = quant_kernel_s(r["framework"])
        if harness is not None and harness.get("cuda_graphs") and quant_s is not None:
            # The quantisation kernels at the collector's time for them, the GEMM at its own.
            quant, mm = (Model(name=op.name, ops=(op,), origin="validation")
                         for op in model.ops)

            def run_split(h: dict[str, Any]) -> float:
                return (simulate(quant, preset, batch=1, chip_overrides=h
                                 | {"graph_kernel_overhead_s": quant_s}).total.latency_s
                        + simulate(mm, preset, batch=1, chip_overrides=h).total.latency_s)

            return timed_s(run_split, harness, ops)
    elif r["dtype"] == "int4":
        op = MatmulOp(name="weight_only_int4", m=m, n=n, k=k, dtype="int4")
        model = Model(name=op.name, ops=(op,), origin="validation")
        harness = timed_as(harness, r["framework"], preset)
        framework = r["framework"].strip().lower()
        if framework.startswith("trtllm"):
            # The plugin's tiles and the collector's per-kernel time go together: a TensorRT-LLM
            # table without a fitted per-kernel time would mix the plugin with another
            # harness's time, so it stops here instead.
            if framework not in KERNEL_TIME_OF:
                raise ValueError(
                    f"{r['source']}: framework {r['framework']!r} has no fitted per-kernel time "
                    f"(fitted: {sorted(KERNEL_TIME_OF)}); fit one for its collector as "
                    "aiconfigurator_trtllm_kernel_s was (hwsim/calibration/gpu_gemm.py)")
            harness = (harness or {}) | TRTLLM_PLUGIN
    else:
        raise ValueError(f"{r['source']}: quantised GEMM rows are fp8 or int4, got "
                         f"{r['dtype']!r}")

    def run(h: dict[str, Any]) -> float:
        return simulate(model, preset, batch=1, chip_overrides=h or None).total.latency_s

    return timed_s(run, harness, ops)
