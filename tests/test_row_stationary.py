"""Row-stationary dataflow, PE scratchpads and per-level energies given by the chip."""

from __future__ import annotations

import numpy as np
import pytest

import hwsim
from hwsim.engine.accelerator.rowstationary import rs_mapping
from hwsim.errors import HwsimError
from hwsim.mapping.loopnest import LoopNest

# AlexNet CONV1 as Eyeriss ran it: batch 4, 227x227x3 -> 96 filters of 11x11, stride 4.
CONV1 = LoopNest(b=4, k=96, c=3, oy=55, ox=55, fy=11, fx=11, stride=4, in_h=227, in_w=227)


def test_alexnet_conv1_cycles_are_hand_counted():
    """FY = 11 rows of 12 hold one set; OY = 55 is cut into 4 strips of <= 14 columns; each of
    the 4 x 96 x 3 planes takes OX x FX = 605 cycles per strip."""
    m = rs_mapping([CONV1], np.array([12.0]), np.array([14.0]), 2, 24, 448, 48,
                   (1e-12, 1e-12, 1e-12))
    assert m.compute_cycles[0, 0] == 4 * 96 * 3 * 4 * 55 * 11
    # Eyeriss reports 154 of 168 PEs active on CONV1 (JSSC 2017); the fold here keeps 151.
    assert m.utilization[0, 0] == pytest.approx(CONV1.macs / (2_787_840 * 168))


def test_short_filters_stack_sets_and_short_outputs_sit_side_by_side():
    nest = LoopNest(b=1, k=8, c=8, oy=7, ox=7, fy=3, fx=3, stride=1, in_h=9, in_w=9)
    m = rs_mapping([nest], np.array([12.0]), np.array([14.0]), 2, 24, 448, 48, (1, 1, 1))
    sets = (12 // 3) * (14 // 7)
    assert m.compute_cycles[0, 0] == np.ceil(64 / sets) * 1 * 7 * 3


def test_bigger_scratchpads_never_add_buffer_traffic():
    nests = [CONV1, LoopNest(b=1, k=256, c=128, oy=27, ox=27, fy=5, fx=5, stride=1,
                             in_h=31, in_w=31)]
    e = (1e-12, 1.2e-12, 1.5e-12)
    small = rs_mapping(nests, np.array([12.0]), np.array([14.0]), 2, 24, 448, 48, e)
    big = rs_mapping(nests, np.array([12.0]), np.array([14.0]), 2, 96, 1792, 192, e)

    def cost(m):  # the quantity p and q are chosen to minimise
        return m.read_a * e[0] + m.read_b * e[1] + (m.read_c + m.write_c) * e[2]

    assert (cost(big) <= cost(small)).all()
    assert (big.compute_cycles == small.compute_cycles).all()


def test_rs_needs_scratchpads_and_cannot_skip():
    with pytest.raises(HwsimError, match="pe_register_files"):
        hwsim.load_chip("systolic-32x32", {"dataflow": "rs"})
    with pytest.raises(HwsimError, match="zero_skipping"):
        hwsim.load_chip("eyeriss-like", {"sparse_features.zero_skipping": True})


def test_rs_chip_simulates_both_fidelities_and_sweeps_alike():
    conv = hwsim.conv2d(27, 27, 48, 128, 5, 5, padding=2)
    c = hwsim.load_chip("eyeriss-like")
    a = hwsim.simulate(conv, c)
    y = hwsim.simulate(conv, c, fidelity="cycle")
    assert a.total.compute_cycles == y.total.compute_cycles
    assert y.total.cycles == pytest.approx(a.total.cycles, rel=0.03)
    assert a.ops[0].mapping["dataflow"] == "rs"
    from hwsim.engine.accelerator.sweep import designs_like, sweep_accelerator

    designs, clock = designs_like(c, rows=np.array([12.0, 24.0]), cols=np.array([14.0, 14.0]))
    res = sweep_accelerator(conv, c, designs, clock)
    assert res.cycles[0] == a.total.cycles
    bigger = hwsim.simulate(conv, hwsim.load_chip(c, {"array.rows": 24}))
    assert res.cycles[1] == bigger.total.cycles


def test_scratchpad_energy_is_charged_per_mac_and_follows_its_figures():
    g = hwsim.gemm(128, 128, 128, dtype="int16")
    c = hwsim.load_chip("eyeriss-like")
    base = hwsim.simulate(g, c).total.energy_breakdown_j["pe_rf"]
    assert base > 0
    hot = hwsim.load_chip(c, {"pe_register_files.read_energy_pj_per_byte": 10.0,
                              "pe_register_files.write_energy_pj_per_byte": 10.0})
    macs = 128 ** 3
    per_mac = (2 * 2 + 4 + 4) * 10e-12  # int16 ifmap and weight, 4-byte psum read and write
    e_hot = hwsim.simulate(g, hot).total.energy_breakdown_j["pe_rf"]
    assert e_hot > macs * per_mac  # plus the ifmap and weight bytes filled into the spads
    psum = hwsim.load_chip(hot, {"pe_register_files.psum_read_energy_pj_per_byte": 20.0})
    assert hwsim.simulate(g, psum).total.energy_breakdown_j["pe_rf"] - e_hot == pytest.approx(
        macs * 4 * 10e-12)
    systolic = hwsim.simulate(g, "systolic-32x32").total.energy_breakdown_j["pe_rf"]
    assert systolic == 0.0


@pytest.mark.parametrize("path,component", [
    ("array.mac_energy_pj", "mac"),
    ("buffers.ifmap.read_energy_pj_per_byte", "ifmap_sram"),
    ("buffers.filter.write_energy_pj_per_byte", "filter_sram"),
    ("buffers.ofmap.read_energy_pj_per_byte", "ofmap_sram"),
    ("offchip.energy_pj_per_byte", "offchip"),
])
def test_given_energies_replace_the_tech_table(path: str, component: str):
    g = hwsim.gemm(256, 256, 256)
    c = hwsim.load_chip("systolic-32x32")
    before = hwsim.simulate(g, c).total.energy_breakdown_j[component]
    low = hwsim.simulate(g, hwsim.load_chip(c, {path: 1e-3})).total.energy_breakdown_j
    high = hwsim.simulate(g, hwsim.load_chip(c, {path: 1e3})).total.energy_breakdown_j
    assert low[component] < before < high[component]


def test_run_length_coding_packs_pairs_into_words():
    from hwsim.engine.accelerator.sparse_effects import rle_ratio

    # 16-bit: three 21-bit pairs per 64-bit word; a quarter nonzero -> 1/4 x 64/3 / 16 bits
    assert rle_ratio(0.25, 2) == pytest.approx((0.25 + 0.75 ** 32 / 32) * 64 / 3 / 16)
    assert rle_ratio(1.0, 2) == 1.0  # dense data would grow: stored raw
    assert rle_ratio(0.5, 1) < rle_ratio(0.5, 2) * 1.6  # 8-bit: four 13-bit pairs per word


def test_offchip_compression_cuts_sparse_ifmap_bytes_only_where_asked():
    conv = hwsim.conv2d(27, 27, 96, 128, 5, 5, padding=2, dtype="int16")
    c = hwsim.load_chip("eyeriss-like")
    raw = hwsim.load_chip(c, {"sparse_features.offchip_compression": "none"})
    spec = ["*:relu:density=0.3"]
    packed = hwsim.simulate(conv, c, sparsity=spec).total.bytes["offchip"]
    plain = hwsim.simulate(conv, raw, sparsity=spec).total.bytes["offchip"]
    assert packed < plain
    assert hwsim.simulate(conv, c).total.bytes["offchip"] == hwsim.simulate(
        conv, raw).total.bytes["offchip"]  # dense ifmaps: nothing to compress
