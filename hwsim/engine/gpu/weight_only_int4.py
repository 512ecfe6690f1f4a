"""Weight-only int4 GEMMs (W4A16) as Marlin runs them: 4-bit weights with one fp16 scale per group
of ``GROUP_SIZE`` weights along K, 16-bit activations and outputs, the math on the 16-bit tensor
cores at every batch size (Frantar et al., "MARLIN: Mixed-Precision Auto-Regressive Parallel
Inference on Large Language Models", 2024; vLLM runs GPTQ and AWQ checkpoints with it on sm80+).

Marlin pads the tokens to 16-row MMA tiles, so one kernel serves batch 1 to large batches: the
GEMM is a tensor-core GEMM (:func:`hwsim.engine.gpu.tensor_gemm.tensor_gemm`) whose B operand is
read at a quarter of its 16-bit bytes plus the group scales, and whose CTAs dequantise every
weight they load. Its time is the slowest of weight streaming (small batches), dequantisation
and tensor math (large batches), each growing with the token count, so latency is continuous and
monotone in batch (no GEMV/GEMM switch, unlike the W8A16 kernels of
:mod:`hwsim.engine.gpu.weight_only`).
"""

from __future__ import annotations

import dataclasses
import math

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.cost import KernelCost
from hwsim.engine.gpu.rates import per_chip
from hwsim.engine.gpu.tensor_gemm import tensor_gemm
from hwsim.mapping.primitives import GemmWork

# GPTQ and AWQ quantise with one scale per 128 weights along K (AutoGPTQ/AutoAWQ default
# group_size / q_group_size 128); the scale is fp16.
GROUP_SIZE = 128
SCALE_BYTES = 2
WEIGHT_BITS = 4
ACTIVATION_BYTES = 2
# B's bytes per 16-bit weight byte: 4-bit weights plus one 2-byte scale per group.
B_BYTES_SCALE = WEIGHT_BITS / (8 * ACTIVATION_BYTES) + SCALE_BYTES / (GROUP_SIZE * ACTIVATION_BYTES)
MATH_DTYPE = "fp16"
# Marlin's dequantisation of one 32-bit word (8 weights), marlin_cuda_kernel.cu ``dequant`` and
# ``scale``: per 4 weights two LOP3 (splice the nibbles into fp16 exponents) plus one HSUB2 and
# one HFMA2 (remove the bias) = 8, one shift to the second half = 1, and one HMUL2 per 2 weights
# for the group scale = 4: no int-to-float conversion instruction.
DEQUANT_INSTRUCTIONS_PER_WORD = 13
WEIGHTS_PER_WORD = 8
# Each SM has four partitions whose warp schedulers each issue one 32-thread instruction per
# clock (NVIDIA A100 and H100 whitepapers; Turing, Volta and Ada SMs likewise have four).
ISSUE_THREAD_INSTRUCTIONS_PER_CLK_PER_SM = 4 * 32


def dequant_weights_per_s(chip: GpuChip) -> float:
    """int4 weights the whole chip dequantises per second when the SMs do nothing else."""
    per_clk = (ISSUE_THREAD_INSTRUCTIONS_PER_CLK_PER_SM * WEIGHTS_PER_WORD
               / DEQUANT_INSTRUCTIONS_PER_WORD)
    return per_chip(chip, per_clk)


def marlin_gemm(w: GemmWork, chip: GpuChip, *, gather: bool = True) -> KernelCost:
    """``w`` (B the int4 weights) as one Marlin-style W4A16 tensor-core GEMM."""
    w16 = dataclasses.replace(w, dtype_bytes=ACTIVATION_BYTES)
    cost = tensor_gemm(w16, chip, MATH_DTYPE, gather=gather, b_bytes_scale=B_BYTES_SCALE,
                       b_converts_per_s=dequant_weights_per_s(chip))
    return with_dequant_work(cost, w, "w4a16_marlin")


def with_dequant_work(cost: KernelCost, w: GemmWork, kernel: str) -> KernelCost:
    """``cost`` with its dequantisation instructions counted as CUDA-core work (their energy)
    and the kernel named: each CTA dequantises the weights of its K slice once per row band of
    output tiles."""
    tile = cost.mapping.get("tile", [w.m, w.n])
    assert isinstance(tile, list)
    row_bands = math.ceil(w.m / tile[0])
    weights = w.k * w.n * row_bands * (math.ceil(w.count) if w.b_shared else w.count)
    instructions = weights * DEQUANT_INSTRUCTIONS_PER_WORD / WEIGHTS_PER_WORD
    return dataclasses.replace(cost, cuda_flops=cost.cuda_flops + instructions,
                               mapping=cost.mapping | {"kernel": kernel},
                               math_dtype=MATH_DTYPE)
