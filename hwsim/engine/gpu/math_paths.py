"""Which math path a GEMM's dtype runs on, per GPU kernel family: SIMT sgemm on the FP32 pipes
or tensor cores, with the family's tiles, pipeline fill, epilogue, 2-CTA pairs, stream-K and
split-K as the libraries run them (the choices and the fitting rows that chose them are in
:func:`math_path`'s comments)."""

from __future__ import annotations

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.gemm_constants import gemm_constants
from hwsim.engine.gpu.gemm_tiles import (
    SIMT_K_BLOCK,
    SIMT_OUTPUTS_PER_THREAD,
    SIMT_TILES,
    TENSOR_K_BLOCK,
    TENSOR_OUTPUTS_PER_THREAD,
    TENSOR_TILES,
    MathPath,
    simt_issue_efficiency,
)
from hwsim.engine.gpu.rates import cuda_peak, native_bf16
from hwsim.engine.gpu.vllm_fp8_tiles import vllm_sm90_fp8_tile


def math_path(chip: GpuChip, dtype: str, peak: float, *, sparse_tensor: bool = False
              ) -> MathPath:
    """fp32 without an fp32 tensor rate runs as SIMT sgemm on the FP32 pipes (unless its 2:4
    weights run on the sparse tensor cores, ``sparse_tensor``), and so does bf16 on a part
    without bf16 tensor cores (:func:`~hwsim.engine.gpu.rates.native_bf16`: Volta, Turing;
    2-byte operands, fp32 FMAs; the conversions on load are not priced);
    every other dtype on the tensor cores at ``gemm_efficiency`` of ``peak`` (the dtype's, or
    its 2:4 rate), fp8 at a further ``fp8_mainloop_efficiency``."""
    fp32_simt = dtype == "fp32" and "fp32" not in chip.tensor_flops_per_clk_per_sm
    # bf16 without bf16 tensor cores has no sparse tensor mode to run its 2:4 weights on either.
    bf16_simt = dtype == "bf16" and not native_bf16(chip)
    if (fp32_simt and not sparse_tensor) or bf16_simt:
        rate = (cuda_peak(chip) * simt_issue_efficiency(chip)
                * gemm_constants().simt_mainloop_efficiency)
        return MathPath("simt", SIMT_TILES, SIMT_K_BLOCK, SIMT_OUTPUTS_PER_THREAD,
                        rate / chip.sms, gemm_constants().simt_tile_fill_cycles)
    # fp8 mainloops sustain less of their (doubled) peak than 16-bit ones (fitted on
    # AIConfigurator's vLLM fp8 linears, configs/calibration/gpu_gemm.yaml).
    k = gemm_constants()
    fp8 = k.fp8_mainloop_efficiency if dtype == "fp8" else 1.0
    tma = chip.gemm_kernels in ("sm90", "sm100")
    sm100 = chip.gemm_kernels == "sm100"
    # Each kernel family fills its own pipeline: cp.async multistage (sm80, fitted on A100
    # rows) or TMA-fed warp-specialised (sm90 and sm100: 0 cycles per round, the H100/H200/B200
    # fitting rows put both at their 0 bound once the vLLM 0.24 collector's per-kernel times
    # were its own; configs/calibration/gpu_gemm.yaml). sm100 adds the 2-CTA pair (NVIDIA tilus
    # "Matmul on Blackwell" tutorial, 6. 2-CTA Cluster: two CTAs on adjacent SMs compute one
    # 256 x 256 tile, each loading half of the input data; CUTLASS blackwell docs, 2SM MMA)
    # and stream-K, chosen on the B200 fitting rows (aiconfigurator_b200_gemm_fit.csv: 22.9 ->
    # 19.4 % median); on sm90 it made the H100/H200 fp8 fitting rows worse (10.1 -> 11.8 %).
    # sm100 runs split-K as the GEMM plus cuBLAS's splitKreduce_kernel (both appear in public
    # nsys traces of cuBLAS nvjet splitK GEMMs on Hopper and Blackwell), chosen on the B200
    # fitting rows (17.3 -> 10.9 % with the fill refitted; in the vLLM 0.24 collector's joint
    # fit, refit_v024, its 200 rows 10.9 % without, 9.7 % with). sm90 too since edge tiles (a
    # CTA's L2 port time counts only rows and columns inside the matrix): the collector's joint
    # fit 8.5 % without it on sm90, 8.0 % with (before edge tiles the sm90 rows rejected it,
    # 9.7 -> 10.4 %). sm80 too since the A100's fitting rows hold kernels of a few us (200 rows
    # of the vLLM 0.14 table, aiconfigurator_gemm_fit.csv): with the collector's own per-kernel
    # time and board streaming refitted, see docs/gpu.md "The A100 collector". Its first 60 rows,
    # almost none under 5 us, had rejected it (8.9 -> 14.2 %) while the per-kernel time was the
    # gpt-fast-fitted 6.73 us.
    # fp8 on sm90 runs vLLM's CUTLASS scaled_mm, which picks its tile from a fixed table by M
    # and N and never splits K (vllm_fp8_tiles); chosen in the same joint fit (9.80 -> 9.72 %
    # over the tile search). Its kernels size their stages to fill shared memory
    # (StageCountAutoCarveout), so one CTA per SM walks its tiles in turn, each at least
    # sm90_fp8_tile_floor_cycles: on the fp8 tables' fitting side, GEMMs of a few K blocks per
    # tile and many tiles per SM take ~2 us per tile on the H100 and the H200 alike, whatever
    # the tile's bytes (docs/gpu.md, "fp8 outputs and tiles").
    dispatched = dtype == "fp8" and chip.gemm_kernels == "sm90" and not sparse_tensor
    return MathPath("tensor", TENSOR_TILES, TENSOR_K_BLOCK, TENSOR_OUTPUTS_PER_THREAD,
                    peak * chip.gemm_efficiency * fp8 / chip.sms,
                    (k.sm100_tile_fill_cycles if sm100 else k.sm90_tile_fill_cycles) if tma
                    else k.tensor_tile_fill_cycles,
                    serial_epilogue=not tma,
                    pair_ctas=2 if sm100 else 1, stream_k=sm100,
                    split_k_reduce_kernel=True,
                    tile_dispatch=vllm_sm90_fp8_tile if dispatched else None,
                    one_cta_per_sm=dispatched,
                    tile_floor_cycles=k.sm90_fp8_tile_floor_cycles if dispatched else 0.0)
