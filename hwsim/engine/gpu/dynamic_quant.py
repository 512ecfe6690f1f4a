"""Dynamic per-tensor activation quantisation as vLLM runs it before an fp8 GEMM.

vLLM's ``Fp8Config`` defaults to ``activation_scheme="dynamic"``
(vllm/model_executor/layers/quantization/fp8.py), so its fp8 linear calls ``scaled_fp8_quant``
without a scale, which runs ``dynamic_scaled_fp8_quant`` (csrc/quantization/fp8/common.cu): two
kernels, each launched with one CTA per token (``grid(num_tokens)``, ``block(1024)``):

1. ``segmented_max_reduction``: each CTA takes the abs-max of its share, reduces it through shared
   memory and ``atomicMax``-es it into the one global scale;
2. ``scaled_fp8_quant_kernel``: reads the input again, scales it and writes fp8.

A CTA of either kernel does a row's worth of work (``row_elements`` values over 1024 threads)
but holds its SM for a fixed time: launch, the first loads' latency, the barrier tree, the atomic,
retire (``quant_cta_fixed_s``, fitted on AIConfigurator's vLLM fp8 linears,
:mod:`hwsim.calibration.gpu_gemm`). ``max_threads_per_sm // 1024`` CTAs fit on an SM at once, so a
kernel over ``rows`` tokens takes ``ceil(rows / (SMs x resident))`` waves of that fixed time, or
its streaming time when that is longer. Many short rows therefore cost far more than their bytes:
the fitting rows show 32768 tokens of 64 values taking 238 us on the H100 where the bf16 GEMM
itself takes 4 us.
"""

from __future__ import annotations

import math

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.cost import KernelCost
from hwsim.engine.gpu.gemm_constants import gemm_constants
from hwsim.engine.gpu.rates import cuda_peak, dram_bw, kernel_overhead_s, l2_bw
from hwsim.mapping.primitives import VectorWork

__all__ = ["QUANT_CTA_THREADS", "dynamic_quant_cost"]

# vLLM csrc/quantization/fp8/common.cu, dynamic_scaled_fp8_quant: dim3 block(1024) for both
# kernels.
QUANT_CTA_THREADS = 1024
# The abs-max reduction reads the input; the quantise kernel reads it again and writes the output.
REDUCE_READS, QUANTISE_READS = 1.0, 1.0


def _kernel(chip: GpuChip, name: str, bytes_moved: float, flops: float, rows: int,
            waves: int, cta_s: float) -> KernelCost:
    return KernelCost(
        kernels=1, compute_s=max(waves * cta_s, flops / cuda_peak(chip)),
        l2_s=bytes_moved / l2_bw(chip), dram_s=bytes_moved / dram_bw(chip),
        launch_s=kernel_overhead_s(chip), cuda_flops=flops, l2_bytes=bytes_moved,
        dram_bytes=bytes_moved, unit="cuda",
        mapping={"kernel": name, "ctas": rows, "waves": waves})


def dynamic_quant_cost(w: VectorWork, chip: GpuChip, row_elements: int | None
                       ) -> list[KernelCost]:
    """The two kernels of a dynamic per-tensor quantisation of ``w`` (rows of
    ``row_elements``; unset: one row)."""
    rows = max(1, w.elements // row_elements) if row_elements else 1
    resident = max(1, chip.max_threads_per_sm // QUANT_CTA_THREADS)
    waves = math.ceil(rows / (chip.sms * resident))
    cta_s = gemm_constants().quant_cta_fixed_s
    reduce_bytes = REDUCE_READS * w.bytes_in
    quantise_bytes = QUANTISE_READS * w.bytes_in + w.bytes_out
    # abs and max per element, then scale, clamp and convert per element.
    return [_kernel(chip, "fp8_absmax", reduce_bytes, 2.0 * w.elements, rows, waves, cta_s),
            _kernel(chip, "fp8_quantise", quantise_bytes, w.elements * w.ops_per_element, rows,
                    waves, cta_s)]
