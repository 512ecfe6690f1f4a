"""Weight-only int4 GEMMs (W4A16) as TensorRT-LLM runs them: its CUTLASS ``fpA_intB`` kernels
(the ``WeightOnlyQuantMatmul`` plugin, per-channel fp16 scales), not Marlin
(:mod:`hwsim.engine.gpu.weight_only_int4`). Same tensor-core GEMM, three differences:

- the tiles: TensorRT-LLM's weight-only CTA shapes for sm75+ (``cutlass_heuristic.cpp``,
  ``get_candidate_tiles``, ``CutlassGemmType::WeightOnly``): 16x128, 16x256, 32x128, 64x128
  and 128x128, each 64 deep in K; the plugin's profiler keeps the fastest, as hwsim's search;
- no split-K: one CTA walks the whole K of its output tile. TensorRT-LLM lists serial split-K
  candidates, but its A100 rows do not show them: in the fitting rows a 512-column GEMM with
  K = 16384 (80 x 512 x 16384) takes 41.0 us, as long as a 128-column one with the same K
  (4 x 128 x 16384, 42.0 us), which four or fewer CTAs walking all of K give and any split
  would shorten (``aiconfigurator_w4a16_gemm_fit.csv``; on those rows the split search reads
  worse, docs/gpu.md "W4A16");
- the dequantisation is serial with the math: the DqMma mainloop converts each warp's B
  fragments to fp16 (the same LOP3/HFMA2 sequence as Marlin's, per-channel scale multiply
  included) between its MMAs, so per K block a CTA spends its MMA time plus its conversion
  time, where Marlin overlaps them.
"""

from __future__ import annotations

import dataclasses

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.cost import KernelCost
from hwsim.engine.gpu.gemm_tiles import MathPath
from hwsim.engine.gpu.tensor_gemm import tensor_gemm
from hwsim.engine.gpu.weight_only_int4 import (
    ACTIVATION_BYTES,
    MATH_DTYPE,
    WEIGHT_BITS,
    dequant_weights_per_s,
    with_dequant_work,
)
from hwsim.mapping.primitives import GemmWork

# TensorRT-LLM's weight-only tiles for sm75+ (M x N), K blocks of 64.
FPA_INTB_TILES: tuple[tuple[int, int], ...] = ((16, 128), (16, 256), (32, 128), (64, 128),
                                               (128, 128))
FPA_INTB_K_BLOCK = 64
# Per-channel scales: one fp16 per output column, negligible beside K int4 weights.
B_BYTES_SCALE = WEIGHT_BITS / (8 * ACTIVATION_BYTES)


def fpa_intb_path(path: MathPath) -> MathPath:
    """The chip's 16-bit tensor path as TensorRT-LLM's fpA_intB kernels run it."""
    return dataclasses.replace(path, tiles=FPA_INTB_TILES, k_block=FPA_INTB_K_BLOCK,
                               split_k=False, stream_k=False, pair_ctas=1,
                               split_k_reduce_kernel=False, tile_dispatch=None,
                               convert_serial=True)


def fpa_intb_gemm(w: GemmWork, chip: GpuChip, *, gather: bool = True) -> KernelCost:
    """``w`` (B the int4 weights) as one TensorRT-LLM fpA_intB W4A16 GEMM."""
    w16 = dataclasses.replace(w, dtype_bytes=ACTIVATION_BYTES)
    cost = tensor_gemm(w16, chip, MATH_DTYPE, gather=gather, b_bytes_scale=B_BYTES_SCALE,
                       b_converts_per_s=dequant_weights_per_s(chip), library=fpa_intb_path)
    return with_dequant_work(cost, w, "w4a16_fpa_intb")
