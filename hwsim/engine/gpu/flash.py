"""FlashAttention forward kernels as CTAs: FlashAttention-2 (Ampere/Ada, ``mma.sync``) and
FlashAttention-3 (Hopper, warp-specialised ``wgmma``), with FlashDecoding's split-KV for short
query blocks. Times in seconds, traffic in bytes.

One CTA owns a block of query rows (one head, or every query head of a K/V group packed as rows
when the queries are few: FA3's PackGQA, FA2's "seqlen_q/ngroups swap" for decode) and walks the
key tiles that block may see (a causal mask skips the tiles wholly above the diagonal; diagonal
tiles are computed in full). Per key tile it runs two tensor-core GEMMs (S = QK^T, O += PV:
``4 x rows x keys x head_dim`` FLOP) and one exponential per score on the SM's MUFU unit. FA3
overlaps the two (ping-pong warpgroups: the tile costs the slower one); FA2 issues them from the
same warps (the tile costs their sum). Each CTA also pays a fixed prologue/epilogue (load Q, write
O: ``cta_fixed_s``, mostly memory latency, so in seconds, not cycles), and the kernel a fixed GPU
time (``kernel_fixed_s``). A CTA cannot start its first GEMM before its first K and V tiles have
arrived, and has no work of its own to hide that transfer behind (later tiles load while earlier
ones compute): the first tiles of all CTAs are exposed, the distinct ones (one per sequence, K/V
head and split) fetched from DRAM, the other query blocks' copies of them from L2. That time is
SM time that waits on memory, so a lower clock does not stretch it (``KernelCost.store_s``).

The grid runs in waves over ``SMs x CTAs per SM`` slots; the mainloop makespan is the larger of
the longest CTA and the mean CTA times the waves (balanced scheduling of unequal causal CTAs).
DRAM (Q and O once, the visible K/V once per K/V head) and L2 (every CTA's K/V tiles) bound the
kernel from below. Decode splits the
key range over CTAs when the grid cannot fill the GPU (the FlashAttention num_splits heuristic),
then a combine kernel reduces the fp32 partial outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.cost import KernelCost
from hwsim.engine.gpu.rates import dram_bw, l2_bw, tensor_peak
from hwsim.workload.attention import AttentionShape, key_ranges

# Results per clock per SM of MUFU.EX2 (exp2f), the instruction the softmax's exponentials run
# on: 16 on compute capability 7.x, 8.x and 9.0 (CUDA C++ Programming Guide, "Arithmetic
# Instructions" throughput table, row "32-bit floating-point reciprocal, ..., base 2
# exponential").
MUFU_EXP_PER_CLK_PER_SM = 16.0
# FlashAttention's split-KV heuristic (csrc/flash_attn/src/flash_api.cpp num_splits_heuristic,
# hopper/heuristics.h): no split once the grid has 80 % of the SMs' worth of CTAs; otherwise the
# fewest splits within 85 % of the best wave efficiency, at most 128.
SPLIT_FILL = 0.8
# FA2 passes the heuristic twice the SM count ("we're using 128 threads per block", two CTAs per
# SM: flash_api.cpp set_params_splitkv, dprops->multiProcessorCount * 2, in Dao-AILab's and in
# vLLM's fork alike); FA3 passes the SM count (hopper/flash_api.cpp, params.num_sm).
FA2_SPLIT_SLOTS_PER_SM = 2
SPLIT_WITHIN = 0.85
MAX_SPLITS = 128
# FA3 does not split a key range of four tiles or fewer (hopper/heuristics.h).
FA3_MIN_SPLIT_BLOCKS = 4
# The partial outputs of a split are fp32 (4 bytes) plus one fp32 log-sum-exp per row.
PARTIAL_BYTES = 4.0
# FA2's decode GQA swap (vLLM's fork, csrc/flash_attn/flash_api.cpp mha_varlen_fwd,
# seqlenq_ngroups_swapped) views q (batch, heads, d) as (batch, kv_heads, groups, d), transposes
# it and reshapes it to (batch x groups, kv_heads, d): a view when batch or kv_heads is 1, else a
# copy kernel; the kernel writes a temporary (batch x groups, kv_heads, d) output that one
# ``copy_`` puts back into vLLM's output tensor, always. FA3 packs GQA inside its kernel.
FA2_SWAP_OUT_COPIES = 1


@dataclass(frozen=True)
class FlashConstants:
    """The fitted constants of the kernel model (``configs/calibration/gpu.yaml``)."""

    fa2_efficiency: float  # fraction of the SM's tensor peak in FA2's mainloop
    fa3_efficiency: float  # fraction of the SM's tensor peak in FA3's mainloop
    cta_fixed_s: float  # per CTA: prologue (Q, first K/V tile) and epilogue (write O)
    kernel_fixed_s: float  # per kernel inside a CUDA graph: launch of the grid, gap, drain


@dataclass(frozen=True)
class Tiles:
    """Query rows and keys per CTA step, CTAs resident per SM."""

    rows: int
    keys: int
    ctas_per_sm: int


def tiles(family: str, head_dim: int, decode: bool) -> Tiles:
    """Tile shapes of the kernels as shipped. FA3 (hopper/tile_size.h, tile_size_fwd_sm90):
    128 x 128 rows x keys for head dims up to 128 (192 x 128 at 64), 128 x 80 above, 64 rows
    for decode's packed GQA rows; one CTA (three warpgroups) per SM. FA2 over a paged KV cache
    (vLLM) always runs the split-KV kernel (flash_api.cpp: ``force_split_kernel`` for a
    block table; Flash_fwd_kernel_traits of run_mha_fwd_splitkv_dispatch): 64 rows x 256/128/64
    keys by head dim, prefill and decode alike; two 4-warp CTAs per SM up to head dim 128, one
    above."""
    if family == "fa3":
        rows = 64 if decode else (192 if head_dim <= 64 else 128)
        return Tiles(rows, 128 if head_dim <= 128 else 80, 1)
    keys = 256 if head_dim <= 64 else (128 if head_dim <= 128 else 64)
    return Tiles(64, keys, 2 if head_dim <= 128 else 1)


def key_tiles_per_block(shape: AttentionShape, t: Tiles, packed: bool) -> np.ndarray:
    """Key tiles each query block reads and computes (int64 array, one entry per block)."""
    group = shape.group if packed else 1
    rows = group * shape.seq_q
    blocks = math.ceil(rows / t.rows)
    first = np.arange(blocks, dtype=np.int64) * t.rows
    last = np.minimum(first + t.rows, rows) - 1
    offset = shape.seq_kv - shape.seq_q
    lo, _ = key_ranges(first // group + offset, shape.seq_kv, shape.causal, shape.window)
    _, hi = key_ranges(last // group + offset, shape.seq_kv, shape.causal, shape.window)
    return np.maximum(1, -(-hi // t.keys) - lo // t.keys)


def num_splits(family: str, ctas: int, sms: int, key_blocks: int) -> int:
    """How many slices FlashAttention cuts each query block's key range into (module doc).
    ``sms`` is the GPU's SM count; FA2's heuristic counts two slots per SM."""
    if family == "fa2":
        sms *= FA2_SPLIT_SLOTS_PER_SM
    if ctas >= SPLIT_FILL * sms or (family == "fa3" and key_blocks <= FA3_MIN_SPLIT_BLOCKS):
        return 1
    top = min(MAX_SPLITS, sms, key_blocks)

    def eligible(s: int) -> bool:
        return s == 1 or math.ceil(key_blocks / s) != math.ceil(key_blocks / (s - 1))

    eff = {s: (ctas * s / sms) / math.ceil(ctas * s / sms) for s in range(1, top + 1)
           if eligible(s)}
    best = max(eff.values())
    return min(s for s, e in eff.items() if e >= SPLIT_WITHIN * best)


def swap_copies(batch: int, kv_heads: int) -> int:
    """Copy kernels around FA2's GQA decode swap for ``batch`` sequences: the output's copy
    back, and q's when its transposed (batch, groups, kv_heads) layout cannot be viewed as
    (batch x groups) rows, i.e. when neither batch nor kv_heads is 1 (module constants)."""
    return FA2_SWAP_OUT_COPIES + (1 if batch > 1 and kv_heads > 1 else 0)


def first_tiles_s(shape: AttentionShape, batch: int, splits: int, ctas: int, t: Tiles,
                  dtype_bytes: int, kv_bytes: float, chip: GpuChip) -> float:
    """Seconds the CTAs wait for their first K and V tiles (module doc): the distinct tiles
    (per sequence, K/V head and split; at most the kernel's K/V bytes) at DRAM bandwidth, every
    other CTA's copy of one at L2 bandwidth."""
    tile_bytes = 2.0 * min(shape.keys_touched, t.keys) * shape.head_dim * dtype_bytes
    distinct = min(batch * shape.kv_heads * splits * tile_bytes, kv_bytes)
    shared = max(0.0, ctas * tile_bytes - distinct)
    return distinct / dram_bw(chip) + shared / l2_bw(chip)


def family(chip: GpuChip) -> str:
    """The FlashAttention generation the chip runs (its preset's ``attention_kernel``)."""
    return chip.attention_kernel


def flash_attention(shape: AttentionShape, batch: int, chip: GpuChip, dtype: str, dtype_bytes: int,
                    k: FlashConstants, kernel_s: float) -> KernelCost:
    """One FlashAttention forward (plus its split-KV combine kernel when it splits) for
    ``batch`` sequences of ``shape``. ``kernel_s`` is the fixed time per kernel (the fitted
    ``kernel_fixed_s`` in a CUDA graph, the host launch otherwise)."""
    fam = family(chip)
    decode = shape.seq_q * shape.group <= tiles(fam, shape.head_dim, True).rows
    t = tiles(fam, shape.head_dim, decode)
    # FA3 packs a K/V head's query heads as rows whenever the queries are varlen (vLLM's
    # cu_seqlens_q) or the KV cache is paged (hopper/flash_api.cpp get_pack_gqa,
    # should_pack_gqa); FA2 only in its decode swap, which needs exactly one query per
    # sequence (csrc/flash_attn/flash_api.cpp mha_varlen_fwd: seqlenq_ngroups_swapped =
    # max_seqlen_q == 1 && num_heads > num_heads_k && ...), not a short prefill.
    packed = shape.group > 1 and (fam == "fa3" or (decode and shape.seq_q == 1))
    per_block = key_tiles_per_block(shape, t, packed)
    heads = shape.kv_heads if packed else shape.heads
    grid = batch * heads * len(per_block)
    # FA2 splits only the decode it reshapes to pack GQA (flash_api.cpp mha_varlen_fwd: split-KV
    # "only for decoding" with seqlenq_ngroups_swapped, i.e. heads > kv_heads); FA3 any decode.
    can_split = decode and (fam == "fa3" or packed)
    splits = num_splits(fam, grid, chip.sms, int(per_block.max())) if can_split else 1
    steps = -(-per_block // splits)  # key tiles per CTA
    ctas = grid * splits
    slots = chip.sms * t.ctas_per_sm
    waves = math.ceil(ctas / slots)
    # One key tile on one SM (shared by its resident CTAs): tensor math and exponentials.
    eff = k.fa3_efficiency if fam == "fa3" else k.fa2_efficiency
    per_sm_flops = tensor_peak(chip, dtype) / chip.sms
    math_s = 4.0 * t.rows * t.keys * shape.head_dim / (per_sm_flops * eff)
    exp_s = t.rows * t.keys / (MUFU_EXP_PER_CLK_PER_SM * chip.clock_hz)
    # Resident CTAs share their SM's tensor cores and MUFU; a grid smaller than the SMs gets
    # one SM per CTA.
    sharing = min(t.ctas_per_sm, math.ceil(ctas / chip.sms))
    step_s = (max(math_s, exp_s) if fam == "fa3" else math_s + exp_s) * sharing
    # Waves of the mean CTA (exact for equal CTAs; causal CTAs of unequal length are
    # balanced over the slots), never less than the longest CTA.
    mainloop_s = max(float(steps.max()), float(np.mean(steps)) * waves) * step_s
    fixed_s = waves * k.cta_fixed_s
    b = dtype_bytes
    # DRAM: K/V of the keys any query sees, once per (sequence, K/V head); Q and O once.
    kv_bytes = 2.0 * batch * shape.kv_heads * shape.keys_touched * shape.head_dim * b
    qo_bytes = 2.0 * batch * shape.heads * shape.seq_q * shape.head_dim * b
    # L2: every CTA's K/V tiles (re-reads across query blocks hit L2), Q and O, and the small
    # L2-resident intermediates: split partials (fp32 O and LSE, written then read by the
    # combine kernel) and FA2's swap copies of Q and O.
    kv_l2 = float(np.sum(steps)) * splits * batch * heads * 2.0 * t.keys * shape.head_dim * b
    extra_l2 = 0.0
    kernels = 1
    if splits > 1:
        extra_l2 += 2.0 * splits * batch * shape.heads * shape.seq_q * (shape.head_dim + 1) \
            * PARTIAL_BYTES
        kernels = 2
    copy_s = 0.0
    if fam == "fa2" and packed:  # out back always; q in unless the reshape is a view
        copies = swap_copies(batch, shape.kv_heads)
        kernels += copies
        copy_s = copies * k.cta_fixed_s
        extra_l2 += copies * qo_bytes
    dram = kv_bytes + qo_bytes
    l2 = kv_l2 + qo_bytes + extra_l2
    first_s = first_tiles_s(shape, batch, splits, ctas, t, b, kv_bytes, chip)
    computed_rows = float(np.sum(steps)) * splits * batch * heads * t.rows
    flops = 4.0 * computed_rows * t.keys * shape.head_dim
    return KernelCost(
        kernels=kernels, compute_s=fixed_s + mainloop_s + copy_s + first_s, store_s=first_s,
        l2_s=l2 / l2_bw(chip),
        dram_s=dram / dram_bw(chip),
        launch_s=kernels * kernel_s, tensor_flops=flops, cuda_flops=computed_rows * t.keys,
        smem_bytes=l2, l2_bytes=l2, dram_bytes=dram,
        wave_efficiency=ctas / (waves * slots),
        mapping={"kernel": f"flash_attention_{fam}", "q_blocks": len(per_block),
                 "tile": [t.rows, t.keys], "splits": splits, "waves": waves,
                 "packed_gqa": packed})
