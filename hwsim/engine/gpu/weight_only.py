"""Weight-only int8 GEMMs (W8A16): int8 weights, 16-bit activations, every weight dequantised to
16 bits in the SM before its multiply-add (gpt-fast's ``WeightOnlyInt8Linear``; TensorRT-LLM's
weight-only plugin).

A framework has two kernels for it and runs the faster (TensorRT-LLM profiles both per batch
size): a GEMV on the CUDA cores (a multiply-add per weight and token on the FP32 lanes) and a
mixed-input tensor-core GEMM (CUTLASS's int8 x fp16 mainloop: the weight tile is converted in
shared memory, the math runs at the 16-bit tensor rate). Both read the int8 weights once per row
band and convert each weight they load, and the conversions share the SM's issue slots with the
loads, so both stream at ``dequant_gemv_efficiency`` of the bf16 rate (fitted on gpt-fast's
Llama-2-7B int8 decode). The faster of two costs that each grow with the token count grows
with it too, so latency is continuous and monotone in batch.
"""

from __future__ import annotations

import dataclasses
import math

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.cost import KernelCost
from hwsim.engine.gpu.rates import convert_rate, cuda_peak, tensor_16bit_dtype
from hwsim.engine.gpu.tensor_gemm import tensor_gemm
from hwsim.mapping.primitives import GemmWork

# One int8 -> float conversion per weight loaded (the per-channel scale is applied per output).
DEQUANT_CONVERSIONS_PER_WEIGHT = 1.0
# The activations and outputs stay 16-bit; the weights are half of that.
ACTIVATION_BYTES = 2
WEIGHT_BYTES_SCALE = 0.5


def weight_only_gemm(w: GemmWork, chip: GpuChip, *, gather: bool = True) -> KernelCost:
    """The faster of the CUDA-core GEMV and the mixed-input tensor-core GEMM for ``w`` (the
    GEMV on a tie: it is what frameworks launch for a single token)."""
    w16 = dataclasses.replace(w, dtype_bytes=ACTIVATION_BYTES)
    per_s = convert_rate(chip) / DEQUANT_CONVERSIONS_PER_WEIGHT
    # The tile choice sees the kernel's own streaming rate (dequant_gemv_efficiency), so a
    # split-K that only wins at the plain rate is not picked.
    # bf16 activations, fp16 on a part without bf16 tensor cores (which would run bf16 math
    # on its CUDA cores, rates.native_bf16).
    math_dtype = tensor_16bit_dtype(chip)
    mixed = tensor_gemm(w16, chip, math_dtype, gather=gather, b_bytes_scale=WEIGHT_BYTES_SCALE,
                        b_converts_per_s=per_s, dram_rate_scale=chip.dequant_gemv_efficiency)
    conversions = _weights_loaded(w, mixed) * DEQUANT_CONVERSIONS_PER_WEIGHT
    tensor = dataclasses.replace(mixed, cuda_flops=conversions,
                                 mapping=mixed.mapping | {"kernel": "w8a16_gemm"},
                                 math_dtype=math_dtype)
    # The GEMV converts each weight once and keeps the tokens' rows in registers.
    weights = _weights_loaded(w, mixed, row_bands=1)
    fmas = mixed.tensor_flops
    conversions_gemv = weights * DEQUANT_CONVERSIONS_PER_WEIGHT
    gemv = dataclasses.replace(
        mixed, compute_s=max(conversions_gemv / convert_rate(chip),
                             (conversions_gemv + fmas) / cuda_peak(chip)),
        tensor_flops=0.0, cuda_flops=conversions_gemv + fmas, unit="cuda",
        mapping=mixed.mapping | {"kernel": "dequant_gemv"})
    return gemv if gemv.time_s <= tensor.time_s else tensor


def _weights_loaded(w: GemmWork, cost: KernelCost, row_bands: int | None = None) -> float:
    """Weights a kernel loads and converts: B's kept elements once per row band of ``cost``'s
    tiles (or of ``row_bands``)."""
    if row_bands is None:
        tile = cost.mapping.get("tile", [w.m, w.n])
        assert isinstance(tile, list)
        row_bands = math.ceil(w.m / tile[0])
    # B's bytes read per dense 16-bit B byte, over the int8 scale: the kept weights' share.
    b_fraction = cost.mapping.get("b_fraction", WEIGHT_BYTES_SCALE)
    assert isinstance(b_fraction, float)
    kept = b_fraction / WEIGHT_BYTES_SCALE
    count = w.count if not w.b_shared else math.ceil(w.count)
    return w.k * w.n * kept * row_bands * count
