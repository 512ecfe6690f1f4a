"""Invariants over random chips and shapes (hypothesis)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

import hwsim

BASE = hwsim.load_chip("systolic-32x32")

chips = st.fixed_dictionaries({
    "array.rows": st.integers(1, 256),
    "array.cols": st.integers(1, 256),
    "dataflow": st.sampled_from(["os", "ws", "is"]),
    "buffers.ifmap.size_bytes": st.integers(64, 8 << 20),
    "buffers.filter.size_bytes": st.integers(64, 8 << 20),
    "buffers.ofmap.size_bytes": st.integers(64, 8 << 20),
    "offchip.bw_bytes_per_s": st.floats(1e8, 2e12),
    "clock_hz": st.floats(1e7, 3e9),
    "array.dtype": st.sampled_from(["int8", "int16", "fp16", "fp32"]),
    "tech": st.sampled_from(["45nm", "7nm"]),
})

gemms = st.tuples(st.integers(1, 2048), st.integers(1, 2048), st.integers(1, 2048)).map(
    lambda t: hwsim.gemm(*t))
convs = st.tuples(st.integers(3, 64), st.integers(1, 64), st.integers(1, 128),
                  st.sampled_from([1, 3, 5]), st.sampled_from([1, 2])).map(
    lambda t: hwsim.conv2d(t[0], t[0], t[1], t[2], t[3], t[3], stride=t[4],
                           padding=t[3] // 2))
workloads = st.one_of(gemms, convs)


def sim(model, overrides, batch=1):
    return hwsim.simulate(model, hwsim.load_chip(BASE, overrides), batch=batch)


@settings(max_examples=150, deadline=None)
@given(chip=chips, model=workloads, batch=st.integers(1, 4))
def test_basic_invariants(chip, model, batch):
    r = sim(model, chip, batch)
    t = r.total
    pes = chip["array.rows"] * chip["array.cols"]
    assert t.cycles >= 0 and t.energy_j >= 0 and t.stall_cycles >= 0
    assert all(v >= 0 for v in t.energy_breakdown_j.values())
    assert abs(sum(t.energy_breakdown_j.values()) - t.energy_j) <= 1e-12 * max(1.0, t.energy_j)
    assert t.macs == model.macs * batch
    assert t.cycles >= t.macs / pes - 1e-9
    assert t.cycles == t.compute_cycles + t.stall_cycles
    assert 0 < t.utilization <= 1.0 + 1e-12
    for op in r.ops:
        assert abs(sum(op.energy_breakdown_j.values()) - op.energy_j) <= 1e-12 * max(
            1.0, op.energy_j)


@settings(max_examples=100, deadline=None)
@given(chip=chips, model=workloads, factor=st.floats(1.0, 100.0))
def test_more_bandwidth_never_adds_cycles(chip, model, factor):
    slow = sim(model, chip)
    fast = sim(model, {**chip, "offchip.bw_bytes_per_s": chip["offchip.bw_bytes_per_s"] * factor})
    assert fast.total.cycles <= slow.total.cycles
    assert fast.total.compute_cycles == slow.total.compute_cycles


@settings(max_examples=100, deadline=None)
@given(chip=chips, model=workloads, which=st.sampled_from(["ifmap", "filter", "ofmap"]),
       factor=st.integers(2, 64))
def test_bigger_buffer_never_adds_offchip_traffic(chip, model, which, factor):
    key = f"buffers.{which}.size_bytes"
    small = sim(model, chip)
    big = sim(model, {**chip, key: chip[key] * factor})
    assert big.total.bytes["offchip"] <= small.total.bytes["offchip"]


@settings(max_examples=30, deadline=None)
@given(chip=chips, model=workloads)
def test_same_inputs_same_output_bit_for_bit(chip, model):
    a = json.dumps(sim(model, chip).to_dict(), sort_keys=True)
    b = json.dumps(sim(model, chip).to_dict(), sort_keys=True)
    assert a == b
