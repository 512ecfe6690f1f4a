"""Tensor-core GEMMs: CTA tiles (bounded by the register file) in waves over the SMs, split-K
for skinny GEMMs, operand reuse through L2, 2:4 sparse tensor cores and gather-GEMMs."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

from hwsim.config.chip import GpuChip
from hwsim.config.sparsity import NmSpec
from hwsim.engine.accelerator.sparse_effects import activation_density
from hwsim.engine.gpu.cost import KernelCost
from hwsim.engine.gpu.gemm_tiles import (
    MathPath,
    feasible_tiles,
    resident_ctas,
    split_factors,
    whole_clusters,
)
from hwsim.engine.gpu.math_paths import math_path
from hwsim.engine.gpu.rates import (
    dram_bw,
    kernel_overhead_s,
    l2_bw,
    l2_bw_per_busy_sm,
    tensor_peak,
)
from hwsim.mapping.primitives import GemmWork

# Candidates this close to the fastest count as tied (cuBLAS's heuristic ranks tiles by
# estimates, not exact times) [assumption].
TIE_TOLERANCE = 0.02
# FlashAttention-2 processes 128 queries per CTA (Dao, "FlashAttention-2", 2023, Sec. 3.3).
FLASH_Q_BLOCK = 128
# An fp8 GEMM writes its dequantised output in 16 bits: vLLM's cutlass_scaled_mm returns the
# activations' dtype (bf16/fp16, ``out_dtype`` in vllm/_custom_ops.py), as torch._scaled_mm's
# and TensorRT-LLM's fp8 GEMMs do unless a quantised consumer is fused into the epilogue. int8
# keeps its own width: TensorRT's int8 layers requantise in the epilogue and write int8, while
# vLLM's W8A8 int8 path writes bf16, and no int8 GPU rows tell which a workload runs.
FP8_OUTPUT_BYTES = 2


def output_bytes(dtype: str, dtype_bytes: int) -> int:
    """Bytes per output element of a tensor-core GEMM of ``dtype`` whose operands take
    ``dtype_bytes``."""
    return FP8_OUTPUT_BYTES if dtype == "fp8" else dtype_bytes


def burst_factor(chip: GpuChip, row_bytes: float) -> float:
    """Bytes moved per byte wanted when reading rows of ``row_bytes``: DRAM moves whole bursts
    (``offchip.burst_bytes``)."""
    burst = chip.offchip.burst_bytes
    return math.ceil(row_bytes / burst) * burst / row_bytes


def tensor_gemm(w: GemmWork, chip: GpuChip, dtype: str, *, gather: bool = True,
                b_bytes_scale: float = 1.0, b_converts_per_s: float = 0.0,
                library: Callable[[MathPath], MathPath] | None = None,
                dram_rate_scale: float = 1.0) -> KernelCost:
    """A (grouped/batched) GEMM on tensor cores with its sparsity as the chip can exploit it.
    ``b_bytes_scale`` shrinks B's bytes (int8 weights beside 16-bit activations: 0.5); with
    ``b_converts_per_s`` every CTA converts each B element it loads on the SM's CUDA cores
    (its share of that rate), which competes with the tile's math and operand traffic.
    ``library`` replaces the dtype's math path with a library's own (its tiles, split-K,
    conversion schedule: :mod:`hwsim.engine.gpu.fpa_intb`). ``dram_rate_scale`` is the share of
    the chip's streaming rate the kernel's own operand traffic sustains (a weight-only kernel's
    ``dequant_gemv_efficiency``), seen by the tile choice as by the returned cost.

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
    path = math_path(chip, dtype, peak, sparse_tensor="nm" in info)
    if library is not None:
        path = library(path)
    single = per_kernel_count == 1 and not w.b_shared  # one GEMM, not a batched/grouped one
    if path.name == "simt" and per_kernel_count > 1 and chip.batched_sgemm_tile is not None:
        # cuBLAS runs a batched sgemm with one kernel whatever the shape on some GPUs (the
        # A100's torch.bmm: ampere_sgemm_128x128_nn in 99.6 % of NeuSight's traced calls), not
        # the fastest tile: a 64- or 196-row product then pays for a 128x128 tile.
        rows, cols = chip.batched_sgemm_tile
        path = dataclasses.replace(path, tiles=((rows, cols),), split_k=False)
    if path.tile_dispatch is not None and single:  # the library picks its tile by shape
        t = path.tile_dispatch(m, n)
        path = dataclasses.replace(path, tiles=((t.rows, t.cols),), k_block=t.k_block,
                                   split_k=False, cluster=(t.cluster_rows, t.cluster_cols))
    fill_s = path.fill_cycles / chip.clock_hz
    stream_bw = dram_bw(chip) * dram_rate_scale  # the operands' streaming rate
    b_out = output_bytes(dtype, b)
    a_one, c_one = m * k * b * per_kernel_count, m * n * b_out * per_kernel_count
    half_l2 = chip.l2_bytes / 2
    # cuBLAS's split-K and vLLM's fp8 dispatch are for single GEMMs; batched and grouped ones
    # (vLLM's Triton fused-MoE among them) keep the tile search and in-kernel partial sums
    # [assumption].
    reduce_kernel = path.split_k_reduce_kernel and single
    candidates: list[_Candidate] = []
    for tm, tn in feasible_tiles(chip, path):
        b_frac = b_fraction(tn)
        b_one = k * n * b * b_frac
        mt, nt = math.ceil(m / tm), math.ceil(n / tn)
        # Whole clusters launch: padded tiles compute (on zeros) but load and store nothing.
        cr, cc = path.cluster
        out_ctas = (whole_clusters(mt, cr) * whole_clusters(nt, cc)
                    * math.ceil(per_kernel_count))
        resident = 1 if path.one_cta_per_sm else resident_ctas(chip, path, (tm, tn))
        # A 2-CTA pair needs two row tiles to share its B tile; one row tile runs alone.
        pair = path.pair_ctas if mt >= path.pair_ctas else 1
        # L2 reads of the operands: A once per column tile, B once per (pair of) row tiles.
        operand_l2 = (m * k * b * nt + k * n * b * b_frac * math.ceil(mt / pair)
                      ) * per_kernel_count
        for split in (split_factors(k, path.k_block, out_ctas, chip) if path.split_k else (1,)):
            ctas = out_ctas * split
            k_slice = math.ceil(k / split)
            k_padded = math.ceil(k_slice / path.k_block) * path.k_block
            per_sm_ctas = math.ceil(ctas / chip.sms)
            rounds = math.ceil(per_sm_ctas / resident)
            l2_per_sm = l2_bw_per_busy_sm(chip, min(ctas, chip.sms))
            cta_math = 2.0 * tm * tn * k_padded * flop_frac / path.flops_per_s_per_sm
            cta_l2 = (min(tm, m) + min(tn, n) * b_frac / pair) * k_slice * b / l2_per_sm
            cta_convert = (tn * k_slice * b_frac / b_bytes_scale * chip.sms / b_converts_per_s
                           if b_converts_per_s else 0.0)
            # Epilogue: a non-persistent CTA stores its C tile (its rows and columns inside C:
            # stores are predicated) after its mainloop; each wave's stores share the DRAM
            # bandwidth, so in all they add every CTA's store (split-K: fp32 partials).
            epi_bytes = min(tm, m) * min(tn, n) * (4.0 if split > 1 else b_out)
            store_s = ctas * epi_bytes / dram_bw(chip) if path.serial_epilogue else 0.0
            cta_s = max(_mainloop_s(path, cta_math, cta_convert), cta_l2)
            if path.one_cta_per_sm:
                floor_s = path.tile_floor_cycles / chip.clock_hz
                sm_s = cta_s + (per_sm_ctas - 1) * max(cta_s, floor_s) + store_s + fill_s
            else:
                sm_s = per_sm_ctas * cta_s + store_s + rounds * fill_s
            # Split-K: each slice writes fp32 partial sums that the last one reads back, or,
            # with a reduction kernel, every slice writes them and that kernel reads them all.
            reduce_s = 0.0
            if split > 1 and reduce_kernel:
                partials = split * m * n * 4.0 * 2.0
                reduce_s = (split * m * n * 4.0 + c_one) / dram_bw(chip)
            else:
                partials = (split - 1) * m * n * 4.0 * 2.0 * per_kernel_count
            l2_bytes = operand_l2 + partials
            dram = _dram_bytes(chip, w, a_one, b_one, c_one, (tm, tn), b_frac,
                               ctas, resident, per_kernel_count)
            dram += partials if partials > half_l2 else 0.0
            t = max(sm_s, (l2_bytes + c_one) / l2_bw(chip), dram / stream_bw)
            if reduce_s:
                t += reduce_s + kernel_overhead_s(chip)
            cand = _Candidate(t, sm_s, (tm, tn, split, pair), rounds,
                              ctas / (per_sm_ctas * chip.sms), l2_bytes, dram, b_frac, store_s,
                              reduce_s=reduce_s)
            candidates.append(cand)
        if path.stream_k and out_ctas > chip.sms and out_ctas % chip.sms:
            # Stream-K's persistent grid: every SM takes an even share of all tiles' K blocks
            # (so no partial last wave), plus one fp32 partial tile written and read back.
            l2_per_sm = l2_bw_per_busy_sm(chip, chip.sms)
            blocks = math.ceil(out_ctas * math.ceil(k / path.k_block) / chip.sms)
            block_math = 2.0 * tm * tn * path.k_block * flop_frac / path.flops_per_s_per_sm
            block_l2 = (min(tm, m) + min(tn, n) * b_frac / pair) * path.k_block * b / l2_per_sm
            block_convert = (tn * path.k_block * b_frac / b_bytes_scale * chip.sms
                             / b_converts_per_s if b_converts_per_s else 0.0)
            fixup = min(tm, m) * min(tn, n) * 4.0 * 2.0
            sm_s = (blocks * max(_mainloop_s(path, block_math, block_convert), block_l2)
                    + fill_s + fixup / l2_per_sm)
            # One partial tile per SM over the whole grid, however many GEMMs it holds.
            l2_bytes = operand_l2 + chip.sms * fixup
            dram = _dram_bytes(chip, w, a_one, b_one, c_one, (tm, tn), b_frac, out_ctas,
                               resident, per_kernel_count)
            t = max(sm_s, (l2_bytes + c_one) / l2_bw(chip), dram / stream_bw)
            candidates.append(_Candidate(t, sm_s, (tm, tn, 1, pair), 1, 1.0, l2_bytes, dram,
                                         b_frac, 0.0, stream_k=True))
    # Among candidates within TIE_TOLERANCE of the fastest, the one with the least SM time: a
    # memory-bound GEMM gains nothing from a tile that saves bytes by computing padding, and
    # that work costs power (a power-limited GPU would slow it down afterwards).
    fastest = min(c.time_s for c in candidates)
    best = min((c for c in candidates if c.time_s <= fastest * (1.0 + TIE_TOLERANCE)),
               key=lambda c: (c.sm_s, c.time_s))
    tile, waves, b_frac = best.tile, best.rounds, best.b_frac
    if gather_u is not None:
        info["b_fraction"] = b_frac
    # The reduction kernel runs after the GEMM, bound by its DRAM-rate traffic (as any
    # elementwise kernel: vector_cost), which a throttled clock does not stretch.
    compute_per_kernel = best.sm_s + best.reduce_s
    l2_traffic, dram_total = best.l2_bytes, best.dram_bytes
    if w.b_shared:
        # Sequential steps (a recurrent cell) reuse one weight matrix: an L2 hit after the
        # first step when it fits, else streamed again every step.
        b_one = k * n * b * b_frac
        dram_total = (a_one + c_one) * kernels + (b_one if b_one <= half_l2 else b_one * kernels)
    l2_total = (l2_traffic + c_one) * kernels
    info |= {"tile": list(tile[:2]), "split_k": tile[2], "waves": waves * kernels,
             "path": path.name}
    if tile[3] > 1:
        info["pair_ctas"] = tile[3]
    if path.cluster != (1, 1):
        info["cluster"] = list(path.cluster)
    launches = kernels * (2 if best.reduce_s else 1)
    if best.reduce_s:
        info["split_k_reduce_kernel"] = True
    if best.stream_k:
        # A persistent grid: one CTA per SM (the cycle engine schedules this many).
        info |= {"stream_k": True, "persistent_ctas": chip.sms}
    simt = path.name == "simt"
    return KernelCost(
        kernels=launches, compute_s=compute_per_kernel * kernels * slowdown,
        l2_s=l2_total / l2_bw(chip) * slowdown, dram_s=dram_total / stream_bw * slowdown,
        launch_s=launches * kernel_overhead_s(chip),
        tensor_flops=0.0 if simt else flops,
        cuda_flops=flops if simt else 0.0, smem_bytes=l2_total, l2_bytes=l2_total,
        dram_bytes=dram_total, wave_efficiency=best.wave_efficiency, mapping=info,
        unit="cuda" if simt else "tensor",
        store_s=(best.store_s + best.reduce_s) * kernels * slowdown)


def _mainloop_s(path: MathPath, math_s: float, convert_s: float) -> float:
    """A CTA's MMAs and its B conversions: one after the other (``convert_serial``) or
    overlapped, the slower bounding."""
    return math_s + convert_s if path.convert_serial else max(math_s, convert_s)


@dataclass(frozen=True)
class _Candidate:
    """One (tile, split-K) choice: its time, SM time, (rows, columns, split-K, CTAs per shared
    MMA), rounds of co-resident CTAs, the share of CTA slots its last round fills, and its
    traffic."""

    time_s: float
    sm_s: float
    tile: tuple[int, int, int, int]
    rounds: int
    wave_efficiency: float
    l2_bytes: float
    dram_bytes: float
    b_frac: float
    store_s: float
    stream_k: bool = False
    reduce_s: float = 0.0  # the split-K reduction kernel's time after its launch (0: none)


def _dram_bytes(chip: GpuChip, w: GemmWork, a_one: float, b_one: float, c_one: float,
                tile: tuple[int, int], b_frac: float, ctas: int, resident: int,
                per_kernel_count: float) -> float:
    """DRAM bytes of one kernel: each operand once when the smaller one stays resident in half
    the L2 while the other streams, else per wave the A row-bands and B column-bands of the ~square
    block of output tiles its CTAs cover (row-band rasterisation)."""
    compulsory = a_one + b_one * per_kernel_count + c_one
    if w.b_shared or min(a_one, b_one * per_kernel_count) <= chip.l2_bytes / 2:
        return compulsory
    slots = chip.sms * resident
    out_tiles = math.ceil(w.m / tile[0]) * math.ceil(w.n / tile[1]) * per_kernel_count
    side = math.sqrt(min(slots, out_tiles))
    per_wave = (tile[0] + tile[1] * b_frac) * side * w.k * w.dtype_bytes
    return max(compulsory, math.ceil(ctas / slots) * per_wave + c_one)
