"""The CTA tiles a GEMM library launches, per math path, and what one candidate costs.

Two math paths: tensor-core GEMMs (16-bit and int8; CUTLASS/cuBLASLt SM80+ tiles, K blocks of
32) and SIMT sgemm for fp32 operands, which PyTorch runs on the FP32 pipes (cuBLAS
``*_sgemm_{128x128,128x64,...}`` kernels, K blocks of 8; TF32 is off by default since PyTorch
1.12, ``torch.backends.cuda.matmul.allow_tf32``). A candidate is (tile, split-K); its time is
the slowest of

- the SMs: every CTA's mainloop (padded to whole tiles and K blocks) at the path's sustained
  per-SM rate or its operands at the SM's L2 share, plus ``tile_fill_cycles`` per round of
  co-resident CTAs (the software pipeline fills and the epilogue drains once per round: CTAs
  resident together hide each other's fill);
- L2: every operand byte every CTA reads, plus split-K's fp32 partial sums;
- DRAM: each operand once when the smaller one stays in half the L2, else the operands of each
  wave's ~square block of output tiles per wave;

and the library's choice is the fastest candidate (a stand-in for cuBLAS's heuristic, which
weighs the same tile and wave quantisation, split-K and memory traffic).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from hwsim.config.chip import GpuChip

# CUTLASS/cuBLASLt SM80+ tensor-core CTA tiles (M x N) with 32-deep K blocks (CUTLASS's
# default_gemm_configuration for 16-bit SM80: ThreadblockShape 128x256x64 / 256x128x64 /
# 128x128x32 ..., cutlass/gemm/device/default_gemm_configuration.h; skinny tiles from
# cuBLASLt's 64x64 / 32x128 / 16x128 small-M kernels).
TENSOR_TILES: tuple[tuple[int, int], ...] = ((256, 128), (128, 256), (128, 128), (128, 64),
                                             (64, 128), (64, 64), (32, 128), (16, 128))
TENSOR_K_BLOCK = 32
# cuBLAS SIMT sgemm CTA tiles (kernel names in NeuSight's traces, e.g. ampere_sgemm_128x64_tn,
# volta_sgemm_32x128_nn, ampere_sgemm_32x32_sliced1x4_tn) with CUTLASS SIMT's 8-deep K blocks
# (cutlass/gemm/device/default_gemm_configuration.h, OpClassSimt: ThreadblockShape 128x128x8).
SIMT_TILES: tuple[tuple[int, int], ...] = ((128, 128), (128, 64), (64, 128), (128, 32),
                                           (32, 128), (64, 64), (64, 32), (32, 32))
SIMT_K_BLOCK = 8
# Threads per CTA: a SIMT thread holds an 8x8 accumulator block (CUTLASS SIMT sgemm's thread
# tile, 64 per thread; a 128x128 CTA = 256 threads), a tensor-core warp a 64x64 (or smaller)
# warp tile (CUTLASS SM80: 128x128 CTA = 4 warps), at least 2 warps either way [assumption].
SIMT_OUTPUTS_PER_THREAD = 64
TENSOR_OUTPUTS_PER_THREAD = 128
MIN_CTA_THREADS = 64
# A tile's fp32 accumulators may fill at most this share of the SM's register file: CUTLASS's
# largest SM80 tile (256x128, 256 threads) holds 128 fp32 accumulators per thread of the 255
# registers a thread can address, the rest holding A/B fragments and addresses.
ACCUMULATOR_REGISTER_SHARE = 0.5
ACCUMULATOR_BYTES = 4.0
# Co-resident CTAs per SM: the CUDA limit for compute capability 7.0-9.0 is 16-32 blocks per
# SM (CUDA C++ Programming Guide, technical specifications); 16 is the lowest (Turing/Ampere
# GA10x at 16).
MAX_CTAS_PER_SM = 16
# SIMT issue overhead: the non-FFMA instructions a SIMT sgemm mainloop issues per FFMA. Per
# 8-deep K step an 8x8 thread tile issues 64 FFMA and 4 LDS.128 (8 A and 8 B floats); per K
# block 2 LDG.128 and 2 STS.128 per thread, a barrier and ~4 address/loop instructions
# (~1.4 per K step): (4 + 1.4) / 64 = 0.084 [derived from CUTLASS's SIMT sgemm mainloop,
# cutlass/gemm/threadblock/mma_pipelined.h]. It costs time only where one warp instruction per
# clock per SM sub-partition cannot keep the FP32 lanes busy: 32 FP32 lanes per sub-partition
# (GA10x, Ada, Hopper) take a warp FFMA per clock; 16 lanes (Volta, Turing, GA100) take two
# clocks per warp FFMA, leaving every other issue slot for the loads.
SIMT_ISSUE_OVERHEAD = 0.084
SUB_PARTITIONS_PER_SM = 4
WARP = 32
# Split-K factors a library tries when the output tiles leave SMs idle (cuBLAS's grid-z splits
# in NeuSight's traces: 2, 3, 4, 5, ...), each slice at least 4 K blocks deep and at most two
# CTAs per SM in all [assumption: the bounds keep the search small; deeper splits only add
# partial-sum traffic].
SPLIT_K_FACTORS = (1, 2, 3, 4, 6, 8, 12, 16)
MIN_K_BLOCKS_PER_SLICE = 4


@dataclass(frozen=True)
class DispatchedTile:
    """A tile a library dispatches by shape, as hwsim's tile: rows of M, columns of N, K block
    depth."""

    rows: int
    cols: int
    k_block: int
    # The kernel's cluster (CTAs sharing operand tiles through TMA multicast) in tiles along M
    # and N: CUTLASS's sm90 tile schedulers launch whole clusters, so the tile grid rounds up to
    # them (PersistentTileSchedulerSm90Params::get_tiled_cta_shape_mnl, cutlass/gemm/kernel/
    # tile_scheduler_params.h) and a padded tile runs its mainloop on zero-filled operands.
    cluster_rows: int = 1
    cluster_cols: int = 1


@dataclass(frozen=True)
class MathPath:
    """How a dtype's GEMM runs: on which pipe, with which tiles, at what per-SM rate."""

    name: str  # "tensor" | "simt"
    tiles: tuple[tuple[int, int], ...]
    k_block: int
    outputs_per_thread: int
    flops_per_s_per_sm: float  # sustained mainloop rate of one SM
    fill_cycles: float  # per round of co-resident CTAs (gemm_constants)
    # sm80 tensor-core kernels store each C tile after the CTA's mainloop (CUTLASS 2.x
    # epilogue); SIMT sgemm's store is inside its fitted fill; sm90 kernels overlap it.
    serial_epilogue: bool = False
    # CTAs on adjacent SMs that share one MMA (Blackwell's 2-CTA tcgen05, cta_group::2): the
    # pair computes a (pair x tile rows) x (tile columns) output, each SM holding its own rows'
    # accumulators and loading its own A rows and 1/pair of the B tile; 1: each CTA alone.
    pair_ctas: int = 1
    # Stream-K (Osama et al., "Stream-K: Work-centric Parallel Decomposition for Dense Matrix-
    # Matrix Multiplication on the GPU", PPoPP 2023): a persistent grid of one CTA per SM
    # shares out every tile's K blocks evenly, so a partial last wave costs its share of work,
    # not a whole round; tiles split across SMs add an fp32 partial-tile fix-up.
    stream_k: bool = False
    # Split-K as two kernels, as cuBLAS runs it: every K slice writes its fp32 partial tile to a
    # workspace and a reduction kernel (cublasLt::splitKreduce_kernel) sums them into C, one
    # more kernel launch; False: the last slice reduces in-kernel (CUTLASS serial split-K).
    split_k_reduce_kernel: bool = False
    # Whether the library splits K at all (False: one CTA per output tile, whatever K).
    split_k: bool = True
    # A library that dispatches one tile by the GEMM's (M, N) instead of searching ``tiles``
    # (vLLM's CUTLASS fp8 GEMM on sm90: hwsim.engine.gpu.vllm_fp8_tiles); None: search.
    tile_dispatch: Callable[[int, int], DispatchedTile] | None = None
    # Whether a CTA's B conversions (weight-only dequantisation) and its MMAs run one after the
    # other (TensorRT-LLM's fpA_intB mainloop dequantises each warp's B fragments between its
    # MMAs: the times add) or overlap (Marlin, the W8A16 GEMM: the slower one bounds).
    convert_serial: bool = False
    # One CTA per SM walking its share of the output tiles in turn (a dispatched CUTLASS 3.x
    # kernel whose stages fill shared memory): every tile after an SM's first takes at least
    # ``tile_floor_cycles``, since no co-resident CTA's mainloop hides its epilogue and the next
    # tile's start; the first tile's are inside the per-kernel time.
    one_cta_per_sm: bool = False
    tile_floor_cycles: float = 0.0
    # Tiles per cluster along M and N (a dispatched tile's; 1 x 1: no rounding of the grid).
    cluster: tuple[int, int] = (1, 1)


def whole_clusters(tiles: int, cluster: int) -> int:
    """Tiles a grid launches along one dimension: ``tiles`` rounded up to whole clusters."""
    return math.ceil(tiles / cluster) * cluster


def simt_issue_efficiency(chip: GpuChip) -> float:
    """Share of the FP32 pipes' peak a SIMT sgemm can issue: 1 where a warp FFMA takes two
    clocks of its sub-partition's lanes, ``1 / (1 + overhead)`` where it takes one."""
    lanes = chip.cuda_flops_per_clk_per_sm / 2.0 / SUB_PARTITIONS_PER_SM
    pipe_clocks = WARP / lanes
    return min(1.0, pipe_clocks / (1.0 + SIMT_ISSUE_OVERHEAD))


def threads_per_cta(path: MathPath, tile: tuple[int, int]) -> int:
    """Threads of one CTA of ``tile`` on ``path``."""
    return max(MIN_CTA_THREADS, tile[0] * tile[1] // path.outputs_per_thread)


def resident_ctas(chip: GpuChip, path: MathPath, tile: tuple[int, int]) -> int:
    """CTAs of ``tile`` one SM holds at once: bounded by the accumulators' register share, the
    resident threads and the per-SM block limit (at least one)."""
    by_threads = chip.max_threads_per_sm // threads_per_cta(path, tile)
    by_regs = MAX_CTAS_PER_SM
    if chip.register_file_bytes_per_sm is not None:
        budget = chip.register_file_bytes_per_sm * ACCUMULATOR_REGISTER_SHARE
        by_regs = int(budget // (tile[0] * tile[1] * ACCUMULATOR_BYTES))
    return max(1, min(by_threads, by_regs, MAX_CTAS_PER_SM))


def feasible_tiles(chip: GpuChip, path: MathPath) -> tuple[tuple[int, int], ...]:
    """The path's tiles whose fp32 accumulators fit the register file's accumulator share (all
    when the register file is not given; the smallest when none fits)."""
    if chip.register_file_bytes_per_sm is None:
        return path.tiles
    budget = chip.register_file_bytes_per_sm * ACCUMULATOR_REGISTER_SHARE
    fit = tuple(t for t in path.tiles if t[0] * t[1] * ACCUMULATOR_BYTES <= budget)
    return fit or (min(path.tiles, key=lambda t: t[0] * t[1]),)


def split_factors(k: int, k_block: int, output_ctas: int, chip: GpuChip) -> tuple[int, ...]:
    """Split-K factors worth trying: none when the output tiles already cover the SMs."""
    if output_ctas >= chip.sms:
        return (1,)
    deepest = max(1, k // (k_block * MIN_K_BLOCKS_PER_SLICE))
    return tuple(s for s in SPLIT_K_FACTORS if s <= deepest and output_ctas * s <= 2 * chip.sms
                 ) or (1,)

