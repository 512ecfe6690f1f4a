"""The off-chip mapper (hwsim/engine/accelerator/mapper.py): hand-counted traffic, halos, the
objectives, monotonicity in the buffers, and the numba sweep kernel against the numpy rule."""

from __future__ import annotations

import numpy as np
import pytest

import hwsim
from hwsim.engine.accelerator.mapper import (
    OBJECTIVES,
    ORDER_CLASSES,
    candidates,
    map_designs,
    objective_cost,
    select,
)
from hwsim.mapping.loopnest import LoopNest

BIG = 1 << 30
J = (1.2e-10, 1.0e-10, 1.1e-10)  # J per off-chip byte of ifmap, weights, outputs


def _chip(**overrides: object) -> object:
    return hwsim.load_chip("systolic-32x32", dict(overrides))


def test_a_layer_that_fits_moves_its_unique_bytes_once():
    """ifmap, weights and outputs once each, at the operand width: the real ifmap, not the 9x
    im2col matrix (issue 16: tpu-v1-like moved 4.6x the unique bytes)."""
    c = hwsim.load_chip("tpu-v1-like")
    conv = hwsim.conv2d(56, 56, 64, 64, 3, 3, padding=1)
    r = hwsim.simulate(conv, c)
    unique = 56 * 56 * 64 + 64 * 64 * 9 + 56 * 56 * 64  # int8
    assert r.total.bytes["offchip"] == unique


def test_gemm_with_everything_on_chip_is_hand_counted():
    c = _chip(**{f"buffers.{b}.size_bytes": 1 << 20 for b in ("ifmap", "filter", "ofmap")})
    r = hwsim.simulate(hwsim.gemm(64, 96, 80), c)
    assert r.total.bytes["offchip"] == 64 * 80 + 80 * 96 + 64 * 96


def test_tile_footprints_and_halo_are_the_loop_nest_s():
    """A conv tile of oy x ox outputs needs ((oy-1)s+FY) x ((ox-1)s+FX) input pixels; cutting
    OY in two re-fetches the FY - stride overlapping rows."""
    nest = LoopNest(b=1, k=8, c=4, oy=16, ox=16, fy=3, fx=3, stride=1, in_h=18, in_w=18)
    cands = candidates(nest, 1)
    tile = cands.tile
    half = np.flatnonzero((tile[:, 0] == 1) & (tile[:, 1] == 8) & (tile[:, 2] == 4)
                          & (tile[:, 3] == 8) & (tile[:, 4] == 16))
    assert half.size == 3  # one per loop-order class
    i = half[0]
    assert cands.need_a[i] == 4 * (7 + 3) * 18
    assert cands.need_b[i] == 8 * 4 * 9
    assert cands.need_c[i] == 8 * 8 * 16 * 4  # accumulator width
    # the ws class keeps weights once; ifmap: two halves of 10 rows each = 20 > 18 rows
    ws = half[cands.order[half] == ORDER_CLASSES.index("ws")][0]
    assert cands.offchip_a[ws] == 4 * 20 * 18
    assert cands.offchip_b[ws] == 8 * 4 * 9
    assert cands.offchip_c[ws] == 8 * 16 * 16  # T_C = 1: outputs written once


def test_partial_sums_spill_when_the_reduction_is_cut_outside():
    nest = LoopNest(b=1, k=4, c=64, oy=4, ox=1)
    cands = candidates(nest, 1)
    cut = np.flatnonzero((cands.tile[:, 2] == 16) & (cands.order == ORDER_CLASSES.index("ws"))
                         & (cands.tile[:, 1] == 4) & (cands.tile[:, 3] == 4))[0]
    outputs = 4 * 4
    assert cands.offchip_c[cut] == outputs * 4 * (2 * 4 - 1)  # written 4x, read back 3x
    os_ = np.flatnonzero((cands.tile[:, 2] == 16) & (cands.order == ORDER_CLASSES.index("os"))
                         & (cands.tile[:, 1] == 4) & (cands.tile[:, 3] == 4))[0]
    assert cands.offchip_c[os_] == outputs  # C innermost: each output written once


def test_eyeriss_3x3_conv_moves_a_small_multiple_of_its_unique_bytes():
    """Issue 16: 94.4 MB off chip for one 56x56x64 -> 64 3x3 conv; the layer's unique bytes
    are 0.88 MB at 16 bit."""
    r = hwsim.simulate(hwsim.conv2d(56, 56, 64, 64, 3, 3, padding=1), "eyeriss-like")
    unique = (56 * 56 * 64 * 2 + 64 * 64 * 9) * 2
    assert unique <= r.total.bytes["offchip"] <= 2.5 * unique
    assert r.ops[0].mapping["offchip_tiles"][0]["fits"]


@pytest.mark.parametrize("seed", range(3))
def test_bigger_buffers_never_move_more(seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(30):
        nest = LoopNest(b=int(rng.integers(1, 4)), k=int(rng.integers(1, 300)),
                        c=int(rng.integers(1, 300)), oy=int(rng.integers(1, 60)),
                        ox=int(rng.integers(1, 60)), fy=3, fx=3, stride=1,
                        in_h=0, in_w=0)
        nest = LoopNest(**{**nest.__dict__, "in_h": nest.oy + 2, "in_w": nest.ox + 2})
        cands = candidates(nest, 1)
        caps = rng.integers(256, 1 << 20, size=3).astype(float)
        more = caps * rng.uniform(1, 8, 3)
        small, _ = select(cands, *caps, "latency", 1e5, 8.0, J, 0.0)
        big, _ = select(cands, *more, "latency", 1e5, 8.0, J, 0.0)
        assert cands.total[big] <= cands.total[small]
        # the energy objective: never more energy with more buffer
        e = objective_cost("energy", cands, 1e5, 8.0, J, 0.0)
        small, _ = select(cands, *caps, "energy", 1e5, 8.0, J, 0.0)
        big, _ = select(cands, *more, "energy", 1e5, 8.0, J, 0.0)
        assert e[big] <= e[small]


def test_objectives_trade_bytes_for_time():
    """Each objective is minimal on its own measure among what fits."""
    nest = LoopNest(b=1, k=256, c=256, oy=28, ox=28, fy=3, fx=3, stride=1, in_h=30, in_w=30)
    cands = candidates(nest, 1)
    caps, comp, bw = (16384.0, 16384.0, 16384.0), 2e5, 4.0
    picks = {o: select(cands, *caps, o, comp, bw, J, 1e-4)[0] for o in OBJECTIVES}
    cost = {o: objective_cost(o, cands, comp, bw, J, 1e-4)
            for o in OBJECTIVES}
    for o in OBJECTIVES:
        for other in OBJECTIVES:
            assert cost[o][picks[o]] <= cost[o][picks[other]]


def test_mapping_objective_field_reaches_the_result():
    conv = hwsim.conv2d(28, 28, 128, 128, 3, 3, padding=1)
    c = _chip(**{"offchip.bw_bytes_per_s": 4e9})
    e = hwsim.simulate(conv, c)
    lat = hwsim.simulate(conv, hwsim.load_chip(c, {"mapping_objective": "latency"}))
    assert lat.ops[0].mapping["objective"] == "latency"
    assert e.total.bytes["offchip"] <= lat.total.bytes["offchip"]
    assert lat.total.cycles <= e.total.cycles


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_sweep_kernel_equals_the_numpy_rule(objective: str, shared: bool):
    rng = np.random.default_rng(7)
    nests = [LoopNest(b=int(rng.integers(1, 3)), k=int(rng.integers(1, 200)),
                      c=int(rng.integers(1, 200)), oy=int(rng.integers(1, 40)),
                      ox=int(rng.integers(1, 40)), repeats=float(rng.integers(1, 4)))
             for _ in range(12)]
    n_design = 64
    cap = rng.integers(64, 1 << 18, size=(3, n_design)).astype(float)
    bw = rng.uniform(0.5, 64, n_design)
    comp = rng.uniform(1e3, 1e6, (len(nests), n_design))
    fixed = rng.uniform(1e-6, 1e-3, len(nests))
    byte_j = tuple(rng.uniform(5e-11, 2e-10, n_design) for _ in range(3))
    got = map_designs(nests, 1, cap[0], cap[1], cap[2], objective, comp, bw, byte_j, fixed,
                      shared)
    for w, nest in enumerate(nests):
        cands = candidates(LoopNest(**{**nest.__dict__, "repeats": 1.0}), 1)
        for d in range(n_design):
            i, ok = select(cands, cap[0, d], cap[1, d], cap[2, d], objective,
                           comp[w, d] / nest.repeats, bw[d],
                           (byte_j[0][d], byte_j[1][d], byte_j[2][d]), fixed[w] / nest.repeats,
                           shared)
            assert got["fits"][w, d] == ok
            assert got["a"][w, d] == cands.offchip_a[i] * nest.repeats
            assert got["b"][w, d] == cands.offchip_b[i] * nest.repeats
            assert got["c"][w, d] == cands.offchip_c[i] * nest.repeats


def test_nothing_fits_takes_the_smallest_tile_and_says_so():
    nest = LoopNest(b=1, k=64, c=64, oy=64, ox=1)
    cands = candidates(nest, 1)
    i, ok = select(cands, 1.0, 1.0, 1.0, "energy", 1.0, 1.0, J, 0.0)
    assert not ok and i == cands.smallest
    assert tuple(cands.tile[i]) == (1, 1, 1, 1, 1)


def test_a_shared_global_buffer_lends_ifmap_space_to_outputs():
    """Split 50/50 the output tile does not fit; shared, the same bytes hold both."""
    conv = hwsim.conv2d(28, 28, 32, 256, 3, 3, padding=1)
    split = _chip(**{"buffers.ifmap.size_bytes": 96 << 10, "buffers.ofmap.size_bytes": 1024,
                     "buffers.filter.size_bytes": 16 << 10})
    shared = hwsim.load_chip(split, {"buffers.ifmap_ofmap_shared": True})
    unique = 28 * 28 * 32 + 256 * 32 * 9 + 28 * 28 * 256
    assert hwsim.simulate(conv, shared).total.bytes["offchip"] == unique
    assert hwsim.simulate(conv, split).total.bytes["offchip"] > 2 * unique


def test_wider_partial_sums_spill_more_bytes():
    """A reduction cut into tiles spills partial sums at the accumulator width."""
    g = hwsim.gemm(256, 256, 4096)
    narrow = _chip(**{"dataflow": "ws", "array.accumulator_bytes": 2})
    wide = hwsim.load_chip(narrow, {"array.accumulator_bytes": 4})
    a, b = hwsim.simulate(g, narrow).total, hwsim.simulate(g, wide).total
    assert a.bytes["ofmap_sram"] < b.bytes["ofmap_sram"]
    assert a.bytes["offchip"] <= b.bytes["offchip"]
