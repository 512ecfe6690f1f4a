"""`hwsim validate sparse-accel`, DSTC: the Dual-side Sparse Tensor Core's 4096^3 GEMM latency
normalised to dense at nine (A, B) density pairs (DSTC Fig. 21 as Sparseloop's artifact ships it
for its Fig. 13; all held out).

Measured on this branch: hwsim's median |error| 5.15 % over the nine rows (-5.2 % to +11.5 %:
within 5.2 % where A is at most half dense, +9 to +11.5 % at A = 0.7 and 0.9, where the
per-step passes of 8 A nonzeros round up to the dense pass count and the real core is faster,
docs/sparse-accelerators.md); Sparseloop's uniform model 5.83 % on the eight rows it plots
(it under-predicts the sparse rows by up to 20 %), hwsim 7.02 % on those eight. Pinned with
a margin of one percentage point, so a change to the Cartesian-product path that moves these
fails here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import hwsim
from hwsim.engine.accelerator import dual_sparse
from hwsim.validation import sparse_accel

MEDIAN_ABS_ERROR = 0.0515  # measured, see the module docstring
MAX_ABS_ERROR = 0.1145  # measured: A 0.7, B 1.0
PEER_MEDIAN_ABS_ERROR = 0.0583  # Sparseloop's, from the artifact's figure


@pytest.fixture(scope="module")
def doc() -> dict:
    return sparse_accel.report()


def _table() -> list[dict[str, str]]:
    return sparse_accel._read("dstc", "sparseloop_fig13_gemm_latency.csv")


def test_reference_rows_are_consistent() -> None:
    rows = _table()
    assert [r["split"] for r in rows].count("dense_reference") == 1
    dense = next(r for r in rows if r["split"] == "dense_reference")
    assert (float(dense["a_density"]), float(dense["b_density"])) == (1.0, 1.0)
    pairs = {(float(r["a_density"]), float(r["b_density"])) for r in rows}
    assert pairs == {(a, b) for a in (1.0, 0.9, 0.7, 0.5, 0.3) for b in (1.0, 0.4)}
    for r in rows:
        assert (r["m"], r["n"], r["k"]) == ("4096", "4096", "4096")
        norm = float(r["ground_truth_latency"]) / float(dense["ground_truth_latency"])
        d_a, d_b = float(r["a_density"]), float(r["b_density"])
        # no core beats its effectual products, nor runs slower sparse than dense
        assert d_a * d_b <= norm <= 1.0
        if r["split"] == "held_out" and d_a < 1.0:
            assert abs(float(r["sparseloop_uniform_normalized"]) - norm) < 0.21
    # sparser A is never slower at the same B density (the figure is monotone)
    for b in (1.0, 0.4):
        lat = [float(r["ground_truth_latency"]) for r in rows if float(r["b_density"]) == b]
        assert lat == sorted(lat, reverse=True)


def test_median_error_is_pinned(doc: dict) -> None:
    s = doc["by_design"]["dstc"]
    assert s["rows"] == 9
    assert abs(s["median_abs_error"] - MEDIAN_ABS_ERROR) < 0.01
    assert s["median_abs_error"] <= doc["target_median_abs_error"]
    dstc = [r for r in doc["rows"] if r["design"] == "dstc"]
    assert all(r["held_out"] for r in dstc)
    assert max(abs(r["error"]) for r in dstc) < MAX_ABS_ERROR + 0.01
    assert abs(s["peer_median_abs_error"] - PEER_MEDIAN_ABS_ERROR) < 0.002


def test_fragmentation_matches_a_brute_force_count() -> None:
    """The outer product's passes per k, counted on random masks: a 32-long A segment with nA
    nonzeros takes ceil(nA/8) passes of the 8-row mesh, a B segment ceil(nB/16) of its 16
    columns; the dense step takes 4 x 2."""
    chip = hwsim.load_chip("dstc-like")
    rng = np.random.default_rng(7)
    for d_a, d_b in ((0.3, 0.4), (0.7, 1.0), (0.9, 0.4)):
        n_a = (rng.random((200_000, 32)) < d_a).sum(axis=1)
        n_b = (rng.random((200_000, 32)) < d_b).sum(axis=1)
        brute = float(np.mean(np.ceil(n_a / 8) * np.ceil(n_b / 16))) / 8.0
        ratio = dual_sparse.cartesian_ratio(d_a, d_b, 4096, 4096, 4096, 1, chip.array.rows,
                                            chip.array.cols, chip.sparse_features)
        assert ratio == pytest.approx(brute, rel=0.01)


def test_the_output_tile_is_what_bounds_the_speedup() -> None:
    """Without the 32-row output tile (activation_group unset) the A segment is the core's
    whole 4096-row column, so A's passes shrink to d_A of dense (no fragmentation on A) and
    only B's 32-long segments still round up: 0.16 at A 0.3, B 0.4, against the published
    0.239."""
    tiled = hwsim.load_chip("dstc-like")
    untiled = hwsim.load_chip(tiled, {"sparse_features.activation_group": None})
    spec = ["*:relu:density=0.3,weight_density=0.4"]
    ratios = [sparse_accel._latency_s(c, 4096, 4096, 4096, spec) /
              sparse_accel._latency_s(c, 4096, 4096, 4096, None) for c in (tiled, untiled)]
    assert ratios[0] == pytest.approx(0.227, abs=0.003)
    b_passes = dual_sparse.expected_ceil_binomial(32, 0.4, 16) / 2.0  # ~0.55
    assert ratios[1] == pytest.approx(0.3 * b_passes, rel=0.01)


def test_cli_prints_the_dstc_table(run_cli) -> None:
    code, out, _ = run_cli("validate", "sparse-accel")
    assert code == 0
    assert out.index("latency normalised to dense") < out.index("dstc-like") < out.index(
        "Per design")
    code, out, _ = run_cli("validate", "sparse-accel", "--json")
    assert code == 0
    rows = [r for r in json.loads(out)["rows"] if r["design"] == "dstc"]
    assert len(rows) == 9 and {r["metric"] for r in rows} == {"latency_vs_dense"}
    assert sum(r["peer"] is None for r in rows) == 1  # A 1.0, B 0.4: not in Sparseloop's plot
