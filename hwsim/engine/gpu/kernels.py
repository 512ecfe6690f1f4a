"""Analytic GPU kernel costs: GEMMs as CTA tiles in waves, FlashAttention-style attention,
bandwidth-bound vector kernels. Times in seconds, traffic in bytes per memory level.

A kernel's time is ``launch + max(compute, L2 traffic / L2 bandwidth, DRAM traffic / sustained
DRAM bandwidth)``: tensor-core math, on-chip operand movement and DRAM streaming overlap (they do
in cuBLAS/CUTLASS software pipelines), the slowest one sets the time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hwsim.config.chip import GpuChip
from hwsim.config.sparsity import NmSpec
from hwsim.engine.accelerator.sparse_effects import activation_density
from hwsim.engine.gpu.rates import (
    cuda_peak,
    dram_bw,
    kernel_overhead_s,
    l2_bw,
    tensor_peak,
)
from hwsim.mapping.primitives import GemmWork, VectorWork

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


@dataclass
class KernelCost:
    """One kernel (or a sequence of identical kernels): its time, traffic and work."""

    kernels: int
    compute_s: float
    l2_s: float
    dram_s: float
    launch_s: float
    tensor_flops: float = 0.0
    cuda_flops: float = 0.0
    smem_bytes: float = 0.0
    l2_bytes: float = 0.0
    dram_bytes: float = 0.0
    wave_efficiency: float = 1.0
    unit: str = "tensor"
    mapping: dict[str, object] = field(default_factory=dict)
    math_dtype: str | None = None  # the tensor cores' dtype when not the op's (W8A16: bf16)

    @property
    def time_s(self) -> float:
        return self.launch_s + max(self.compute_s, self.l2_s, self.dram_s)

    @property
    def bottleneck(self) -> str:
        busy = {self.unit: self.compute_s, "l2": self.l2_s, "offchip": self.dram_s,
                "launch": self.launch_s}
        return max(busy.items(), key=lambda kv: kv[1])[0]


def gemm_cost(w: GemmWork, chip: GpuChip, dtype: str, *, gather: bool = True) -> KernelCost:
    """A (grouped/batched) GEMM as the framework runs it: int8 weights on a chip with
    ``int8_weight_only`` take the faster weight-only (W8A16) kernel
    (:mod:`hwsim.engine.gpu.weight_only`); everything else runs on the tensor cores."""
    if dtype == "int8" and w.b_is_weight and chip.int8_weight_only:
        from hwsim.engine.gpu.weight_only import weight_only_gemm

        return weight_only_gemm(w, chip, gather=gather)
    return tensor_gemm(w, chip, dtype, gather=gather)


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
    l2_per_sm = l2_bw(chip) / chip.sms
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


def attention_cost(qk: GemmWork, softmax: VectorWork, pv: GemmWork, chip: GpuChip,
                   dtype: str, softmax_ops: float) -> KernelCost:
    """One fused FlashAttention kernel: Q, K, V read and O written once from DRAM per head-block
    (K/V re-reads per query block come from L2); the score tile lives in SMEM/registers, so the
    softmax costs CUDA-core math, not traffic. Decode (one query) is a KV-cache read."""
    s_qk = gemm_cost(qk, chip, dtype)
    s_pv = gemm_cost(pv, chip, dtype)
    b = qk.dtype_bytes
    q_bytes = qk.m * qk.k * qk.count * b
    kv_frac = float(s_qk.mapping["b_fraction"]) if "union_density" in s_qk.mapping else 1.0
    k_bytes = qk.k * qk.n * qk.count * b * kv_frac
    v_bytes = pv.k * pv.n * pv.count * b * kv_frac
    o_bytes = pv.m * pv.n * pv.count * b
    q_blocks = math.ceil(qk.m / FLASH_Q_BLOCK)
    dram = q_bytes + k_bytes + v_bytes + o_bytes
    l2 = q_bytes + (k_bytes + v_bytes) * q_blocks + o_bytes
    tiles = q_blocks * math.ceil(qk.count)
    waves = math.ceil(tiles / chip.sms)
    wave_eff = tiles / (waves * chip.sms)
    flops = s_qk.tensor_flops + s_pv.tensor_flops
    sm_flops = flops / (tensor_peak(chip, dtype) * chip.gemm_efficiency * wave_eff)
    vec_flops = softmax.elements * softmax_ops
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


# A compiled (Triton/Inductor) norm keeps a row in registers ("persistent reduction") when it has
# at most this many elements (torch/_inductor/codegen/triton.py, should_use_persistent_reduction:
# threshold 1024 for inner reductions); longer rows are looped over in RBLOCK chunks.
PERSISTENT_ROW_ELEMENTS = 1024
# A looped layernorm walks its row three times: sum (mean), sum of squared deviations
# (variance), normalise. Evidence: LLMCompass's A100 4096x32768 layernorm takes 1.94x its
# 32768x4096 twin (same bytes), more than the 1.5x any two-read kernel could cost.
NORM_LOOPED_PASSES = 3.0
# One row per CTA of 8 warps (Inductor's reduction config for 2048-element RBLOCKs).
NORM_CTA_THREADS = 256


def norm_cost(w: VectorWork, chip: GpuChip, row_elements: int | None) -> KernelCost:
    """A row-wise norm kernel. Short rows are read once. Looped rows are walked
    ``NORM_LOOPED_PASSES`` times; the repeat walks hit the SM's L1 while the rows of all
    resident CTAs fit in it, and come from DRAM once they do not (streaming rows that overflow
    an LRU cache evict each other before reuse, so the hit rate falls off a cliff)."""
    passes = 1.0
    info: dict[str, object] = {"kernel": "norm"}
    if row_elements and row_elements > PERSISTENT_ROW_ELEMENTS:
        row_bytes = w.bytes_in / max(w.elements, 1) * row_elements
        resident_rows = chip.max_threads_per_sm // NORM_CTA_THREADS
        l1 = chip.l1_smem_bytes_per_sm or chip.smem_bytes_per_sm
        fits = resident_rows * row_bytes <= l1
        passes = 1.0 if fits else NORM_LOOPED_PASSES
        info |= {"looped": True, "rereads_on_chip": fits}
    cost = vector_cost(w, chip, passes)
    cost.mapping = info | {"input_passes": passes}
    return cost
