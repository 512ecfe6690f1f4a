"""Attention is right: causal masks, grouped-query attention and sliding windows (issue 15).

Golden numbers are worked out by hand in each test from the shapes, never read back from hwsim.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hwsim
from hwsim.mapping.primitives import GemmWork, VectorWork, lower
from hwsim.workload.attention import AttentionShape, visible_pairs
from hwsim.workload.model import Model, model_from_ops
from hwsim.workload.ops import AttentionOp

CHIPS = ("h100-sxm", "tpu-v1-like", "eyeriss-like", "stm32h7a3-m7", "ethos-u55-128")
FIDELITIES = ("analytic", "cycle")
# Off-chip for GPUs and accelerators; SRAM on MCUs, where activations (the KV cache) live.
MEMORY = {"gpu": "offchip", "accelerator": "offchip", "mcu": "sram"}


def one(**kw: object) -> Model:
    args = {"name": "attn", "heads": 8, "seq_q": 1, "seq_kv": 2048, "head_dim": 64,
            "dtype": "int8"} | kw
    return model_from_ops("attention", [AttentionOp(**args)], source="test")


def attn_bytes(model: Model, chip: str, fidelity: str = "analytic", batch: int = 2) -> float:
    r = hwsim.simulate(model, chip, batch=batch, fidelity=fidelity)
    return float(r.ops[0].bytes[MEMORY[r.chip_kind]])


# ------------------------------------------------------------------ which keys a query sees


def test_causal_prefill_counts_each_query_position_once():
    # Query i of s sees i + 1 keys: 1 + 2 + ... + s = s (s + 1) / 2 pairs.
    s = 4096
    assert visible_pairs(s, s, True, None) == 4096 * 4097 // 2
    full = AttentionOp(name="a", heads=12, seq_q=s, seq_kv=s, head_dim=64)
    causal = full.model_copy(update={"causal": True})
    assert full.macs == 2 * 12 * 64 * s * s
    assert causal.macs * (2 * s) == full.macs * (s + 1)  # exactly (s+1)/(2s) of full


def test_chunked_prefill_and_decode_see_the_cache():
    # 4 new tokens on a 6-token cache: positions 6..9 see 7, 8, 9, 10 keys.
    assert visible_pairs(4, 10, True, None) == 7 + 8 + 9 + 10
    # Decode: the one new token sees every key, causal or not.
    assert visible_pairs(1, 100, True, None) == visible_pairs(1, 100, False, None) == 100


def test_window_caps_the_keys_of_every_query():
    # Prefill of 10 tokens, window 3: 1, 2, then 3 for the other 8 queries.
    assert visible_pairs(10, 10, True, 3) == 1 + 2 + 3 * 8
    # Decode with a window: the new token sees the last 32 keys only.
    assert visible_pairs(1, 100, True, 32) == 32
    # Chunked: positions 6..9 with window 8 see 7, 8, 8, 8.
    assert visible_pairs(4, 10, True, 8) == 7 + 8 + 8 + 8
    # A full (encoder) band of 5 keys per query.
    assert visible_pairs(10, 10, False, 5) == 50


def test_key_ranges_agree_with_the_closed_form():
    rng = np.random.default_rng(7)
    for _ in range(200):
        kv = int(rng.integers(1, 300))
        q = int(rng.integers(1, kv + 1))
        window = None if rng.random() < 0.3 else int(rng.integers(1, 400))
        causal = bool(rng.random() < 0.7)
        shape = AttentionShape(4, 2, q, kv, 16, causal, window)
        lo, hi = shape.key_ranges()
        assert int(np.sum(hi - lo)) == visible_pairs(q, kv, causal, window)
        assert np.all(lo >= 0) and np.all(hi <= kv) and np.all(hi > lo)


def test_flash_tiles_cover_every_visible_key_and_skip_the_masked_ones():
    # 256 causal queries in blocks of 128, key tiles of 64: block 0 (rows 0-127) reads keys
    # 0-127 (2 tiles), block 1 reads keys 0-255 (4 tiles): 128 + 256 keys, and computes
    # 128 x 128 + 128 x 256 (row, key) pairs.
    shape = AttentionShape(1, 1, 256, 256, 64, causal=True)
    assert shape.block_spans(128, 64) == (2, 128 + 256, 128 * 128 + 128 * 256)
    full = AttentionShape(1, 1, 256, 256, 64)
    assert full.block_spans(128, 64) == (2, 512, 256 * 256)


# ------------------------------------------------------------------ the lowering


def test_gqa_lowering_reads_k_and_v_once_per_kv_head():
    op = AttentionOp(name="a", heads=32, kv_heads=8, seq_q=1, seq_kv=8192, head_dim=128,
                     dtype="fp16", causal=True)
    qk, sm, pv = lower(op, batch=8)
    assert isinstance(qk, GemmWork) and isinstance(pv, GemmWork) and isinstance(sm, VectorWork)
    # 4 query heads share a K/V head: 8 K/V heads x 8 sequences GEMMs of 4 query rows.
    assert (qk.m, qk.n, qk.k, qk.count) == (4, 8192, 128, 64)
    assert (pv.m, pv.n, pv.k, pv.count) == (4, 128, 8192, 64)
    k_bytes = qk.k * qk.n * qk.count * qk.dtype_bytes
    assert k_bytes == 8192 * 8 * 128 * 2 * 8  # seq x kv_heads x head_dim x bytes x batch
    # MACs are unchanged by GQA: 2 x 32 heads x 8192 keys x 128 x 8 sequences.
    macs = qk.m * qk.n * qk.k * qk.count + pv.m * pv.n * pv.k * pv.count
    assert macs == op.macs * 8 == 2 * 32 * 8192 * 128 * 8


def test_causal_lowering_uses_the_mean_visible_keys():
    op = AttentionOp(name="a", heads=12, seq_q=1024, seq_kv=1024, head_dim=64, causal=True)
    qk, sm, _ = lower(op, batch=1)
    assert qk.n == 513  # ceil(1024 * 1025 / 2 / 1024) = ceil(512.5)
    assert sm.elements == 12 * 1024 * 513


def test_topk_density_applies_to_the_visible_keys():
    from hwsim.config.sparsity import TopKSpec

    op = AttentionOp(name="a", heads=2, seq_q=512, seq_kv=512, head_dim=64, causal=True,
                     sparsity=TopKSpec(density=0.25))
    qk, sm, _ = lower(op, batch=1)
    assert qk.n == 257 and qk.sparsity is not None  # ceil(513 / 2) visible keys per query
    assert sm.elements == int(np.ceil(2 * 512 * 257 * 0.25))


def test_attention_gate_blocks_count_visible_keys():
    from hwsim.config.sparsity import AttentionGateSpec

    gate = AttentionGateSpec(keep_ratio=0.5, granularity="block", block=64)
    full = AttentionOp(name="a", heads=2, seq_q=1024, seq_kv=1024, head_dim=64, sparsity=gate)
    causal = full.model_copy(update={"causal": True})
    assert lower(full, 1)[0].n == 512  # half of 16 blocks of 64
    assert lower(causal, 1)[0].n == 320  # 513 visible -> 9 blocks -> 5 kept x 64


# ------------------------------------------------------------------ every backend


@pytest.mark.parametrize("fidelity", FIDELITIES)
@pytest.mark.parametrize("chip", CHIPS)
def test_gqa_kv_bytes_scale_with_kv_heads(chip, fidelity):
    # Decode, int8, batch 2: K and V of kv heads are 2 x 2048 x kv x 64 x 1 B x 2 = 524288 kv.
    b = {kv: attn_bytes(one(kv_heads=kv, causal=True), chip, fidelity) for kv in (8, 4, 2)}
    per_kv_head = (b[8] - b[4]) / 4
    # Linear in kv_heads, up to split-KV decode's fp32 partial outputs (their count follows the
    # grid, so the split count changes with kv_heads: hwsim.engine.gpu.flash).
    assert b[4] - b[2] == pytest.approx(2 * per_kv_head, rel=0.05)
    assert per_kv_head >= 2 * 2048 * 64 * 2 * (1 - 1e-9)  # each K/V head read at least once
    assert b[2] < b[8] / 3  # 8 -> 2 K/V heads: nearly a quarter of the bytes


@pytest.mark.parametrize("fidelity", FIDELITIES)
def test_gpu_decode_reads_the_kv_cache_once_per_kv_head(fidelity):
    # Q and O: 8 heads x 64 x 1 B x 2 sequences each; K and V: 2 x 2048 x 2 x 64 x 2.
    expected = 8 * 64 * 2 + 2 * 2048 * 2 * 64 * 2 + 8 * 64 * 2
    assert attn_bytes(one(kv_heads=2), "h100-sxm", fidelity) == expected


@pytest.mark.parametrize("fidelity", FIDELITIES)
@pytest.mark.parametrize("chip", CHIPS)
def test_decode_is_unaffected_by_the_causal_mask(chip, fidelity):
    full = hwsim.simulate(one(), chip, batch=2, fidelity=fidelity)
    causal = hwsim.simulate(one(causal=True), chip, batch=2, fidelity=fidelity)
    assert causal.total.latency_s == full.total.latency_s
    assert causal.total.energy_j == full.total.energy_j
    assert causal.total.macs == full.total.macs


@pytest.mark.parametrize("fidelity", FIDELITIES)
@pytest.mark.parametrize("chip", ("h100-sxm", "tpu-v1-like", "stm32h7a3-m7"))
def test_causal_prefill_does_about_half_the_work(chip, fidelity):
    # On the GPU a small attention is launch-bound: give it enough work to fill 132 SMs.
    s, heads = (4096, 32) if chip == "h100-sxm" else (512, 2)
    full = hwsim.simulate(one(heads=heads, seq_q=s, seq_kv=s), chip, fidelity=fidelity)
    causal = hwsim.simulate(one(heads=heads, seq_q=s, seq_kv=s, causal=True), chip,
                            fidelity=fidelity)
    assert causal.total.macs * 2 * s == full.total.macs * (s + 1)
    ratio = causal.total.latency_s / full.total.latency_s
    assert 0.45 < ratio < 0.8, ratio  # half the MACs, plus masked keys on diagonal tiles


def test_gpt2_prefill_is_no_longer_costed_as_bert():
    def attention_macs(name: str) -> int:
        r = hwsim.simulate(hwsim.load_model(name, seq=4096), "h100-sxm")
        return sum(o.macs for o in r.ops if o.kind == "attention")

    # Both: 12 layers x 12 heads x 64; GPT-2 sees 4096 x 4097 / 2 pairs per head, BERT 4096^2.
    assert attention_macs("bert-base") == 12 * 2 * 12 * 64 * 4096 * 4096
    assert attention_macs("gpt2-small") == 12 * 2 * 12 * 64 * 4096 * 4097 // 2


def test_llama2_decode_kv_heads_override_cuts_attention_reads_4x():
    def attention_bytes(kv: int) -> float:
        m = hwsim.load_model("llama2-7b", seq=8192, phase="decode",
                             overrides={"builder.kv_heads": kv})
        r = hwsim.simulate(m, "h100-sxm", batch=8)
        return sum(o.bytes["offchip"] for o in r.ops if o.kind == "attention")

    # Per layer: K+V = 2 x 8192 x kv x 128 x 2 B x 8; Q+O = 2 x 32 x 128 x 2 B x 8; 32 layers.
    for kv in (32, 8):
        assert attention_bytes(kv) == 32 * (2 * 8192 * kv * 128 * 2 * 8 + 2 * 32 * 128 * 2 * 8)


@pytest.mark.parametrize("chip", ("h100-sxm", "tpu-v1-like", "stm32h7a3-m7"))
def test_window_caps_decode_reads(chip):
    # A 256-key window reads a 256-token cache, however long the sequence.
    w = attn_bytes(one(seq_kv=8192, causal=True, window=256), chip)
    assert w == attn_bytes(one(seq_kv=256, causal=True), chip)
    assert w < attn_bytes(one(seq_kv=8192, causal=True), chip) / 8


# ------------------------------------------------------------------ KV cache and memory fit


def test_kv_cache_bytes_follow_kv_heads_and_window():
    def kv(**overrides: object) -> int:
        m = hwsim.load_model("llama2-7b", seq=4096, phase="decode",
                             overrides={f"builder.{k}": v for k, v in overrides.items()})
        return m.kv_cache_bytes

    # 32 layers x K and V x 4096 tokens x kv_heads x 128 x 2 B (fp16).
    assert kv() == 32 * 2 * 4096 * 32 * 128 * 2 == 2**31
    assert kv(kv_heads=8) == 2**31 // 4
    assert kv(kv_heads=8, window=1024) == 2**31 // 16  # a rolling cache of 1024 tokens


def test_405b_fit_counts_the_gqa_kv_cache():
    from hwsim.workload.memory import kv_cache_bytes

    m = hwsim.load_model("llama3-405b-8bit", seq=2048, phase="decode")
    # 126 layers x 2 x 2048 tokens x 8 KV heads x 128 x 1 B, for 4 sequences.
    assert kv_cache_bytes(m, 4) == 126 * 2 * 2048 * 8 * 128 * 4


def test_mcu_arena_follows_kv_heads():
    r = {kv: hwsim.simulate(one(seq_kv=1024, kv_heads=kv, causal=True), "stm32h7a3-m7")
         for kv in (8, 2)}
    arena = {kv: r[kv].ops[0].mapping["fit"]["arena_bytes"] for kv in r}
    # Q, O: 2 x 8 x 64; K, V: 2 x kv x 1024 x 64; scores: 8 x 1024 (1 B each, batch 1).
    assert arena[8] == 2 * 8 * 64 + 2 * 8 * 1024 * 64 + 8 * 1024
    assert arena[2] == 2 * 8 * 64 + 2 * 2 * 1024 * 64 + 8 * 1024


# ------------------------------------------------------------------ properties


@settings(max_examples=25, deadline=None)
@given(heads_log=st.integers(0, 4), group_log=st.integers(0, 4), seq=st.integers(1, 3000),
       causal=st.booleans(), window=st.one_of(st.none(), st.integers(1, 4000)),
       chip=st.sampled_from(("h100-sxm", "tpu-v1-like", "stm32h7a3-m7")))
def test_fewer_kv_heads_never_more_kv_bytes(heads_log, group_log, seq, causal, window, chip):
    heads = 2 ** (heads_log + group_log)
    kv_more, kv_less = 2 ** group_log, max(1, 2 ** group_log // 2)
    more = one(heads=heads, kv_heads=kv_more, seq_kv=seq, causal=causal, window=window)
    less = one(heads=heads, kv_heads=kv_less, seq_kv=seq, causal=causal, window=window)
    assert less.kv_cache_bytes <= more.kv_cache_bytes
    assert attn_bytes(less, chip, batch=1) <= attn_bytes(more, chip, batch=1)


@settings(max_examples=25, deadline=None)
@given(seq=st.integers(1, 2000), extra=st.integers(1, 2000), decode=st.booleans(),
       causal=st.booleans(), window=st.one_of(st.none(), st.integers(1, 3000)),
       chip=st.sampled_from(("h100-sxm", "tpu-v1-like", "stm32h7a3-m7")))
def test_a_longer_sequence_is_never_cheaper(seq, extra, decode, causal, window, chip):
    def cost(s: int) -> tuple[float, float, int]:
        m = one(heads=4, kv_heads=2, seq_q=1 if decode else s, seq_kv=s, causal=causal,
                window=window)
        r = hwsim.simulate(m, chip)
        return r.total.latency_s, r.total.energy_j, r.total.macs

    short, long = cost(seq), cost(seq + extra)
    # Latency within 0.1 %: the GPU attention kernel spreads its math evenly over the busy SMs,
    # so a second query block (GQA rows 92 -> 130 at seq 46 -> 65, h100-sxm) halves the work
    # per SM without counting the padded rows of a partly filled block (4.14915 -> 4.14890 us,
    # under the launch floor). Energy and MACs never fall.
    slack = (1e-3, 1e-12, 0.0)
    assert all(b >= a * (1 - tol) for a, b, tol in zip(short, long, slack, strict=True)), (
        short, long)


# ------------------------------------------------------------------ bad input


def test_bad_attention_fields_exit_2_naming_the_field(tmp_path, run_cli):
    import yaml

    doc = {"schema_version": 1, "name": "m", "source": "test",
           "builder": {"kind": "transformer", "layers": 1, "d_model": 64, "heads": 8,
                       "kv_heads": 3, "d_ff": 64, "seq": 16}}
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(doc))
    code, out, err = run_cli("simulate", "--model", str(path), "--chip", "h100-sxm")
    assert code == 2 and "kv_heads=3 must divide heads=8" in err and "[1, 2, 4, 8]" in err
    doc["builder"] |= {"kv_heads": 2, "window": 0}
    path.write_text(yaml.safe_dump(doc))
    code, out, err = run_cli("simulate", "--model", str(path), "--chip", "h100-sxm")
    assert code == 2 and "builder.window" in err and "Traceback" not in out + err


def test_causal_queries_must_be_the_last_of_the_sequence():
    with pytest.raises(ValueError, match="seq_q <= seq_kv"):
        AttentionOp(name="a", heads=1, seq_q=8, seq_kv=4, head_dim=8, causal=True)


def test_presets_mark_decoders_causal_and_encoders_full():
    def causal(name: str) -> set[bool]:
        return {op.causal for op in hwsim.load_model(name).ops if isinstance(op, AttentionOp)}

    for name in ("gpt2-small", "llama2-7b", "mixtral-8x7b", "llama3-405b-8bit"):
        assert causal(name) == {True}, name
    for name in ("bert-base", "vit-b16", "relu-t5-base"):
        assert causal(name) == {False}, name
    kv = {op.kv_heads for op in hwsim.load_model("mixtral-8x7b").ops
          if isinstance(op, AttentionOp)}
    assert kv == {8}
