"""Dynamic per-tensor activation quantisation as vLLM runs it before an fp8 GEMM.

vLLM's ``Fp8Config`` defaults to ``activation_scheme="dynamic"``
(vllm/model_executor/layers/quantization/fp8.py), so its fp8 linear calls ``scaled_fp8_quant``
without a scale, which runs ``dynamic_scaled_fp8_quant`` (csrc/quantization/fp8/common.cu): two
kernels, each launched with one CTA per token (``grid(num_tokens)``, ``block(1024)``):

1. ``segmented_max_reduction``: each CTA takes the abs-max of its share, reduces it through shared
   memory and ``atomicMax``-es it into the one global scale;
2. ``scaled_fp8_quant_kernel``: reads the input again, scales it and writes fp8.

A CTA of either kernel does a row's worth of work (``row_elements`` values over 1024 threads), so
with many short rows the kernel is bound by how fast the GPU can start CTAs, one after another,
not by its SMs or its bytes: ``rows x quant_cta_launch_cycles`` cycles of the chip clock
(fitted on AIConfigurator's vLLM fp8 linears, :mod:`hwsim.calibration.gpu_gemm`), or the
streaming time when that is longer. The fitting rows show 32768 tokens of 64 values taking
238 us on the H100, where the bf16 GEMM itself takes 4 us.

Why a serial launch rate and not waves of resident CTAs: the two fitting GPUs (H100, H200) have
the same SMs and residency, so both forms fit them alike. AIConfigurator's L40S table (no hwsim
preset; four fitting-split shapes in ``aiconfigurator_fp8_quant_probe_fit.csv``) tells them
apart: 5.7 ns per token against the H100's 7.3 ns, the ratio of their clocks (2.52 / 1.83 GHz)
within 6 %, where waves of 1024-thread CTAs (one per Ada SM of 1536 threads, two per Hopper SM)
predict ~13 ns. Which serial resource it is (the grid's
CTA dispatch, or the abs-max CTAs' atomics on one address) the data cannot say; both kernels are
charged alike.
"""

from __future__ import annotations

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.cost import KernelCost
from hwsim.engine.gpu.gemm_constants import gemm_constants
from hwsim.engine.gpu.kernels import vector_cost
from hwsim.mapping.primitives import VectorWork

__all__ = ["QUANT_CTA_THREADS", "dynamic_quant_cost"]

# vLLM csrc/quantization/fp8/common.cu, dynamic_scaled_fp8_quant: dim3 block(1024) for both
# kernels (recorded in each kernel's mapping; the launch-rate bound does not depend on it).
QUANT_CTA_THREADS = 1024
# The abs-max kernel does an abs and a max per element.
ABSMAX_OPS_PER_ELEMENT = 2.0


def _launch_bound(cost: KernelCost, name: str, rows: int, launch_s: float) -> KernelCost:
    """``cost`` (the kernel as a streaming vector kernel) held to its CTAs' serial starts."""
    cost.compute_s = max(cost.compute_s, launch_s)
    cost.mapping = {"kernel": name, "ctas": rows, "cta_threads": QUANT_CTA_THREADS,
                    "cta_launch_s": launch_s}
    return cost


def dynamic_quant_cost(w: VectorWork, chip: GpuChip, row_elements: int | None
                       ) -> list[KernelCost]:
    """The two kernels of a dynamic per-tensor quantisation of ``w`` (rows of
    ``row_elements``; unset: one row)."""
    rows = max(1, w.elements // row_elements) if row_elements else 1
    # The CTAs start one after another at the core clock (a throttled clock stretches them).
    launch_s = rows * gemm_constants().quant_cta_launch_cycles / chip.clock_hz
    # The abs-max reads the input and writes one scale; the quantise kernel reads it again,
    # scales, clamps and converts it, and writes the output.
    absmax = vector_cost(VectorWork(w.elements, ABSMAX_OPS_PER_ELEMENT, w.bytes_in, 0), chip)
    return [_launch_bound(absmax, "fp8_absmax", rows, launch_s),
            _launch_bound(vector_cost(w, chip), "fp8_quantise", rows, launch_s)]
