"""What sparsity buys on each kind of hardware, quantified against realised masks."""

from __future__ import annotations

import math

import numpy as np
import pytest

import hwsim
from hwsim.engine.accelerator.systolic import compute_cycles
from hwsim.kernels import sparsity_kernels as kern
from hwsim.sparsity.realise import moe_routes, relu_masks, topk_masks

M, N, K = 256, 1024, 4096  # 256 tokens through a 4096 -> 1024 layer
DENSITIES = [1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01]


def chip(**features):
    base = {"dataflow": "os", "buffers.filter.size_bytes": 65536}
    return hwsim.load_chip("systolic-32x32", base | {f"sparse_features.{k}": v
                                                      for k, v in features.items()})


def run(c, density, kind="relu", m=M, n=N, k=K):
    spec = [] if density >= 1.0 else [f"*:{kind}:density={density}"]
    return hwsim.simulate(hwsim.gemm(m, n, k), c, sparsity=spec).total


def test_dense_chip_ignores_sparsity():
    c = chip()
    ref = run(c, 1.0)
    for d in DENSITIES[1:]:
        t = run(c, d)
        assert t.cycles == ref.cycles and t.energy_j == ref.energy_j
        assert t.bytes == ref.bytes


def test_gating_saves_energy_not_cycles():
    c = chip(zero_gating=True)
    dense = run(c, 1.0)
    tech = hwsim.load_tech(c.tech)
    e_mac, e_gated = tech.mac_energy_j("int8"), tech.gated_mac_energy_j("int8")
    for d in DENSITIES[1:]:
        t = run(c, d)
        assert t.cycles == dense.cycles
        # MAC energy is exactly d x full + (1-d) x gated (Sparseloop's gated-MAC ratio).
        want = dense.macs * (d * e_mac + (1 - d) * e_gated)
        assert t.energy_breakdown_j["mac"] == pytest.approx(want, rel=1e-9)
        assert t.energy_breakdown_j["offchip"] == dense.energy_breakdown_j["offchip"]
        assert t.energy_j < dense.energy_j


def test_skipping_cycles_track_density_plus_imbalance_of_real_masks():
    """On an output-stationary array each PE row takes one token and skips its zeros, so a
    fold lasts as long as its slowest lane. Compare with the slowest lanes of realised masks."""
    c = chip(zero_skipping=True)
    rows, cols = c.array.rows, c.array.cols
    dense = run(c, 1.0)
    col_folds = math.ceil(N / cols)
    for d in DENSITIES[1:]:
        t = run(c, d)
        masks = relu_masks(M, K, d, seed=7)
        max_per_fold, sum_per_fold = kern.lane_work(masks.bits, K, rows, 1)
        realised = int(np.sum(max_per_fold + rows + cols - 2)) * col_folds - 1
        assert t.compute_cycles == pytest.approx(realised, rel=0.03), d
        imbalance = float(np.mean(max_per_fold * rows / np.maximum(sum_per_fold, 1)))
        ideal = d * dense.compute_cycles
        assert ideal < t.compute_cycles <= imbalance * ideal + 2 * (rows + cols) * (
            M // rows) * col_folds
    # At 1 % the fill/drain and the slowest lane dominate: far from a 100x cut.
    assert run(c, 0.01).compute_cycles > 0.02 * dense.compute_cycles


def test_gather_bytes_track_density_until_the_burst_floor():
    """Decode (M = 1): a gather chip fetches the active weight rows only. Each row of a 32-column
    tile is 32 bytes, less than a 64-byte burst, so every fetched row costs a whole burst."""
    c = chip(gather=True)
    dense = hwsim.simulate(hwsim.gemm(1, N, K), c).total
    b_dense = K * N  # int8 weights
    for d in DENSITIES[1:]:
        t = run(c, d, kind="topk", m=1)
        b_sparse = t.bytes["offchip"] - (dense.bytes["offchip"] - b_dense) * 1.0
        burst_floor = 64 / (c.array.cols * 1)
        want = min(1.0, d * burst_floor) * b_dense
        assert b_sparse == pytest.approx(want, rel=0.01), d
    # With 64-byte rows (64 columns) the burst no longer wastes anything.
    wide = hwsim.load_chip(c, {"array.cols": 64})
    t = hwsim.simulate(hwsim.gemm(1, N, K), wide, sparsity=["*:topk:density=0.05"]).total
    t0 = hwsim.simulate(hwsim.gemm(1, N, K), wide).total
    assert t.bytes["offchip"] - (t0.bytes["offchip"] - b_dense) == pytest.approx(
        0.05 * b_dense, rel=0.01)


@pytest.mark.parametrize("batch", [1, 8, 64])
def test_batch_union_sets_weight_bytes(batch):
    """At density 0.05 the weights a batch fetches follow the union of its tokens' masks."""
    c = hwsim.load_chip("systolic-32x32", {"array.cols": 64, "sparse_features.gather": True,
                                           "buffers.filter.size_bytes": 1 << 24})
    d = 0.05
    masks = topk_masks(batch * 200, K, d, seed=3)
    realised_union = float(np.mean(kern.batch_union_counts(masks.bits, batch))) / K
    assert realised_union == pytest.approx(1 - (1 - d) ** batch, rel=0.05)
    t = hwsim.simulate(hwsim.gemm(batch, N, K), c, sparsity=[f"*:topk:density={d}"]).total
    t0 = hwsim.simulate(hwsim.gemm(batch, N, K), c).total
    weight_bytes = t.bytes["offchip"] - (t0.bytes["offchip"] - K * N)
    assert weight_bytes == pytest.approx(realised_union * K * N, rel=0.05)


def test_correlated_tokens_fetch_less_than_independent():
    c = hwsim.load_chip("systolic-32x32", {"array.cols": 64, "sparse_features.gather": True,
                                           "buffers.filter.size_bytes": 1 << 24})
    g = hwsim.gemm(8, N, K)
    indep = hwsim.simulate(g, c, sparsity=["*:topk:density=0.05"]).total.bytes["offchip"]
    corr = hwsim.simulate(g, c, sparsity=["*:topk:density=0.05,token_correlation=0.7"]
                          ).total.bytes["offchip"]
    assert corr < 0.7 * indep


def test_moe_zipf_imbalance_costs_what_the_load_histogram_predicts():
    """Experts run padded to the largest load (static shapes, dropless): zipf routing raises
    latency over uniform by the ratio of the largest realised expert loads."""
    tokens, experts, top_k, d_model, d_ff = 512, 8, 2, 256, 1024
    doc = {"schema_version": 1, "name": "moe", "source": "test", "ops": [
        {"kind": "moe", "name": "experts", "tokens": tokens, "d_model": d_model, "d_ff": d_ff,
         "experts": experts, "top_k": top_k}]}
    from hwsim.workload.load import model_from_doc

    model = model_from_doc(doc, "test")
    c = hwsim.load_chip("systolic-32x32", {"dataflow": "ws"})
    uni = hwsim.simulate(model, c, sparsity=["*:moe:routing=uniform,capacity_factor=100"])
    zipf = hwsim.simulate(model, c, sparsity=["*:moe:routing=zipf,zipf_s=1.2,"
                                              "capacity_factor=100"])
    max_loads = {}
    for routing in ("uniform", "zipf"):
        loads = [kern.expert_loads(moe_routes(tokens, experts, top_k, seed=s, routing=routing,
                                              zipf_s=1.2), experts, tokens)[0].max()
                 for s in range(40)]
        max_loads[routing] = float(np.mean(loads))
    rows, cols = c.array.rows, c.array.cols

    def expert_cycles(m):  # WS: up (d_model -> d_ff) and down (d_ff -> d_model) per expert
        m = math.ceil(m)
        return experts * int(compute_cycles(m, d_ff, d_model, rows, cols, "ws")
                             + compute_cycles(m, d_model, d_ff, rows, cols, "ws"))

    predicted = expert_cycles(max_loads["zipf"]) / expert_cycles(max_loads["uniform"])
    measured = zipf.total.compute_cycles / uni.total.compute_cycles
    assert predicted > 1.8
    assert measured == pytest.approx(predicted, rel=0.05)


def test_moe_capacity_drops_tokens_instead_of_waiting():
    tokens, experts = 512, 8
    doc = {"schema_version": 1, "name": "moe", "source": "test", "ops": [
        {"kind": "moe", "name": "experts", "tokens": tokens, "d_model": 256, "d_ff": 1024,
         "experts": experts, "top_k": 2}]}
    from hwsim.workload.load import model_from_doc

    model = model_from_doc(doc, "test")
    capped = hwsim.simulate(model, "systolic-32x32",
                            sparsity=["*:moe:routing=zipf,zipf_s=1.2,capacity_factor=1.25"])
    free = hwsim.simulate(model, "systolic-32x32",
                          sparsity=["*:moe:routing=zipf,zipf_s=1.2,capacity_factor=100"])
    assert capped.total.cycles < free.total.cycles


def test_nm_needs_hardware_support():
    g = hwsim.gemm(256, 1024, 1024)
    # Buffers that hold every operand: each byte is fetched once, so the off-chip saving is
    # the weights' compression alone.
    plain = hwsim.load_chip("systolic-32x32", {"dataflow": "ws", "offchip.bw_bytes_per_s": 1e12,
                                               **{f"buffers.{b}.size_bytes": 16 << 20
                                                  for b in ("ifmap", "filter", "ofmap")}})
    nm = hwsim.load_chip(plain, {"sparse_features.nm": [2, 4]})
    spec = ["*:nm:n=2,m=4,operand=weights"]
    assert hwsim.simulate(g, plain, sparsity=spec).total.cycles == hwsim.simulate(
        g, plain).total.cycles
    r = hwsim.simulate(g, nm, sparsity=spec, compare_dense=True)
    # Compute-bound: K halves, so the WS fold count over K halves; weights shrink to half plus
    # 2-bit metadata per kept weight.
    assert r.vs_dense["latency_ratio"] == pytest.approx(0.5, abs=0.08)
    assert r.total.compute_cycles < 0.6 * r.dense_total.compute_cycles
    w_dense, w_sparse = 1024 * 1024, r.total.bytes["offchip"] - (
        r.dense_total.bytes["offchip"] - 1024 * 1024)
    assert w_sparse == pytest.approx(w_dense * 0.5 * (1 + 2 / 8), rel=0.01)


def test_compare_dense_reports_ratios_and_predictor_cost():
    r = hwsim.simulate("selective-gpt2-small", "systolic-128x128", compare_dense=True)
    # No sparse features: the predictor is pure overhead.
    assert r.vs_dense["latency_ratio"] > 1.0 and r.vs_dense["energy_ratio"] > 1.0
    s = hwsim.simulate("selective-gpt2-small", "sparseflow-accel", compare_dense=True)
    assert s.vs_dense["energy_ratio"] < 0.8 and s.vs_dense["dram_bytes_ratio"] < 0.8
    doc = s.to_dict()
    assert set(doc["vs_dense"]) == {"latency_ratio", "energy_ratio", "dram_bytes_ratio"}


def test_same_inputs_same_sparse_result():
    a = hwsim.simulate("asa-gpt2-small", "stc-like", compare_dense=True).to_dict()
    b = hwsim.simulate("asa-gpt2-small", "stc-like", compare_dense=True).to_dict()
    assert a == b


def test_trace_masks_drive_the_engine(tmp_path):
    """Real masks (here: correlated top-k masks saved as a trace) replace the closed forms."""
    from hwsim.sparsity.traces import save_trace

    c = hwsim.load_chip("systolic-32x32", {"array.cols": 64, "sparse_features.gather": True,
                                           "sparse_features.zero_skipping": True,
                                           "buffers.filter.size_bytes": 1 << 24})
    g = hwsim.gemm(16, N, K)
    indep = topk_masks(16, K, 0.05, seed=1)
    corr = topk_masks(16, K, 0.05, seed=1, token_correlation=0.8)
    save_trace(tmp_path / "indep.npz", {"gemm": indep.to_bool()})
    save_trace(tmp_path / "corr.npz", {"gemm": corr.to_bool()})
    closed = hwsim.simulate(g, c, sparsity=["*:topk:density=0.05"]).total
    t_indep = hwsim.simulate(g, c, sparsity=[f"*:trace:path={tmp_path / 'indep.npz'}"]).total
    t_corr = hwsim.simulate(g, c, sparsity=[f"*:trace:path={tmp_path / 'corr.npz'}"]).total
    assert t_indep.bytes["offchip"] == pytest.approx(closed.bytes["offchip"], rel=0.03)
    assert t_corr.bytes["offchip"] < 0.6 * t_indep.bytes["offchip"]
    with pytest.raises(hwsim.HwsimError, match="no mask for op"):
        save_trace(tmp_path / "other.npz", {"other": indep.to_bool()})
        hwsim.simulate(g, c, sparsity=[f"*:trace:path={tmp_path / 'other.npz'}"])
