"""Held-out quantised GEMMs from NVIDIA AIConfigurator (``aiconfigurator_fp8_gemm.csv``,
``aiconfigurator_w4a16_gemm.csv``; split rule in ``make_quant_gemm.py``), each simulated as the
framework op it times:

- vLLM's FP8 linear (``Fp8LinearOp.apply``, vllm/model_executor/layers/quantization/utils/
  w8a8_utils.py) quantises its bf16 input with ``scaled_fp8_quant`` (a static per-tensor scale:
  one elementwise kernel, bf16 in, fp8 out) and then runs ``cutlass_scaled_mm``: so an fp8 row is
  that quantise kernel plus an fp8 GEMM;
- TensorRT-LLM's weight-only int4 plugin takes fp16 activations and int4 weights: one ``int4``
  GEMM (hwsim's Marlin-style W4A16 kernel, :mod:`hwsim.engine.gpu.weight_only_int4`; TensorRT-LLM
  runs its own fpA_intB kernels, so this is a check of the mechanism, not of Marlin itself).

The harness was chosen from the frameworks' code before any row was simulated.
"""

from __future__ import annotations

from typing import Any

from hwsim.engine.simulate import simulate
from hwsim.workload.model import Model
from hwsim.workload.ops import MatmulOp, VectorOp

FILES = {"aiconfigurator_fp8_gemm.csv": "fp8 gemm", "aiconfigurator_w4a16_gemm.csv": "w4a16 gemm"}
# A bf16 input element is two bytes: read as two fp8-sized inputs per fp8 output element.
BF16_INPUTS_PER_FP8_OUTPUT = 2.0


def vllm_fp8_linear(m: int, n: int, k: int) -> Model:
    """vLLM's per-tensor FP8 linear on an (m, k) bf16 input and a (k, n) fp8 weight."""
    quant = VectorOp(name="scaled_fp8_quant", function="elementwise", elements=m * k,
                     inputs_per_element=BF16_INPUTS_PER_FP8_OUTPUT, dtype="fp8")
    gemm = MatmulOp(name="cutlass_scaled_mm", m=m, n=n, k=k, dtype="fp8")
    return Model(name="vllm fp8 linear", ops=(quant, gemm), origin="validation")


def quant_gemm_s(r: dict[str, str], harness: dict[str, Any] | None) -> float:
    """Seconds of one held-out quantised-GEMM row on its preset."""
    m, n, k = int(r["m"]), int(r["n"]), int(r["k"])
    if r["dtype"] == "fp8":
        model = vllm_fp8_linear(m, n, k)
    elif r["dtype"] == "int4":
        op = MatmulOp(name="weight_only_int4", m=m, n=n, k=k, dtype="int4")
        model = Model(name=op.name, ops=(op,), origin="validation")
    else:
        raise ValueError(f"{r['source']}: quantised GEMM rows are fp8 or int4, got "
                         f"{r['dtype']!r}")
    return simulate(model, r["preset"], batch=1, chip_overrides=harness).total.latency_s
