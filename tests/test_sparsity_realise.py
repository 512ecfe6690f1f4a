"""Seeded sparsity realisation: exact counts, the documented laws, and their closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from hwsim.config.sparsity import (
    AttentionGateSpec,
    DenseSpec,
    MoeSpec,
    NmSpec,
    ReluSpec,
    TopKSpec,
    TraceSpec,
    Variability,
)
from hwsim.errors import HwsimError
from hwsim.kernels import sparsity_kernels as kern
from hwsim.sparsity import realise as rl


def _counts(mask) -> np.ndarray:
    return kern.popcount_rows(mask.bits)


# --------------------------------------------------------------------------- top-k


@pytest.mark.parametrize(("k_dim", "density"), [(1000, 0.05), (777, 0.013), (64, 1.0),
                                                (50, 0.0)])
def test_topk_exact_count_per_token(k_dim: int, density: float) -> None:
    m = rl.topk_masks(300, k_dim, density, seed=1)
    assert (_counts(m) == np.floor(density * k_dim + 0.5)).all()


def test_topk_blocks_are_whole_and_aligned() -> None:
    k_dim, block = 1000, 16  # 63 blocks, the last one 8 elements
    m = rl.topk_masks(200, k_dim, 0.1, seed=2, granularity="block", block=block)
    padded = np.zeros((200, 63 * block), dtype=bool)
    padded[:, :k_dim] = m.to_bool()
    per_block = padded.reshape(200, 63, block)
    active = per_block.any(axis=2)
    assert (active.sum(axis=1) == 6).all()  # round(0.1 * 63)
    full = per_block[:, :62].all(axis=2) | ~per_block[:, :62].any(axis=2)
    assert full.all(), "blocks are all-or-nothing"
    assert (kern.token_work(m.bits, k_dim, block) == 6).all()


def test_topk_density_spread() -> None:
    m = rl.topk_masks(4000, 1000, 0.05, seed=3, density_std=0.02)
    counts = _counts(m)
    assert counts.min() >= 1
    assert counts.std() == pytest.approx(20, rel=0.1)  # K * std
    assert counts.mean() == pytest.approx(1000 * rl.expected_clipped_density(0.05, 0.02, 1e-3),
                                          rel=0.02)


def test_popularity_skew_concentrates_firing() -> None:
    uniform = rl.topk_masks(2000, 512, 0.05, seed=4).to_bool().mean(axis=0)
    skewed = rl.topk_masks(2000, 512, 0.05, seed=4, popularity_skew=1.0).to_bool().mean(axis=0)
    assert uniform.max() < 0.08  # 0.05 plus sampling noise
    assert skewed.max() > 0.5
    assert skewed.max() > 8 * uniform.max()


@pytest.mark.parametrize("correlation", [0.0, 0.3, 0.8, 1.0])
def test_token_correlation_overlap_law(correlation: float) -> None:
    k_dim, k = 2000, 100
    mask = rl.topk_masks(1500, k_dim, k / k_dim, seed=5,
                         token_correlation=correlation).to_bool()
    overlap = (mask[1:] & mask[:-1]).sum(axis=1)
    kept = int(np.floor(correlation * k + 0.5))
    assert overlap.min() >= kept  # the kept share is always there
    # the k - R fresh units each land on one of the k - R dropped units with (k-R)/(U-R)
    expected = kept + (k - kept) ** 2 / (k_dim - kept)
    assert overlap.mean() == pytest.approx(expected, abs=0.3)


@pytest.mark.parametrize("batch", [1, 8, 64])
def test_union_matches_closed_form(batch: int) -> None:
    k_dim, density = 4096, 0.05
    m = rl.topk_masks(4096, k_dim, density, seed=6)
    union = kern.batch_union_counts(m.bits, batch).mean() / k_dim
    assert union == pytest.approx(rl.expected_union_density(density, batch), rel=0.03)
    assert rl.expected_union_density(density, batch) == pytest.approx(1 - 0.95**batch)

    corr = rl.topk_masks(4096, k_dim, density, seed=6, token_correlation=0.5)
    union_corr = kern.batch_union_counts(corr.bits, batch).mean() / k_dim
    want = rl.expected_union_density(density, batch, 0.5, k_dim=k_dim)
    assert union_corr == pytest.approx(want, rel=0.03)
    assert rl.expected_union_density(density, batch, 0.5) == pytest.approx(want, rel=0.02)
    if batch > 1:
        assert union_corr < 0.9 * union


def test_relu_union_is_independent() -> None:
    m = rl.relu_masks(4096, 2048, 0.05, seed=7)
    union = kern.batch_union_counts(m.bits, 8).mean() / 2048
    assert union == pytest.approx(1 - 0.95**8, rel=0.03)


# --------------------------------------------------------------------------- lanes, ReLU


def test_relu_density_and_lane_max() -> None:
    k_dim, lanes = 4096, 32
    m = rl.relu_masks(8192, k_dim, 0.05, seed=8)
    assert m.density() == pytest.approx(0.05, rel=0.01)
    fold_max, _ = kern.lane_work(m.bits, k_dim, lanes, 1)
    assert fold_max.mean() == pytest.approx(rl.expected_max_lane_nnz(k_dim, 0.05, lanes),
                                            rel=0.02)


def test_relu_spread_widens_lane_max() -> None:
    k_dim, lanes = 4096, 16
    m = rl.relu_masks(8192, k_dim, 0.05, seed=9, density_std=0.01)
    fold_max, _ = kern.lane_work(m.bits, k_dim, lanes, 1)
    want = rl.expected_max_lane_nnz(k_dim, 0.05, lanes, density_std=0.01)
    assert fold_max.mean() == pytest.approx(want, rel=0.03)
    assert want > rl.expected_max_lane_nnz(k_dim, 0.05, lanes)


def test_topk_lane_max_is_exact() -> None:
    m = rl.topk_masks(256, 1000, 0.05, seed=10)
    fold_max, fold_sum = kern.lane_work(m.bits, 1000, 8, 1)
    assert (fold_max == 50).all() and (fold_sum == 400).all()
    assert rl.expected_max_lane_nnz(1000, 0.05, 8, exact_topk=True) == 50
    assert rl.expected_max_lane_nnz(1000, 0.05, 1) == pytest.approx(50)


# --------------------------------------------------------------------------- densities


def test_draw_densities_law() -> None:
    d = rl.draw_densities(100_000, 0.02, 0.03, 11, min_density=0.001)
    assert d.min() == 0.001 and d.max() <= 1.0
    assert d.mean() == pytest.approx(rl.expected_clipped_density(0.02, 0.03, 0.001), rel=0.01)
    assert (rl.draw_densities(5, 0.3, 0.0, 11) == 0.3).all()


# --------------------------------------------------------------------------- MoE


def test_routes_are_distinct_and_skewed() -> None:
    tokens, experts, top_k = 4096, 16, 2
    uniform = rl.moe_routes(tokens, experts, top_k, seed=12)
    zipf = rl.moe_routes(tokens, experts, top_k, seed=12, routing="zipf", zipf_s=1.0)
    for routes in (uniform, zipf):
        assert routes.dtype == np.int32 and routes.shape == (tokens, top_k)
        assert (routes[:, 0] != routes[:, 1]).all()
        assert routes.min() >= 0 and routes.max() < experts
    heavy_uniform = np.bincount(uniform.ravel(), minlength=experts).max()
    heavy_zipf = np.bincount(zipf.ravel(), minlength=experts).max()
    assert heavy_zipf > 2 * heavy_uniform


@pytest.mark.parametrize(("experts", "top_k", "zipf_s"), [(8, 2, 1.0), (32, 4, 1.2),
                                                          (16, 1, 0.7)])
def test_expected_loads_match_routes(experts: int, top_k: int, zipf_s: float) -> None:
    tokens = 100_000
    routes = rl.moe_routes(tokens, experts, top_k, seed=13, routing="zipf", zipf_s=zipf_s)
    loads = np.sort(np.bincount(routes.ravel(), minlength=experts))[::-1]
    want = rl.expected_expert_loads(tokens, experts, top_k, "zipf", zipf_s)
    assert want.sum() == pytest.approx(tokens * top_k)
    # binomial standard error is at most sqrt(tokens)/2 ~ 160 tokens; allow 5 of them
    np.testing.assert_allclose(loads, want, atol=5 * np.sqrt(tokens) / 2)


def test_top1_inclusion_is_the_zipf_weight() -> None:
    w = np.arange(1, 9, dtype=float) ** -1.3
    np.testing.assert_allclose(rl.expected_expert_loads(1, 8, 1, "zipf", 1.3), w / w.sum())
    np.testing.assert_allclose(rl.expected_expert_loads(80, 8, 2), np.full(8, 20.0))


@pytest.mark.parametrize(("routing", "capacity_factor"), [("zipf", 1.25), ("uniform", 1.0)])
def test_dropped_matches_expectation(routing: str, capacity_factor: float) -> None:
    tokens, experts, top_k, seeds = 512, 16, 2, 200
    cap = rl.expert_capacity(tokens, experts, top_k, capacity_factor)
    drops = np.array([kern.expert_loads(rl.moe_routes(tokens, experts, top_k, seed=s,
                                                      routing=routing), experts, cap)[2]
                      for s in range(seeds)])
    want = rl.expected_dropped(tokens, experts, top_k, capacity_factor, routing)
    stderr = drops.std() / np.sqrt(seeds)
    assert abs(drops.mean() - want) < 4 * stderr + 0.5
    assert want > 0


def test_expert_capacity_rounding() -> None:
    assert 1.1 * 100 / 10 > 11  # the float product is 11.000000000000002
    assert rl.expert_capacity(100, 10, 1, 1.1) == 11
    assert rl.expert_capacity(100, 8, 2, 1.25) == 32
    assert rl.expert_capacity(0, 8, 2, 1.25) == 0


# --------------------------------------------------------------------------- attention, N:M


def test_attention_keep_ratio_by_depth() -> None:
    gates = rl.attention_gate_masks(6, 4, 32, 32, 0.5, seed=14, depth_decay=0.3)
    kept = gates.mean(axis=(1, 2, 3))
    want = rl.attention_keep_fraction(6, 32, 0.5, depth_decay=0.3)
    np.testing.assert_allclose(kept, want)
    np.testing.assert_allclose(want[:3], [16 / 32, 11 / 32, 8 / 32])  # round(16 * 0.7^l)
    assert (np.diff(kept) <= 0).all()
    assert gates.any(axis=3).all(), "every query block keeps at least one kv block"


def test_attention_head_granularity_keeps_whole_heads() -> None:
    gates = rl.attention_gate_masks(4, 8, 4, 4, 0.5, seed=15, depth_decay=0.5,
                                    granularity="head")
    per_head = gates.reshape(4, 8, -1)
    assert (per_head.all(axis=2) | ~per_head.any(axis=2)).all()
    assert per_head.all(axis=2).sum(axis=1).tolist() == [4, 2, 1, 1]  # at least one head


@pytest.mark.parametrize(("cols", "n", "m"), [(64, 2, 4), (100, 2, 4), (33, 1, 8), (16, 4, 4)])
def test_nm_exactness(cols: int, n: int, m: int) -> None:
    mask = rl.nm_mask(50, cols, n, m, seed=16)
    assert mask.shape == (50, cols)
    full = cols // m * m
    assert (mask[:, :full].reshape(50, -1, m).sum(axis=2) == n).all()
    if full < cols:
        assert (mask[:, full:].sum(axis=1) == min(n, cols - full)).all()


# --------------------------------------------------------------------------- determinism


GENERATORS = {
    "topk": lambda s: rl.topk_masks(64, 300, 0.1, seed=s, popularity_skew=0.5,
                                    token_correlation=0.4, density_std=0.02).bits,
    "relu": lambda s: rl.relu_masks(64, 300, 0.1, seed=s, density_std=0.02).bits,
    "routes": lambda s: rl.moe_routes(64, 16, 2, seed=s, routing="zipf"),
    "gates": lambda s: rl.attention_gate_masks(2, 2, 8, 8, 0.5, seed=s),
    "nm": lambda s: rl.nm_mask(16, 32, 2, 4, seed=s),
    "densities": lambda s: rl.draw_densities(16, 0.1, 0.05, s),
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_seeds_reproduce_and_differ(name: str) -> None:
    draw = GENERATORS[name]
    first = draw(123)
    assert first.tobytes() == draw(123).tobytes()
    assert not np.array_equal(first, draw(124))
    seq = np.random.SeedSequence([123, 7])  # reusing one SeedSequence object also reproduces
    assert draw(seq).tobytes() == draw(seq).tobytes()


# --------------------------------------------------------------------------- dispatch


def test_realise_dispatch() -> None:
    dense = rl.realise(DenseSpec(), 4, 13, 0)
    assert dense.density() == 1.0 and dense.k_dim == 13
    assert rl.realise(NmSpec(operand="weights"), 4, 13, 0).density() == 1.0
    nm = rl.realise(NmSpec(n=2, m=4, operand="activations"), 4, 16, 0)
    assert nm.density() == 0.5
    topk = rl.realise(TopKSpec(density=0.1), 8, 200, 0)
    assert (_counts(topk) == 20).all()
    relu = rl.realise(ReluSpec(density=0.2), 500, 200, 0)
    assert relu.density() == pytest.approx(0.2, rel=0.05)


def test_realise_mixes_the_variability_seed() -> None:
    a = rl.realise(TopKSpec(density=0.1, variability=Variability(std=0.02, seed=1)), 8, 200, 0)
    b = rl.realise(TopKSpec(density=0.1, variability=Variability(std=0.02, seed=2)), 8, 200, 0)
    again = rl.realise(TopKSpec(density=0.1, variability=Variability(std=0.02, seed=1)), 8,
                       200, 0)
    assert not np.array_equal(a.bits, b.bits)
    np.testing.assert_array_equal(a.bits, again.bits)


@pytest.mark.parametrize(("spec", "hint"), [
    (TraceSpec(path="masks.npz"), "load_trace"),
    (MoeSpec(), "moe_routes"),
    (AttentionGateSpec(keep_ratio=0.5), "attention_gate_masks"),
])
def test_realise_refuses_non_activation_kinds(spec: object, hint: str) -> None:
    with pytest.raises(HwsimError, match=hint):
        rl.realise(spec, 4, 16, 0)


def test_balanced_routing_deals_slots_round_robin_and_expectation_is_exact() -> None:
    from hwsim.sparsity.moe_expect import expected_loads

    for tokens, experts, top_k in ((5, 4, 2), (32, 256, 8), (1000, 7, 3), (3, 128, 6)):
        routes = rl.moe_routes(tokens, experts, top_k, seed=0, routing="balanced")
        assert all(len(set(row)) == top_k for row in routes.tolist())  # distinct per token
        loads = np.bincount(routes.ravel(), minlength=experts)
        assert loads.max() - loads.min() <= 1  # within one of the mean
        expect = expected_loads(tokens, experts, top_k, "balanced")
        assert expect.max_load == loads.max()
        assert expect.experts_used == np.count_nonzero(loads)
        assert sorted(rl.expected_expert_loads(tokens, experts, top_k, "balanced")) == sorted(
            loads)
    # Decode-sized batches touch every slot's own expert: 32 x 8 slots over 256 experts use all
    # 256 (uniform routing expects ~163), so the experts' weights all stream.
    assert expected_loads(32, 256, 8, "balanced").experts_used == 256
    assert expected_loads(32, 256, 8, "uniform").experts_used < 170
    # Balanced loads drop only what exceeds capacity: none at capacity factor 1.
    assert rl.expected_dropped(100, 8, 2, 1.0, "balanced") == 0.0
    assert rl.expected_dropped(100, 8, 2, 0.5, "balanced") == 100 * 2 - 8 * 13


def test_balanced_moe_runs_in_both_fidelities() -> None:
    import hwsim
    from hwsim.config.sparsity import MoeSpec
    from hwsim.workload.model import Model
    from hwsim.workload.ops import MoeOp

    op = MoeOp(name="moe", tokens=32, d_model=1024, d_ff=512, experts=64, top_k=4, gated=True,
               dtype="bf16", sparsity=MoeSpec(routing="balanced"))
    model = Model(name="m", ops=(op,), origin="test")
    analytic = hwsim.simulate(model, "h100-sxm").total.latency_s
    cycle = hwsim.simulate(model, "h100-sxm", fidelity="cycle", samples=2).total.latency_s
    assert cycle == pytest.approx(analytic, rel=0.15)
    uniform = Model(name="m", ops=(op.model_copy(update={
        "sparsity": MoeSpec(routing="uniform")}),), origin="test")
    # 128 slots over 64 experts: balanced uses all 64, uniform ~55, so balanced streams more.
    assert analytic > hwsim.simulate(uniform, "h100-sxm").total.latency_s
