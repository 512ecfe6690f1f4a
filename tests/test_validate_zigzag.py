"""hwsim against ZigZag 3.9.1 on the same layers and designs (held-out peer, cached results).

The issue-16 targets are median |error| <= 15 % per layer on DRAM traffic, total energy and
latency. What holds is asserted at 15 %; what misses is asserted at the figure measured, with
its cause in docs/zigzag.md, so a regression still fails.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from functools import cache

import pytest

from hwsim.validation import zigzag

TARGET = 0.15


@cache
def rows(objective: str) -> list[zigzag.LayerComparison]:
    return zigzag.comparisons(objective)


def _median(sel: list[zigzag.LayerComparison], metric: str) -> float:
    return statistics.median(abs(r.error(metric)) for r in sel)


@pytest.mark.parametrize("objective", ["energy", "latency"])
def test_every_cached_layer_is_compared(objective: str):
    got = rows(objective)
    assert len(got) == 78 * 3  # 4 GEMMs + 21 ResNet-18 + 53 MobileNetV2 layers per design
    assert {r.hardware for r in got} == set(zigzag.PRESETS)
    # the layers are the same work: MACs agree exactly
    import hwsim

    for z in zigzag.load_zigzag_layers(objective=objective)[:30]:
        model, batch = zigzag.layer_model(z)
        assert hwsim.simulate(model, zigzag.PRESETS[z.hardware], batch=batch).total.macs \
            == z.macs


@pytest.mark.parametrize("objective", ["energy", "latency"])
def test_dram_traffic_and_energy_meet_the_target(objective: str):
    got = rows(objective)
    for key, med in zigzag.medians(got).items():
        assert med["dram_bytes"] <= TARGET, key
    assert _median(got, "dram_bytes") <= TARGET
    assert _median(got, "energy_pj") <= TARGET
    for hw in ("tpu_like", "eyeriss_like"):
        sel = [r for r in got if r.hardware == hw]
        assert _median(sel, "energy_pj") <= TARGET, hw


def test_latency_meets_the_target_under_zigzag_s_latency_objective():
    got = rows("latency")
    assert _median(got, "latency_cycles") <= TARGET
    tpu = [r for r in got if r.hardware == "tpu_like"]
    assert _median(tpu, "latency_cycles") <= TARGET


def test_known_misses_stay_where_they_were_measured():
    """Energy-objective latency (15.2 % overall, docs/zigzag.md: ZigZag's K x C unrolling and
    its on-chip port stalls vs hwsim's im2col folds) and the edge TPU's 4-D array run as a 2-D
    output-stationary one (GEMM energy 34 %, latency 92 %)."""
    got = rows("energy")
    assert _median(got, "latency_cycles") <= 0.17
    edge_gemm = [r for r in got if (r.hardware, r.workload) == ("edge_tpu_like", "gemm")]
    assert _median(edge_gemm, "energy_pj") <= 0.40


def test_mac_and_dram_energy_levels_agree_and_the_rest_is_reported():
    levels = zigzag.level_totals(rows("energy"))
    for (hw, wl), lv in levels.items():
        zz, hs = lv["mac"]
        assert hs == pytest.approx(zz, rel=1e-6), (hw, wl)
        zz, hs = lv["offchip"]
        assert hs == pytest.approx(zz, rel=0.05), (hw, wl)


def test_validate_accelerator_prints_the_peer_and_its_json():
    proc = subprocess.run([sys.executable, "-m", "hwsim.cli", "validate", "accelerator",
                           "--json"], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc["zigzag"]) == {"energy", "latency"}
    rep = doc["zigzag"]["energy"]
    assert "held out" in rep["peer"]
    assert len(rep["layers"]) == 234
    assert rep["overall_median_abs_error"]["dram_bytes"] <= TARGET
