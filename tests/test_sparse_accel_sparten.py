"""Two-sided intersect PEs (SparTen's bitmask inner join, Eyeriss v2's CSC walk;
hwsim/engine/accelerator/dual_sparse.py) against a brute-force count.

No per-layer SparTen figure could be obtained (hwsim/data/reference/accelerator/sparten/
SOURCES.md), so the mechanism is checked: random activation bitmasks (one per token) and weight
bitmasks (one per filter) are ANDed, every PE of an output-stationary fold does popcount(AND)
useful MACs, and the fold lasts as long as its busiest PE; with greedy balancing (SparTen) the
work is spread, so a fold lasts the mean PE's work.
"""

from __future__ import annotations

import numpy as np
import pytest

import hwsim
from hwsim.engine.accelerator import dual_sparse


def brute_force_fold(d_a: float, d_w: float, k: int, rows: int, cols: int, folds: int,
                     seed: int) -> tuple[float, float]:
    """(mean busiest-PE work, mean PE work) over ``folds`` folds of rows tokens x cols filters."""
    rng = np.random.default_rng(seed)
    busiest, mean = [], []
    for _ in range(folds):
        act = rng.random((rows, 1, k)) < d_a
        wts = rng.random((1, cols, k)) < d_w
        work = (act & wts).sum(axis=2)  # popcount of the ANDed bitmasks, per PE
        busiest.append(work.max())
        mean.append(work.mean())
    return float(np.mean(busiest)), float(np.mean(mean))


@pytest.mark.parametrize(("d_a", "d_w", "k", "rows", "cols"), [
    (0.5, 0.4, 1152, 32, 32),
    (0.3, 0.3, 4608, 16, 24),
    (0.8, 0.6, 256, 8, 8),
])
def test_intersect_lane_work_matches_brute_force(d_a: float, d_w: float, k: int, rows: int,
                                                 cols: int) -> None:
    chip = hwsim.load_chip("eyeriss-v2-like")  # load_balance none
    busiest, mean = brute_force_fold(d_a, d_w, k, rows, cols, 40, 7)
    assert dual_sparse.intersect_lane_work(d_a, d_w, k, rows * cols, chip) == pytest.approx(
        busiest, rel=0.03)
    greedy = hwsim.load_chip("sparten-like")
    assert dual_sparse.intersect_lane_work(d_a, d_w, k, rows * cols, greedy) == pytest.approx(
        mean, rel=0.01)


def _cycles(chip: object, spec: list[str] | None) -> float:
    r = hwsim.simulate(hwsim.conv2d(28, 28, 128, 128, 3, 3, padding=1), chip, batch=1,
                       sparsity=spec, fidelity="analytic")
    return float(sum(op.compute_cycles for op in r.ops))


def test_sparten_preset_through_simulate() -> None:
    chip = hwsim.load_chip("sparten-like")
    spec = ["*:relu:density=0.4,weight_density=0.35"]
    dense, sparse = _cycles(chip, None), _cycles(chip, spec)
    # greedy balancing: the effectual MACs, up to the per-fold rounding of K
    assert sparse / dense == pytest.approx(0.4 * 0.35, rel=0.02)
    unbalanced = hwsim.load_chip(chip, {"sparse_features.load_balance": "none"})
    assert _cycles(unbalanced, spec) > 1.1 * sparse  # the busiest of 1,024 PEs
    # the Cartesian product on the same array is slower at these densities (fragmentation)
    cart = hwsim.load_chip(chip, {"sparse_features.pe_join": "cartesian"})
    assert _cycles(cart, spec) > sparse


def test_weight_density_does_nothing_without_weight_skipping() -> None:
    chip = hwsim.load_chip("sparseflow-accel")
    assert not chip.sparse_features.weight_skipping
    a = _cycles(chip, ["*:relu:density=0.4"])
    b = _cycles(chip, ["*:relu:density=0.4,weight_density=0.2"])
    assert a == b


def test_bad_weight_density_is_an_input_error(run_cli) -> None:
    code, _, err = run_cli("simulate", "--chip", "sparten-like", "--conv", "14,14,32,32,3,3",
                           "--sparsity", "*:relu:density=0.5,weight_density=1.5")
    assert code == 2 and "weight_density" in err
