"""Analytic GPU kernel costs: GEMMs as CTA tiles in waves (:mod:`hwsim.engine.gpu.tensor_gemm`,
weight-only int8 and int4 in :mod:`hwsim.engine.gpu.weight_only` and ``weight_only_int4``),
FlashAttention-style attention, bandwidth-bound vector kernels. Times in seconds, traffic in
bytes per memory level.

A kernel's time is ``launch + max(compute, L2 traffic / L2 bandwidth, DRAM traffic / sustained
DRAM bandwidth)``: tensor-core math, on-chip operand movement and DRAM streaming overlap (they do
in cuBLAS/CUTLASS software pipelines), the slowest one sets the time.
"""

from __future__ import annotations

import math

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.cost import KernelCost
from hwsim.engine.gpu.fpa_intb import fpa_intb_gemm
from hwsim.engine.gpu.rates import cuda_peak, dram_bw, kernel_overhead_s, l2_bw, tensor_peak
from hwsim.engine.gpu.softmax import softmax_input_passes
from hwsim.engine.gpu.tensor_gemm import FLASH_Q_BLOCK, tensor_gemm
from hwsim.engine.gpu.weight_only import weight_only_gemm
from hwsim.engine.gpu.weight_only_int4 import marlin_gemm
from hwsim.mapping.primitives import GemmWork, VectorWork
from hwsim.workload.attention import AttentionShape

# Key tile of the FlashAttention-2 forward kernel for head dims 64-128 on sm80/sm90: 64 keys
# (kBlockN of Flash_fwd_kernel_traits in run_mha_fwd_hdim128, flash-attention
# csrc/flash_attn/src/flash_fwd_launch_template.h; some head dims use 128). A causal or windowed
# mask skips key tiles with no visible key; partially masked tiles are computed in full.
FLASH_KV_BLOCK = 64

__all__ = ["KernelCost", "attention_cost", "cuda_peak", "dram_bw", "gemm_cost",
           "kernel_overhead_s", "l2_bw", "softmax_cost", "tensor_peak",
           "vector_cost"]


def gemm_cost(w: GemmWork, chip: GpuChip, dtype: str, *, gather: bool = True) -> KernelCost:
    """A (grouped/batched) GEMM as the framework runs it: int8 weights on a chip with
    ``int8_weight_only`` take the faster weight-only (W8A16) kernel
    (:mod:`hwsim.engine.gpu.weight_only`), int4 weights the W4A16 kernel the chip's
    ``int4_weight_only_kernel`` names (Marlin, :mod:`hwsim.engine.gpu.weight_only_int4`, or
    TensorRT-LLM's fpA_intB, :mod:`hwsim.engine.gpu.fpa_intb`); everything else runs on the
    tensor cores."""
    if dtype == "int8" and w.b_is_weight and chip.int8_weight_only:
        return weight_only_gemm(w, chip, gather=gather)
    if dtype == "int4" and w.b_is_weight:
        if chip.int4_weight_only_kernel == "fpa_intb":
            return fpa_intb_gemm(w, chip, gather=gather)
        return marlin_gemm(w, chip, gather=gather)
    return tensor_gemm(w, chip, dtype, gather=gather)


def attention_cost(qk: GemmWork, softmax: VectorWork, pv: GemmWork, chip: GpuChip,
                   dtype: str, softmax_ops: float,
                   shape: AttentionShape | None = None) -> KernelCost:
    """One fused FlashAttention kernel: Q, K, V read and O written once from DRAM per head-block
    (K/V re-reads per query block come from L2); the score tile lives in SMEM/registers, so the
    softmax costs CUDA-core math, not traffic. Decode (one query) is a KV-cache read.

    ``qk``/``pv`` are per K/V head (GQA query heads packed as rows, see
    :func:`hwsim.mapping.primitives.lower`), so K and V are read once per K/V head. ``shape``
    (the op's mask) adds FlashAttention's tile skipping: a query block reads and computes only
    the key tiles holding a key it may see; masked keys on partial tiles are still computed."""
    s_qk = gemm_cost(qk, chip, dtype)
    s_pv = gemm_cost(pv, chip, dtype)
    b = qk.dtype_bytes
    q_blocks = math.ceil(qk.m / FLASH_Q_BLOCK)
    computed, reread, touched = 1.0, 1.0, 1.0
    if shape is not None and (shape.causal or shape.window is not None):
        blocks, span_keys, span_pairs = shape.block_spans(FLASH_Q_BLOCK, FLASH_KV_BLOCK)
        keys = shape.keys_per_query
        computed = span_pairs / (shape.group * shape.visible_pairs)  # >= 1: partial tiles
        reread = span_keys / (blocks * keys)  # keys one block reads / mean keys per query
        touched = shape.keys_touched / keys  # distinct keys / mean keys per query
    q_bytes = qk.m * qk.k * qk.count * b
    kv_frac = float(s_qk.mapping["b_fraction"]) if "union_density" in s_qk.mapping else 1.0
    k_bytes = qk.k * qk.n * qk.count * b * kv_frac
    v_bytes = pv.k * pv.n * pv.count * b * kv_frac
    o_bytes = pv.m * pv.n * pv.count * b
    dram = q_bytes + (k_bytes + v_bytes) * touched + o_bytes
    l2 = q_bytes + (k_bytes + v_bytes) * reread * q_blocks + o_bytes
    tiles = q_blocks * math.ceil(qk.count)
    waves = math.ceil(tiles / chip.sms)
    wave_eff = tiles / (waves * chip.sms)
    flops = (s_qk.tensor_flops + s_pv.tensor_flops) * computed
    sm_flops = flops / (tensor_peak(chip, dtype) * chip.gemm_efficiency * wave_eff)
    vec_flops = softmax.elements * softmax_ops * computed
    compute = sm_flops + vec_flops / (cuda_peak(chip) * wave_eff)
    return KernelCost(
        kernels=1, compute_s=compute, l2_s=l2 / l2_bw(chip), dram_s=dram / dram_bw(chip),
        launch_s=kernel_overhead_s(chip), tensor_flops=flops, cuda_flops=vec_flops,
        smem_bytes=l2 + 2.0 * softmax.elements * b, l2_bytes=l2, dram_bytes=dram,
        wave_efficiency=wave_eff,
        mapping={"kernel": "flash_attention", "q_blocks": q_blocks, "waves": waves}
        | {k: v for k, v in s_qk.mapping.items() if k in ("density", "union_density")})


def vector_cost(w: VectorWork, chip: GpuChip, input_passes: float = 1.0) -> KernelCost:
    """An elementwise / reduction kernel: bandwidth-bound at the sustained DRAM rate, math on
    CUDA cores. ``input_passes`` counts how often the kernel reads its input (3 for PyTorch's
    softmax: max, sum of exponentials, then normalise - aten/src/ATen/native/cuda/SoftMax.cu).

    No L2-speed discount: LLMCompass's A100 softmax/GELU latencies show working sets of 8-33 MB
    (which fit in the 40 MB L2) running at DRAM rather than L2 speed; such short kernels are
    bound by memory latency and tail effects, which the sustained DRAM rate stands in for."""
    traffic = float(w.bytes_in * input_passes + w.bytes_out)
    flops = w.elements * w.ops_per_element
    return KernelCost(
        kernels=1, compute_s=flops / cuda_peak(chip), l2_s=traffic / l2_bw(chip),
        dram_s=traffic / dram_bw(chip), launch_s=kernel_overhead_s(chip), cuda_flops=flops,
        l2_bytes=traffic, dram_bytes=traffic, unit="cuda",
        mapping={"kernel": "elementwise", "input_passes": input_passes})


def softmax_cost(w: VectorWork, chip: GpuChip, row_elements: int | None,
                 dtype_bytes: int) -> KernelCost:
    """PyTorch's standalone softmax (aten SoftMax.cu): one DRAM read of rows that stay on chip,
    three otherwise (:func:`hwsim.engine.gpu.softmax.softmax_input_passes`)."""
    passes = softmax_input_passes(row_elements, dtype_bytes, chip.softmax_smem)
    cost = vector_cost(w, chip, passes)
    cost.mapping = {"kernel": "softmax", "input_passes": passes}
    return cost
