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
from hwsim.mapping.primitives import GemmWork, VectorWork
from hwsim.workload.attention import AttentionShape

# CTA tile shapes (rows of A x columns of B) a cuBLAS/CUTLASS heuristic picks among for SM80+
# tensor-core GEMMs: 256x128 and 128x128 for large problems, narrower tiles for skinny ones.
TILES: tuple[tuple[int, int], ...] = ((256, 128), (128, 256), (128, 128), (128, 64), (64, 128),
                                      (64, 64), (32, 128), (16, 128))
# NVIDIA A100 Tensor Core GPU Architecture whitepaper: L2 read bandwidth 5120 bytes/clk, 108 SMs.
A100_L2_BYTES_PER_CLK = 5120.0
A100_SMS = 108
# FlashAttention-2 processes 128 queries per CTA (Dao, "FlashAttention-2", 2023, Sec. 3.3).
FLASH_Q_BLOCK = 128
# Key tile of the FlashAttention-2 forward kernel for head dims 64-128 on sm80/sm90: 64 keys
# (kBlockN of Flash_fwd_kernel_traits in run_mha_fwd_hdim128, flash-attention
# csrc/flash_attn/src/flash_fwd_launch_template.h; some head dims use 128). A causal or windowed
# mask skips key tiles with no visible key; partially masked tiles are computed in full.
FLASH_KV_BLOCK = 64
# Decode GEMVs (at most this many token rows) with int8 weights run as weight-only (W8A16)
# kernels on CUDA cores: every weight is converted to floating point before its multiply-add
# (gpt-fast's WeightOnlyInt8Linear; TensorRT-LLM's weight-only GEMV) [assumption: 16 rows].
GEMV_MAX_ROWS = 16
# One int8 -> float conversion per weight (the dequantise); the scale is applied per output.
DEQUANT_CONVERSIONS_PER_WEIGHT = 1.0


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

    @property
    def time_s(self) -> float:
        return self.launch_s + max(self.compute_s, self.l2_s, self.dram_s)

    @property
    def bottleneck(self) -> str:
        busy = {self.unit: self.compute_s, "l2": self.l2_s, "offchip": self.dram_s,
                "launch": self.launch_s}
        return max(busy.items(), key=lambda kv: kv[1])[0]


def kernel_overhead_s(chip: GpuChip) -> float:
    """Fixed time per kernel: the CPU launch, or inside a CUDA graph the graph's per-kernel
    gap plus pipeline fill and drain (``graph_kernel_overhead_s``, fitted, see docs/gpu.md)."""
    return chip.graph_kernel_overhead_s if chip.cuda_graphs else chip.launch_overhead_s


def convert_rate(chip: GpuChip) -> float:
    """Int-to-float conversions per second on the CUDA cores."""
    return chip.convert_per_clk_per_sm * chip.sms * chip.clock_hz


def dram_bw(chip: GpuChip) -> float:
    """Sustained DRAM bandwidth, bytes/s."""
    return chip.offchip.bw_bytes_per_s * chip.dram_efficiency


def l2_bw(chip: GpuChip) -> float:
    """L2 bandwidth, bytes/s. Unset: A100's L2 read bandwidth per SM per clock (5120 B/clk over
    108 SMs, NVIDIA A100 whitepaper) x this chip's SMs x clock."""
    if chip.l2_bw_bytes_per_s:
        return chip.l2_bw_bytes_per_s
    return A100_L2_BYTES_PER_CLK / A100_SMS * chip.sms * chip.clock_hz


def tensor_peak(chip: GpuChip, dtype: str, sparse: bool = False) -> float:
    """Tensor-core FLOP/s for ``dtype`` (fp16 and bf16 share a rate when one is listed; fp32
    GEMMs run on CUDA cores when no fp32 tensor rate is given)."""
    table = chip.tensor_flops_sparse_per_s if sparse else chip.tensor_flops_per_s
    twins = {"fp16": "bf16", "bf16": "fp16", "int16": "fp16"}
    for key in (dtype, twins.get(dtype, dtype)):
        if key in table:
            return table[key]
    if not sparse and dtype == "fp32" and "fp32" in chip.cuda_flops_per_s:
        return chip.cuda_flops_per_s["fp32"]
    if sparse:
        return 2.0 * tensor_peak(chip, dtype)
    return min(table.values())


def cuda_peak(chip: GpuChip) -> float:
    """CUDA-core FLOP/s for elementwise work (fp32 math; when unlisted, 1/16 of the dense fp16
    tensor rate, the A100 ratio 19.5 / 312 TFLOPS of its datasheet)."""
    if "fp32" in chip.cuda_flops_per_s:
        return chip.cuda_flops_per_s["fp32"]
    return tensor_peak(chip, "fp16") / 16.0


def gemm_cost(w: GemmWork, chip: GpuChip, dtype: str, *, gather: bool = True) -> KernelCost:
    """A (grouped/batched) GEMM on tensor cores with its sparsity as the chip can exploit it.

    Tiles: the tile shape with the least estimated time (a cuBLAS heuristic stand-in); waves =
    ceil(tiles / SMs). Per tile, the math runs at ``gemm_efficiency`` x the per-SM peak, and its
    operands stream from L2 at the per-SM share of L2 bandwidth. DRAM: each operand once when
    the smaller one stays resident in half the L2, else the smaller is re-read per L2-sized chunk
    of the larger (row-band rasterisation)."""
    b = w.dtype_bytes
    m, n, k = w.m, w.n, w.k
    b_frac = 1.0  # fraction of B's bytes read (gather, N:M compaction)
    flop_frac = 1.0
    peak = tensor_peak(chip, dtype)
    slowdown = 1.0
    info: dict[str, object] = {}
    spec = w.sparsity
    if isinstance(spec, NmSpec) and spec.operand == "weights" and w.b_is_weight:
        if chip.sparse_features.nm == (spec.n, spec.m):
            # Compressed values plus log2(M) bits of position metadata per kept value.
            meta = math.log2(spec.m) / (8.0 * b)
            b_frac = spec.n / spec.m * (1.0 + meta)
            # The 2:4 rate counts dense-equivalent FLOPs: kept MACs run at n/m of it.
            peak = tensor_peak(chip, dtype, sparse=True) * spec.n / spec.m
            flop_frac = spec.n / spec.m
            slowdown = 1.0 / chip.sparse_kernel_efficiency
            info = {"nm": [spec.n, spec.m], "b_fraction": b_frac}
    else:
        d = activation_density(spec)
        if d < 1.0 and gather and chip.sparse_features.gather:
            from hwsim.sparsity.realise import expected_union_density

            sparse_len = k if w.sparse_dim == "k" else n
            corr = float(getattr(spec, "token_correlation", 0.0))
            rows = m if w.b_is_weight else min(m, FLASH_Q_BLOCK)
            u = float(expected_union_density(d, rows, correlation=corr, k_dim=sparse_len))
            b_frac = u / chip.gather_efficiency
            flop_frac = u
            info = {"density": d, "union_density": u}
    b_one = k * n * b * b_frac
    flops = 2.0 * m * n * k * w.count * flop_frac
    kernels = math.ceil(w.count) if w.b_shared else 1
    per_kernel_count = 1.0 if w.b_shared else w.count
    per_sm = peak * chip.gemm_efficiency / chip.sms
    l2_per_sm = l2_bw(chip) / chip.sms
    best: tuple[float, tuple[int, int, int], int, float, float] | None = None
    for tm, tn in TILES:
        mt, nt = math.ceil(m / tm), math.ceil(n / tn)
        tiles = mt * nt * math.ceil(per_kernel_count)
        # Split-K when the output tiles cannot fill the SMs (skinny decode GEMMs): K slices of
        # at least 256 run on idle SMs, and their fp32 partial sums are reduced through L2.
        split = max(1, min(chip.sms // tiles, k // 256)) if tiles < chip.sms else 1
        waves = math.ceil(tiles * split / chip.sms)
        k_slice = k / split
        tile_math = 2.0 * tm * tn * k_slice * flop_frac / per_sm
        tile_l2 = (tm + tn * b_frac) * k_slice * b / l2_per_sm
        t = waves * max(tile_math, tile_l2)
        partials = (split - 1) * m * n * 4.0 * 2.0 * per_kernel_count
        l2_traffic = (m * k * b * nt + k * n * b * b_frac * mt) * per_kernel_count + partials
        if best is None or t < best[0]:
            best = (t, (tm, tn, split), waves, tiles * split / (waves * chip.sms), l2_traffic)
    assert best is not None
    compute_per_kernel, tile, waves, wave_eff, l2_traffic = best
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
    compute_s = compute_per_kernel * kernels * slowdown
    dram_s = dram_total / dram_bw(chip) * slowdown
    cuda_flops = 0.0
    unit = "tensor"
    if dtype == "int8" and w.b_is_weight and m <= GEMV_MAX_ROWS:
        # Weight-only int8 GEMV: the dequantise is CUDA-core work per weight read, and it
        # shares the SM's issue slots with the loads, so the stream sustains only
        # dequant_gemv_efficiency of the bf16 GEMV's rate (fitted on one gpt-fast figure).
        weights = b_one * per_kernel_count * kernels / b
        conversions = weights * DEQUANT_CONVERSIONS_PER_WEIGHT
        cuda_flops = conversions + flops  # the multiply-adds run on CUDA cores, too
        flops = 0.0
        compute_s = max(conversions / convert_rate(chip), cuda_flops / cuda_peak(chip))
        dram_s /= chip.dequant_gemv_efficiency
        unit = "cuda"
        info |= {"kernel": "dequant_gemv"}
    return KernelCost(
        kernels=kernels, compute_s=compute_s,
        l2_s=l2_total / l2_bw(chip) * slowdown, dram_s=dram_s,
        launch_s=kernels * kernel_overhead_s(chip), tensor_flops=flops, cuda_flops=cuda_flops,
        smem_bytes=l2_total, l2_bytes=l2_total, dram_bytes=dram_total,
        wave_efficiency=wave_eff, unit=unit, mapping=info)


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
    kv_frac = float(s_qk.mapping.get("union_density", 1.0)) / (
        chip.gather_efficiency if "union_density" in s_qk.mapping else 1.0)
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
