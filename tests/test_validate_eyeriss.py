"""`hwsim validate accelerator`: the Eyeriss silicon figures (JSSC 2017) and the comparison.

Errors measured on the merged issue-16 tree (eyeriss-like row-stationary, shared GLB, zero
gating, run-length-coded fmaps off chip, the measured runs' 60 MHz link, a 65 nm table):
median |error| 44 % over 59 held-out figures; frames/s +27.7 % (AlexNet, 44.3 vs 34.7) and
+205 % (VGG-16, 2.14 vs 0.7); DRAM accesses/MAC 1.09-2.77x the measured per layer (0.0049 vs
0.0029 AlexNet, 0.0055 vs 0.0035 VGG-16); chip power -25 to -76 % (140 vs 278 mW, 155 vs
236 mW: scaled energies, no clock network). Before the loop-nest mapper (main 2ef22a3) the
median was 2193 %. The 15 % targets of issue 16 are missed here; docs/eyeriss.md says why.
Asserted below: what holds today, with margin, so a regression fails.
"""

from __future__ import annotations

import json

import pytest

from hwsim.engine.simulate import simulate
from hwsim.validation import eyeriss
from hwsim.workload.load import load_model

LAYER_COLUMNS = ("layer", "hwsim_op", "batch", "power_mw", "total_latency_ms",
                 "processing_latency_ms", "macs_g", "active_pes", "zeros_in_ifmaps_pct",
                 "glb_accesses_mb", "dram_accesses_mb", "source", "note")


@pytest.fixture(scope="module")
def doc() -> dict:
    return eyeriss.report()


@pytest.mark.parametrize(("network", "layers", "table"), [("alexnet", 5, "Table V"),
                                                          ("vgg16", 13, "Table VI")])
def test_layer_tables_agree_with_the_papers_totals(network: str, layers: int,
                                                   table: str) -> None:
    rows = eyeriss.measured_layers(network)
    total = eyeriss.network_totals()[network]
    assert len(rows) == layers and tuple(rows[0]) == LAYER_COLUMNS
    assert all(table in r["source"] and "[secondary" in r["source"] for r in rows)
    assert all(r["batch"] == total["batch"] for r in rows)
    latency = [float(r["total_latency_ms"]) for r in rows]
    assert sum(latency) == pytest.approx(float(total["total_latency_ms"]), abs=0.15)
    assert sum(float(r["processing_latency_ms"]) for r in rows) == pytest.approx(
        float(total["processing_latency_ms"]), abs=0.15)
    # The measured chip power is the latency-weighted mean of the layers' powers.
    weighted = sum(float(r["power_mw"]) * t for r, t in zip(rows, latency, strict=True))
    assert weighted / sum(latency) == pytest.approx(float(total["power_mw"]), abs=0.5)
    # frames/s is the batch over the total latency (the text rounds VGG-16's 0.696 to 0.7).
    fps = int(total["batch"]) / (float(total["total_latency_ms"]) / 1e3)
    assert fps == pytest.approx(float(total["frames_per_s"]), rel=0.01)
    assert all(0 <= float(r["zeros_in_ifmaps_pct"]) < 100 for r in rows)


@pytest.mark.parametrize("network", ["alexnet", "vgg16"])
def test_the_model_presets_are_the_measured_workloads(network: str) -> None:
    rows = eyeriss.measured_layers(network)
    total = eyeriss.network_totals()[network]
    model, batch = load_model(total["hwsim_model"]), int(total["batch"])
    ops = {op.name: op for op in model.ops}
    assert [r["hwsim_op"] for r in rows] == [op.name for op in model.ops]
    for r in rows:  # the tables print G MACs per batch with two decimals
        assert ops[r["hwsim_op"]].macs * batch / 1e9 == pytest.approx(float(r["macs_g"]),
                                                                      abs=0.006)
    assert model.macs * batch / 1e9 == pytest.approx(float(total["macs_g"]), abs=0.01)
    # The headline accesses/MAC follow from the DRAM MB (10^6 B, 2 B per access) and the MACs.
    per_mac = float(total["dram_mb_per_batch"]) * 1e6 / 2 / (model.macs * batch)
    assert per_mac == pytest.approx(float(total["dram_accesses_per_mac"]), abs=0.00005)


def test_alexnet_dram_layers_sum_to_the_total_and_unreadable_cells_stay_empty() -> None:
    alex = eyeriss.measured_layers("alexnet")
    assert sum(float(r["dram_accesses_mb"]) for r in alex) == pytest.approx(15.4)
    vgg = {r["layer"]: r for r in eyeriss.measured_layers("vgg16")}
    assert vgg["CONV1-1"]["dram_accesses_mb"] == "" and "321.1" in vgg["CONV1-1"]["note"]


def test_measured_zero_fractions_reach_the_simulation() -> None:
    dense = simulate("alexnet-conv", eyeriss.CHIP, batch=4)
    sparse = eyeriss.simulated("alexnet")
    assert sparse.inputs["model"]["hash"] != dense.inputs["model"]["hash"]
    assert sparse.batch == 4 and eyeriss.simulated("vgg16").batch == 3


def test_report_rows_and_fields(doc: dict) -> None:
    rows = doc["rows"]
    # 5 AlexNet + 13 VGG-16 layers x 3 metrics, less VGG CONV1-1's DRAM; 3 totals per network.
    assert len(rows) == 5 * 3 + 13 * 3 - 1 + 2 * 3
    fields = {"network", "layer", "metric", "unit", "measured", "hwsim", "error", "held_out",
              "source"}
    assert all(set(r) == fields and r["held_out"] is True for r in rows)
    assert {r["metric"] for r in rows} == set(eyeriss.METRICS)
    for r in rows:
        assert r["error"] == pytest.approx((r["hwsim"] - r["measured"]) / r["measured"])
    totals = {(r["network"], r["metric"]): r for r in rows if r["layer"] == "total"}
    assert totals[("alexnet", "frames_per_s")]["measured"] == 34.7
    assert totals[("vgg16", "dram_accesses_per_mac")]["measured"] == 0.0035
    med = doc["median_abs_error"]
    assert set(med) == {"all", *eyeriss.METRICS} and med["all"] > 0
    assert doc["zero_features"].keys() == {"zero_gating", "zero_skipping"}


def test_the_power_split_covers_the_papers_bounds(doc: dict) -> None:
    # JSSC 2017 Sec. VI-A on Fig. 16: ALUs < 10 %, data movement <= 45 % on CONV1 and CONV5;
    # hwsim's shares are of its on-chip energy (reported, not bounded: it has no clock network).
    split = doc["power_split"]
    assert {(r["component"].split()[0], r["layer"]) for r in split} == {
        ("ALUs", "CONV1"), ("ALUs", "CONV5"), ("data", "CONV1"), ("data", "CONV5")}
    for layer in ("CONV1", "CONV5"):
        shares = [r["hwsim"] for r in split if r["layer"] == layer]
        assert all(0 < x < 1 for x in shares) and sum(shares) <= 1
    assert all(r["within"] == (r["hwsim"] <= float(r["bound"].split()[-1].rstrip("%")) / 100)
               for r in split)


def test_what_the_model_meets_today(doc: dict) -> None:
    rows = doc["rows"]
    alex = [r for r in rows if r["network"] == "alexnet"]
    # AlexNet is bound by the array on every layer: throughput within 35 % (today +27.7 %,
    # per layer -9 % to -33 %).
    assert all(abs(r["error"]) <= 0.35 for r in alex if r["metric"] in ("latency_ms",
                                                                       "frames_per_s"))
    # Off-chip traffic on the real loop nest: within 0.8-3x of the measured accesses per MAC on
    # every layer and network (today 1.09-2.77x; the im2col traffic before the mapper was
    # 68-219x), and the AlexNet total within 75 % (today +68 %).
    dram = [r["hwsim"] / r["measured"] for r in rows if r["metric"] == "dram_accesses_per_mac"]
    assert len(dram) == 19 and all(0.8 <= x <= 3.0 for x in dram)
    total = next(r for r in alex if r["layer"] == "total"
                 and r["metric"] == "dram_accesses_per_mac")
    assert abs(total["error"]) <= 0.75
    # Chip power on the 65 nm table, no clock network: each network within -55 % (today -50 %
    # AlexNet, -34 % VGG-16; -74 % and -66 % on the 45 nm table).
    power = [r for r in rows if r["layer"] == "total" and r["metric"] == "power_mw"]
    assert len(power) == 2 and all(-0.55 <= r["error"] < 0 for r in power)


def test_validate_accelerator_prints_held_out_first_and_json(run_cli) -> None:
    code, out, _ = run_cli("validate", "accelerator")
    assert code == 0
    assert out.index("Held out") < out.index("CONV1") < out.index("median |error|")
    assert "vgg16" in out and "power split" in out
    code, out, _ = run_cli("validate", "accelerator", "--json")
    assert code == 0
    parsed = json.loads(out)
    assert parsed["chip"] == "eyeriss-like" and len(parsed["rows"]) == 59
    code, _, err = run_cli("validate", "accelerator", "--per-layer")
    assert code == 2 and "--per-layer" in err
