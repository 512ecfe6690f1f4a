"""Tensor-core GEMMs: CTA tiles (bounded by the register file) in waves over the SMs, split-K
for skinny GEMMs, operand reuse through L2, 2:4 sparse tensor cores and gather-GEMMs."""

from __future__ import annotations

import math

from hwsim.config.chip import GpuChip
from hwsim.config.sparsity import NmSpec
from hwsim.engine.accelerator.sparse_effects import activation_density
from hwsim.engine.gpu.cost import KernelCost
from hwsim.engine.gpu.rates import (
    dram_bw,
    kernel_overhead_s,
    l2_bw,
    l2_bw_per_busy_sm,
    tensor_peak,
)
from hwsim.mapping.primitives import GemmWork

# CTA tile shapes (rows of A x columns of B) a cuBLAS/CUTLASS heuristic picks among for SM80+
# tensor-core GEMMs: 256x128 and 128x128 for large problems, narrower tiles for skinny ones.
TILES: tuple[tuple[int, int], ...] = ((256, 128), (128, 256), (128, 128), (128, 64), (64, 128),
                                      (64, 64), (32, 128), (16, 128))
# A tile's fp32 accumulators may fill at most this share of the SM's register file: CUTLASS's
# largest SM80 tile (256x128, 256 threads) holds 128 fp32 accumulators per thread of the 255
# registers a thread can address, the rest holding A/B fragments and addresses.
ACCUMULATOR_REGISTER_SHARE = 0.5
ACCUMULATOR_BYTES = 4.0
# FlashAttention-2 processes 128 queries per CTA (Dao, "FlashAttention-2", 2023, Sec. 3.3).
FLASH_Q_BLOCK = 128


def burst_factor(chip: GpuChip, row_bytes: float) -> float:
    """Bytes moved per byte wanted when reading rows of ``row_bytes``: DRAM moves whole bursts
    (``offchip.burst_bytes``)."""
    burst = chip.offchip.burst_bytes
    return math.ceil(row_bytes / burst) * burst / row_bytes


def feasible_tiles(chip: GpuChip) -> tuple[tuple[int, int], ...]:
    """The tiles whose fp32 accumulators fit the register file's accumulator share (all tiles
    when the register file is not given; the smallest tile when none fits)."""
    if chip.register_file_bytes_per_sm is None:
        return TILES
    budget = chip.register_file_bytes_per_sm * ACCUMULATOR_REGISTER_SHARE
    fit = tuple(t for t in TILES if t[0] * t[1] * ACCUMULATOR_BYTES <= budget)
    return fit or (min(TILES, key=lambda t: t[0] * t[1]),)


def tensor_gemm(w: GemmWork, chip: GpuChip, dtype: str, *, gather: bool = True,
                b_bytes_scale: float = 1.0, b_converts_per_s: float = 0.0) -> KernelCost:
    """A (grouped/batched) GEMM on tensor cores with its sparsity as the chip can exploit it.
    ``b_bytes_scale`` shrinks B's bytes (int8 weights beside 16-bit activations: 0.5); with
    ``b_converts_per_s`` every CTA converts each B element it loads on the SM's CUDA cores
    (its share of that rate), which competes with the tile's math and operand traffic.

    Tiles: among the tiles whose accumulators fit the register file, the one with the least
    estimated time (a cuBLAS heuristic stand-in); waves = ceil(tiles / SMs). Per tile, the math
    runs at ``gemm_efficiency`` x the per-SM peak, and its operands stream from L2 at the per-SM
    share of L2 bandwidth. DRAM: each operand once when the smaller one stays resident in half
    the L2, else the smaller is re-read per L2-sized chunk of the larger (row-band
    rasterisation). A gather-GEMM reads the active rows of each tile's B slice in whole DRAM
    bursts."""
    b = w.dtype_bytes
    m, n, k = w.m, w.n, w.k
    b_base = b_bytes_scale  # fraction of B's bytes read before gather
    gather_u: float | None = None
    flop_frac = 1.0
    peak = tensor_peak(chip, dtype)
    slowdown = 1.0
    info: dict[str, object] = {}
    spec = w.sparsity
    if isinstance(spec, NmSpec) and spec.operand == "weights" and w.b_is_weight:
        if chip.sparse_features.nm == (spec.n, spec.m):
            # Compressed values plus log2(M) bits of position metadata per kept value.
            meta = math.log2(spec.m) / (8.0 * b * b_bytes_scale)
            b_base *= spec.n / spec.m * (1.0 + meta)
            # The 2:4 rate counts dense-equivalent FLOPs: kept MACs run at n/m of it.
            peak = tensor_peak(chip, dtype, sparse=True) * spec.n / spec.m
            flop_frac = spec.n / spec.m
            slowdown = 1.0 / chip.sparse_kernel_efficiency
            info = {"nm": [spec.n, spec.m], "b_fraction": b_base}
    else:
        d = activation_density(spec)
        if d < 1.0 and gather and chip.sparse_features.gather:
            from hwsim.sparsity.realise import expected_union_density

            sparse_len = k if w.sparse_dim == "k" else n
            corr = float(getattr(spec, "token_correlation", 0.0))
            rows = m if w.b_is_weight else min(m, FLASH_Q_BLOCK)
            gather_u = float(expected_union_density(d, rows, correlation=corr,
                                                    k_dim=sparse_len))
            flop_frac = gather_u
            info = {"density": d, "union_density": gather_u}

    def b_fraction(tn: int) -> float:
        """B's bytes read per byte of B with tiles ``tn`` wide: gathered rows (a tile's
        ``tn``-wide slice of an active row when K is gathered, a whole K row when N is)
        cost whole bursts."""
        if gather_u is None:
            return b_base
        row_bytes = (min(n, tn) if w.sparse_dim == "k" else k) * b * b_bytes_scale
        return min(1.0, gather_u * burst_factor(chip, row_bytes)) * b_base \
            / chip.gather_efficiency

    flops = 2.0 * m * n * k * w.count * flop_frac
    kernels = math.ceil(w.count) if w.b_shared else 1
    per_kernel_count = 1.0 if w.b_shared else w.count
    per_sm = peak * chip.gemm_efficiency / chip.sms
    best: tuple[float, tuple[int, int, int], int, float, float, float] | None = None
    for tm, tn in feasible_tiles(chip):
        b_frac = b_fraction(tn)
        mt, nt = math.ceil(m / tm), math.ceil(n / tn)
        tiles = mt * nt * math.ceil(per_kernel_count)
        # Split-K when the output tiles cannot fill the SMs (skinny decode GEMMs): K slices of
        # at least 256 run on idle SMs, and their fp32 partial sums are reduced through L2.
        split = max(1, min(chip.sms // tiles, k // 256)) if tiles < chip.sms else 1
        waves = math.ceil(tiles * split / chip.sms)
        k_slice = k / split
        l2_per_sm = l2_bw_per_busy_sm(chip, tiles * split)
        tile_math = 2.0 * tm * tn * k_slice * flop_frac / per_sm
        tile_l2 = (tm + tn * b_frac) * k_slice * b / l2_per_sm
        tile_convert = (tn * k_slice * b_frac / b_bytes_scale * chip.sms / b_converts_per_s
                        if b_converts_per_s else 0.0)
        t = waves * max(tile_math, tile_l2, tile_convert)
        partials = (split - 1) * m * n * 4.0 * 2.0 * per_kernel_count
        l2_traffic = (m * k * b * nt + k * n * b * b_frac * mt) * per_kernel_count + partials
        if best is None or t < best[0]:
            best = (t, (tm, tn, split), waves, tiles * split / (waves * chip.sms), l2_traffic,
                    b_frac)
    assert best is not None
    compute_per_kernel, tile, waves, wave_eff, l2_traffic, b_frac = best
    if gather_u is not None:
        info["b_fraction"] = b_frac
    b_one = k * n * b * b_frac
    half_l2 = chip.l2_bytes / 2
    a_one, c_one = m * k * b * per_kernel_count, m * n * b * per_kernel_count
    if w.b_shared:
        # Sequential steps (a recurrent cell) reuse one weight matrix: an L2 hit after the
        # first step when it fits, else streamed again every step.
        dram_total = (a_one + c_one) * kernels + (b_one if b_one <= half_l2 else b_one * kernels)
    else:
        compulsory = a_one + b_one * per_kernel_count + c_one
        if min(a_one, b_one * per_kernel_count) <= half_l2:
            dram_total = compulsory  # the smaller operand stays resident while the other streams
        else:
            # Wave-level reuse: the CTAs of one wave cover a ~square block of output tiles whose
            # A row-bands and B column-bands stream through L2 once per wave.
            out_tiles = math.ceil(m / tile[0]) * math.ceil(n / tile[1]) * per_kernel_count
            side = math.sqrt(min(chip.sms, out_tiles))
            per_wave = (tile[0] + tile[1] * b_frac) * side * k * b
            dram_total = max(compulsory, waves * per_wave + c_one)
    l2_total = (l2_traffic + c_one) * kernels
    info |= {"tile": list(tile[:2]), "split_k": tile[2], "waves": waves * kernels}
    return KernelCost(
        kernels=kernels, compute_s=compute_per_kernel * kernels * slowdown,
        l2_s=l2_total / l2_bw(chip) * slowdown, dram_s=dram_total / dram_bw(chip) * slowdown,
        launch_s=kernels * kernel_overhead_s(chip), tensor_flops=flops,
        smem_bytes=l2_total, l2_bytes=l2_total, dram_bytes=dram_total,
        wave_efficiency=wave_eff, mapping=info)
