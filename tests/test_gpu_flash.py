"""The FlashAttention-2/3 kernel model (hwsim.engine.gpu.flash): tiles, causal tile skipping,
packed GQA, the split-KV heuristic, the MUFU limit, and its place in the engine."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.flash import (
    FlashConstants,
    Tiles,
    first_tiles_s,
    flash_attention,
    key_tiles_per_block,
    num_splits,
    swap_copies,
    tiles,
)
from hwsim.engine.gpu.kernel_constants import FLASH, flash_constants, flash_kernel_s
from hwsim.engine.gpu.rates import dram_bw, l2_bw
from hwsim.engine.simulate import simulate
from hwsim.hardware.chips import load_chip
from hwsim.workload.attention import AttentionShape
from hwsim.workload.model import Model
from hwsim.workload.ops import AttentionOp

K = FlashConstants(fa2_efficiency=0.7, fa3_efficiency=0.6, cta_fixed_s=2.5e-6,
                   kernel_fixed_s=2e-6)


def _chip(name: str, **over: object) -> GpuChip:
    chip = load_chip(name, {"cuda_graphs": True} | over)
    assert isinstance(chip, GpuChip)
    return chip


def _cost(shape: AttentionShape, batch: int, chip: GpuChip, k: FlashConstants = K):
    return flash_attention(shape, batch, chip, "bf16", 2, k, flash_kernel_s(chip, k))


def test_causal_key_tiles_by_hand() -> None:
    t = Tiles(128, 128, 1)
    causal = AttentionShape(1, 1, 512, 512, 128, causal=True)
    assert key_tiles_per_block(causal, t, False).tolist() == [1, 2, 3, 4]
    full = AttentionShape(1, 1, 512, 512, 128)
    assert key_tiles_per_block(full, t, False).tolist() == [4, 4, 4, 4]
    # Decode: one query sees the whole cache; 8 GQA heads packed as rows of one block.
    dec = AttentionShape(32, 4, 1, 1000, 128, causal=True)
    assert key_tiles_per_block(dec, Tiles(64, 128, 1), True).tolist() == [8]


def test_split_heuristic_by_hand() -> None:
    # 8 CTAs on 108 slots, 64 key tiles: 13 splits (104 CTAs, 96 % of a wave) is the best eligible
    # count; 11 (81.5 %) is under 85 % of it, 12 is not eligible (same tiles per split as 11).
    assert num_splits("fa3", 8, 108, 64) == 13
    assert num_splits("fa3", 100, 108, 64) == 1  # the grid already fills 80 % of the SMs
    assert num_splits("fa3", 8, 132, 4) == 1  # FA3 does not split four key tiles or fewer


def test_fa2_split_heuristic_counts_two_slots_per_sm() -> None:
    """FA2 hands the heuristic 2 x the SM count (flash_api.cpp set_params_splitkv, 128 threads
    per CTA). 8 CTAs on 216 slots, 64 key tiles: 22 splits (176 CTAs, 81.5 % of a wave) is the
    best eligible count (27 would fill the wave but gives the same 3 tiles per split as 26);
    16 (59 %) is under 85 % of it. A grid of 100 CTAs fills 80 % of 108 SMs but not of 216."""
    assert num_splits("fa2", 8, 108, 64) == 22
    assert num_splits("fa2", 100, 108, 64) > 1
    assert num_splits("fa2", 173, 108, 64) == 1  # 173 >= 0.8 x 216


def test_causal_prefill_costs_about_half_of_full() -> None:
    chip = _chip("h100-sxm")
    full = _cost(AttentionShape(32, 32, 8192, 8192, 128), 4, chip)
    causal = _cost(AttentionShape(32, 32, 8192, 8192, 128, causal=True), 4, chip)
    # Half the tiles plus the diagonal ones (computed in full).
    assert 0.5 < causal.compute_s / full.compute_s < 0.56
    assert causal.tensor_flops / full.tensor_flops == pytest.approx(65 / 128)  # sum(1..64)/64^2


def test_gqa_reads_kv_once_per_kv_head() -> None:
    chip = _chip("h100-sxm")
    mha = _cost(AttentionShape(32, 32, 1, 8192, 128, causal=True), 16, chip)
    gqa = _cost(AttentionShape(32, 8, 1, 8192, 128, causal=True), 16, chip)
    q_o = 2.0 * 16 * 32 * 128 * 2
    kv_mha, kv_gqa = mha.dram_bytes - q_o, gqa.dram_bytes - q_o
    assert kv_mha == pytest.approx(4 * kv_gqa) == pytest.approx(2.0 * 16 * 32 * 8192 * 128 * 2)
    assert gqa.mapping["packed_gqa"] and not mha.mapping["packed_gqa"]
    assert gqa.time_s < mha.time_s


def test_small_decode_splits_the_cache_and_adds_a_combine_kernel() -> None:
    chip = _chip("h100-sxm")
    one = _cost(AttentionShape(32, 8, 1, 32768, 128, causal=True), 1, chip)
    assert one.mapping["splits"] > 1 and one.kernels == 2
    assert one.launch_s == pytest.approx(2 * K.kernel_fixed_s)
    many = _cost(AttentionShape(32, 8, 1, 32768, 128, causal=True), 64, chip)
    assert many.mapping["splits"] == 1 and many.kernels == 1


def test_fa2_splits_only_its_gqa_decode_and_copies_around_the_swap() -> None:
    """FA2 (vLLM on A100) splits the KV range only for the GQA decode it reshapes, whose output
    it copies back, and whose q it copies in only when the reshape cannot be a view (batch and
    kv_heads both above 1: vLLM's fork, mha_varlen_fwd); MHA decode runs one long CTA per head
    unsplit. FA3 packs GQA in-kernel."""
    a100 = _chip("a100-sxm-80gb")
    gqa = _cost(AttentionShape(32, 8, 1, 32768, 128, causal=True), 1, a100)
    mha = _cost(AttentionShape(8, 8, 1, 32768, 128, causal=True), 1, a100)
    assert gqa.mapping["splits"] > 1 and gqa.kernels == 3  # attention, combine, out copy
    two = _cost(AttentionShape(32, 8, 1, 32768, 128, causal=True), 2, a100)
    assert two.kernels == 4  # q copy, attention, combine, out copy
    one_kv = _cost(AttentionShape(32, 1, 1, 32768, 128, causal=True), 2, a100)
    assert one_kv.kernels == 3  # one K/V head: q's reshape is a view
    assert [swap_copies(b, kv) for b, kv in ((1, 8), (2, 1), (2, 8))] == [1, 1, 2]
    assert mha.mapping["splits"] == 1 and mha.kernels == 1 and not mha.mapping["packed_gqa"]
    assert mha.time_s > gqa.time_s  # 8 CTAs walk 256 key tiles each
    h100 = _chip("h100-sxm")
    prefill = _cost(AttentionShape(32, 8, 512, 512, 128, causal=True), 4, h100)
    assert prefill.mapping["packed_gqa"] and prefill.kernels == 1


def test_mufu_limits_fa3_at_head_dim_64_not_128() -> None:
    """FA3 overlaps exponentials with the GEMMs: at head dim 64 and efficiency 1 the MUFU rate
    (16 exp/clk/SM) binds, so twice the tensor throughput gains nothing; at 128 it does."""
    k = dataclasses.replace(K, fa3_efficiency=1.0, cta_fixed_s=5e-8)
    chip = _chip("h100-sxm")
    twice = _chip("h100-sxm", tensor_flops_per_clk_per_sm={"fp16": 8192, "bf16": 8192,
                                                          "int8": 16384})
    d64 = AttentionShape(16, 16, 16384, 16384, 64)
    d128 = AttentionShape(16, 16, 16384, 16384, 128)
    assert _cost(d64, 8, twice, k).compute_s == pytest.approx(_cost(d64, 8, chip, k).compute_s)
    assert _cost(d128, 8, twice, k).compute_s < 0.8 * _cost(d128, 8, chip, k).compute_s


def test_fa2_adds_softmax_to_the_gemms_fa3_overlaps() -> None:
    h100 = _chip("h100-sxm")
    fa2 = _chip("h100-sxm", attention_kernel="fa2")
    k = dataclasses.replace(K, fa2_efficiency=0.6)  # same efficiency: only the overlap differs
    shape = AttentionShape(16, 16, 8192, 8192, 128)
    assert _cost(shape, 4, fa2, k).compute_s > _cost(shape, 4, h100, k).compute_s
    assert tiles("fa3", 64, False) == Tiles(192, 128, 1)
    assert tiles("fa2", 128, True) == Tiles(64, 128, 2)


def test_many_tiny_ctas_cost_waves_of_fixed_time() -> None:
    chip = _chip("h100-sxm")
    shape = AttentionShape(24, 24, 1, 1, 64, causal=True)
    small = _cost(shape, 4, chip)  # 96 CTAs: one wave
    big = _cost(shape, 128, chip)  # 3072 CTAs: 24 waves
    assert small.mapping["waves"] == 1 and big.mapping["waves"] == 24
    # Each wave: the fixed prologue/epilogue plus one key tile (the clocked SM time) ...
    assert big.compute_s - big.store_s == pytest.approx(24 * (small.compute_s - small.store_s))
    assert small.compute_s - small.store_s > K.cta_fixed_s
    # ... and every CTA waits for its own first K/V tile: 32x the CTAs, 32x the bytes.
    assert big.store_s == pytest.approx(32 * small.store_s)


def test_each_cta_waits_for_its_first_kv_tile() -> None:
    """A CTA's first K and V tiles arrive before its first GEMM with nothing of its own to hide
    them: distinct tiles (per sequence, K/V head and split) at DRAM bandwidth, other query
    blocks' copies of them at L2 bandwidth. The wait is SM time a lower clock does not
    stretch (store_s)."""
    a100 = _chip("a100-sxm-80gb")
    dec = _cost(AttentionShape(32, 8, 1, 4096, 128, causal=True), 4, a100)
    splits = int(dec.mapping["splits"])  # type: ignore[call-overload]
    tile = 2.0 * 128 * 128 * 2  # K and V, 128 keys x head dim 128, bf16
    assert dec.store_s == pytest.approx(4 * 8 * splits * tile / dram_bw(a100))
    assert first_tiles_s(AttentionShape(32, 8, 1, 4096, 128, causal=True), 4, splits,
                         4 * 8 * splits, tiles("fa2", 128, True), 2, 1e12, a100) == \
        pytest.approx(dec.store_s)
    # Causal prefill: every query block of a head starts at key tile 0; one fetch per K/V
    # head comes from DRAM, the other query blocks' copies from L2.
    h100 = _chip("h100-sxm")
    shape = AttentionShape(32, 8, 4096, 4096, 128, causal=True)
    pre = _cost(shape, 2, h100)
    # FA3 packs a K/V head's 4 query heads as rows: 16384 rows / 128-row tiles x 8 K/V heads x 2.
    ctas = 128 * 8 * 2
    distinct, every = 2 * 8 * tile, ctas * tile
    assert pre.store_s == pytest.approx(distinct / dram_bw(h100) + (every - distinct) / l2_bw(h100))
    # A short key range loads a short first tile.
    short = _cost(AttentionShape(32, 8, 1, 16, 128, causal=True), 4, a100)
    assert short.store_s == pytest.approx(4 * 8 * 2.0 * 16 * 128 * 2 / dram_bw(a100))


def test_golden_shipped_constants() -> None:
    """Regression: the shipped constants on two rows (values as of the fit)."""
    h100, a100 = _chip("h100-sxm"), _chip("a100-sxm-80gb")
    pre = flash_attention(AttentionShape(32, 8, 4096, 4096, 128, True), 1, h100, "bf16", 2,
                          FLASH, flash_kernel_s(h100, FLASH))
    dec = flash_attention(AttentionShape(32, 8, 1, 4096, 128, True), 1, a100, "bf16", 2,
                          FLASH, flash_kernel_s(a100, FLASH))
    assert pre.time_s == pytest.approx(2.9184e-4, rel=1e-3)
    assert dec.time_s == pytest.approx(2.3710e-5, rel=1e-3)


def test_engine_uses_flash_for_dense_attention_and_graph_mode_matters() -> None:
    op = AttentionOp(name="a", heads=32, kv_heads=8, seq_q=2048, seq_kv=2048, head_dim=128,
                     causal=True, dtype="bf16")
    m = Model(name="m", ops=(op,), origin="test")
    # In a burst: held at the limit this kernel throttles, and a longer launch gap lowers its
    # average power and so its throttle, which would blur the fixed-cost difference tested here.
    burst = {"sustained_load": False}
    eager = simulate(m, "h100-sxm", chip_overrides=burst)
    graph = simulate(m, "h100-sxm", chip_overrides=burst | {"cuda_graphs": True})
    assert eager.ops[0].mapping["kernel"] == "flash_attention_fa3"
    assert simulate(m, "a100-sxm-80gb").ops[0].mapping["kernel"] == "flash_attention_fa2"
    assert eager.total.latency_s - graph.total.latency_s == pytest.approx(
        4e-6 - FLASH.kernel_fixed_s, rel=0.05)


def test_constants_come_from_the_calibration_file() -> None:
    k = flash_constants()
    assert k == FLASH
    assert 0.2 < k.fa3_efficiency < 1.0 and 0.2 < k.fa2_efficiency < 1.0
    assert np.isfinite(k.cta_fixed_s) and k.kernel_fixed_s > 0
