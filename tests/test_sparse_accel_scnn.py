"""SCNN's Cartesian-product PE (scnn-like, hwsim/engine/accelerator/dual_sparse.py) against a
brute-force simulation of the same PE array.

The paper's per-layer figures are compared in tests/test_sparse_accel_scnn_paper.py; here the
mechanism itself is checked: random weight and activation masks of a convolution are
split over the 8x8 PEs as SCNN's planar tiling does, every input channel of every output group
issues ceil(Nw/F) x ceil(Na/I) multiplier-array cycles, and every group waits for its slowest
PE. The closed form must agree with that count.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import hwsim
from hwsim.engine.accelerator import dual_sparse


def brute_force_ratio(d_a: float, d_w: float, h: int, w: int, c: int, k: int, rs: int,
                      pe_side: int, f: int, i: int, kc: int, seed: int) -> float:
    """Sparse / dense PE-array cycles of one layer, counted mask by mask."""
    rng = np.random.default_rng(seed)
    pes = pe_side * pe_side
    tile = math.ceil(h * w / pes)
    act = rng.random((pes, c, tile)) < d_a  # each PE's planar tile, per input channel
    sparse = dense = 0.0
    for _ in range(math.ceil(k / kc)):
        wts = rng.random((c, min(k, kc) * rs)) < d_w  # the group's weights, broadcast
        n_w = np.ceil(wts.sum(axis=1) / f)  # per channel
        n_a = np.ceil(act.sum(axis=2) / i)  # per PE and channel
        sparse += float(np.max((n_a * n_w[None, :]).sum(axis=1)))  # slowest PE
        dense += c * math.ceil(min(k, kc) * rs / f) * math.ceil(tile / i)
    return sparse / dense


def test_expected_ceil_matches_sampling() -> None:
    rng = np.random.default_rng(1)
    counts = rng.binomial(37, 0.3, size=200_000)
    assert dual_sparse.expected_ceil_binomial(37, 0.3, 4) == pytest.approx(
        np.mean(np.ceil(counts / 4)), rel=0.005)
    assert dual_sparse.expected_ceil_binomial(37, 1.0, 4) == 10


@pytest.mark.parametrize(("d_a", "d_w", "h", "c", "k", "rs"), [
    (0.35, 0.4, 28, 64, 64, 9),    # a 3x3 layer: long weight vectors, little fragmentation
    (0.5, 0.35, 14, 128, 64, 1),   # a 1x1 layer: 8 x d_w weights per vector, fragmented
    (0.25, 0.6, 56, 32, 16, 25),   # 5x5, sparse activations: imbalance over PEs shows
])
def test_cartesian_ratio_matches_brute_force(d_a: float, d_w: float, h: int, c: int, k: int,
                                             rs: int) -> None:
    feat = hwsim.load_chip("scnn-like").sparse_features
    model = dual_sparse.cartesian_ratio(d_a, d_w, h * h, k, c * rs, rs, 32, 32, feat)
    brute = np.mean([brute_force_ratio(d_a, d_w, h, h, c, k, rs, 8, 4, 4, 8, s)
                     for s in range(3)])
    assert model == pytest.approx(brute, rel=0.04)  # measured: within 2 %
    # and fragmentation/imbalance really cost something: slower than the effectual MACs
    assert model > d_a * d_w


def test_bank_throughput_is_a_throttle_only_below_f_times_i() -> None:
    assert dual_sparse.bank_throughput(4, 4, 32) == 1.0
    assert dual_sparse.bank_throughput(4, 4, 16) == 1.0
    assert dual_sparse.bank_throughput(4, 4, 8) == 0.5


def _conv_cycles(chip: object, spec: list[str] | None) -> float:
    r = hwsim.simulate(hwsim.conv2d(28, 28, 128, 128, 3, 3, padding=1), chip, batch=1,
                       sparsity=spec, fidelity="analytic")
    return float(sum(op.compute_cycles for op in r.ops))


def test_scnn_preset_through_simulate() -> None:
    chip = hwsim.load_chip("scnn-like")
    spec = ["*:relu:density=0.4,weight_density=0.35"]
    dense, sparse = _conv_cycles(chip, None), _conv_cycles(chip, spec)
    ratio = dual_sparse.cartesian_ratio(0.4, 0.35, 28 * 28, 128, 128 * 9, 9, 32, 32,
                                        chip.sparse_features)
    assert sparse / dense == pytest.approx(ratio, rel=0.05)
    # fewer accumulator banks than the 16 products per cycle halve the throughput at 8
    few = hwsim.load_chip(chip, {"sparse_features.accumulator_banks": 8})
    assert _conv_cycles(few, spec) == pytest.approx(2 * sparse, rel=0.05)
    # wider vectors fragment more at these densities
    wide = hwsim.load_chip(chip, {"sparse_features.cartesian_f": 16})
    assert _conv_cycles(wide, spec) > sparse
    # the activation-only spec still benefits (Cartesian product of nonzero activations)
    assert _conv_cycles(chip, ["*:relu:density=0.4"]) < dense
    # and a chip that does not skip weights runs the dense weights
    no_w = hwsim.load_chip(chip, {"sparse_features.weight_skipping": False})
    assert _conv_cycles(no_w, spec) > sparse


def test_partial_sums_follow_the_shrunk_reduction() -> None:
    """Input-stationary: K is spatial, partial sums spill once per K fold; with two-sided
    skipping only the folds of the compacted K spill (sram_traffic's k_reduce; with the dense
    folds' psum traffic SCNN's energy ratio was 0.68 at densities where its compute ratio is
    0.17)."""
    m = hwsim.conv2d(28, 28, 128, 128, 3, 3, padding=1)
    dense = hwsim.simulate(m, "scnn-like", batch=1).ops[0]
    sparse = hwsim.simulate(m, "scnn-like", batch=1,
                            sparsity=["*:relu:density=0.4,weight_density=0.35"]).ops[0]
    k, rows = 128 * 9, 32
    eff = dual_sparse.cartesian_ratio(0.4, 0.35, 28 * 28, 128, k, 9, 32, 32,
                                      hwsim.load_chip("scnn-like").sparse_features)
    sparse_folds, dense_folds = math.ceil(math.ceil(k * eff) / rows), math.ceil(k / rows)
    # psums written once per K fold and read back on all but the first
    folds = (2 * sparse_folds - 1) / (2 * dense_folds - 1)
    psum = sparse.bytes["ofmap_sram"] - 28 * 28 * 128 * 2  # less the outputs read out (int16)
    dense_psum = dense.bytes["ofmap_sram"] - 28 * 28 * 128 * 2
    assert psum / dense_psum == pytest.approx(folds, rel=0.02)
