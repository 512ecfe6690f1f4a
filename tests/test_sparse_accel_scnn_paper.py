"""`hwsim validate sparse-accel`, SCNN: per-layer speedup and energy of scnn-like against the
paper (Parashar et al., ISCA 2017, Fig. 1/9/11 for AlexNet, VGGNet and GoogLeNet's inception
modules 3a and 5b: 20 layers, all held out).

Measured on this branch (median |error| over the 20 layers):
- speedup_vs_dense 12.9 % (target 10 %: missed). AlexNet CONV2-5 within 3 %, VGG CONV3_1 to
  CONV4_2 within 12 %, IC_3a +12.9 %. The misses, by mechanism:
  * VGG CONV1_1 -89 %, AlexNet CONV1 -18 %: the paper's dense baseline (DCNN, dot product over
    input channels) idles on 3-input-channel layers; its oracle bar x work says DCNN takes 5.34x
    and 1.33x an ideal dense array's cycles there. hwsim's dense twin is the same array at full
    use, so the published speedup carries DCNN's loss and hwsim's does not.
  * VGG CONV2_1 +74 %, CONV2_2 +95 %: DCNN is ideal there (oracle x work = 1.00) but the paper's
    SCNN reaches only 0.52 / 0.47 of its oracle; hwsim's PE model (fragmentation, inter-PE
    barrier, bank throttle) predicts 0.91. Not explained by the mechanisms hwsim models (VGG's
    large layers are the ones the paper tiles through DRAM, Section 4.4).
  * VGG CONV5_x -15 to -30 %: DCNN takes 1.34x an ideal array's cycles on these 14x14 layers
    (oracle x work), which the published speedup includes.
  * GoogLeNet IC_5b +239 %: on its 7x7 planes each of SCNN's 64 PEs holds at most one
    activation, so its I = 4 activation vectors are at most a quarter full even when dense; the
    paper's SCNN reaches 0.12 of its oracle there (Fig. 10b: multiplier use under 20 %). hwsim
    applies the PE model's sparse/dense cycle ratio to the engine's dense timing, which has no
    F x I vector fragmentation (dense use 0.77 = 49/64 PEs), so its sparse cycles are too few by
    that dense fragmentation (fraction of oracle 0.47). A fix belongs in the dense path of
    pe_join: cartesian, not in these rows.
- fraction_of_oracle 37.8 %: hwsim's SCNN is more efficient than the paper's on most layers
  (AlexNet CONV2-5 +25 to +46 %): its inter-PE imbalance is a normal approximation over
  independent masks, the paper's simulator runs the real pruned masks (Section 5). On AlexNet
  the speedup agreement is partly this optimism cancelling DCNN's 1.45-1.61x loss.
- energy_vs_dense 22.6 %: hwsim charges no energy for SCNN's sparse structures at full density
  (the paper: SCNN spends 33 % more than DCNN when dense, Section 6.1), so CONV1 / CONV1_1 come
  out cheaper (-15 %, -13 %); and on the sparse late layers hwsim's off-chip energy (47 % of
  AlexNet's dense energy on scnn-like) falls less with density than the compute does, diluting
  the saving (+21 to +45 %); the paper keeps AlexNet's activations on chip (Section 5).
Network bars (Fig. 9/11 "all", not in the medians): AlexNet speedup 2.295 vs 2.375 (-3.4 %),
energy 0.520 vs 0.489 (+6.3 %); VGGNet 3.982 vs 3.525 (+13.0 %), 0.411 vs 0.426 (-3.5 %).
Pinned below at the measured figures with a margin of one to two percentage points.
"""

from __future__ import annotations

import math

import pytest

from hwsim.validation import sparse_accel, sparse_accel_scnn

MEASURED = {"speedup_vs_dense": 0.1291, "fraction_of_oracle": 0.3781,
            "energy_vs_dense": 0.2257}  # median |error|, see the module docstring


@pytest.fixture(scope="module")
def doc() -> dict:
    return sparse_accel.report()


def test_reference_rows_agree_with_the_paper_text() -> None:
    """The chart readings reproduce what the paper states in words (Section 6.2)."""
    rows = {(r["network"], r["layer"]): r for r in sparse_accel_scnn.read_rows()}
    assert len(rows) == 5 + 1 + 13 + 1 + 9 + 1  # AlexNet, VGGNet, GoogLeNet's modules
    # "2.19x" for GoogLeNet
    assert float(rows["googlenet", "all"]["speedup_scnn"]) == pytest.approx(2.19, abs=0.01)
    assert all(r["split"] == "held_out" for r in rows.values())
    # "an average 2.37x, 2.19x, and 3.52x network-wide performance improvement"
    assert float(rows["alexnet", "all"]["speedup_scnn"]) == pytest.approx(2.37, abs=0.01)
    assert float(rows["vggnet", "all"]["speedup_scnn"]) == pytest.approx(3.52, abs=0.01)
    # "ranging from 0.89x to 4.7x improvement over DCNN" (AlexNet and VGG hold both ends)
    energies = [float(r["energy_scnn"]) for r in rows.values()]
    assert 1 / max(energies) == pytest.approx(0.89, abs=0.01)
    assert 1 / min(energies) == pytest.approx(4.7, abs=0.05)
    for r in rows.values():
        assert float(r["speedup_scnn"]) <= float(r["speedup_scnn_oracle"])
        if r["layer"] == "all" or r["network"] == "googlenet":
            continue
        d_a, d_w = float(r["iact_density"]), float(r["weight_density"])
        assert 0 < d_a <= 1 and 0 < d_w <= 1
        if (r["network"], r["layer"]) not in {("alexnet", "conv1"), ("alexnet", "conv3")}:
            assert float(r["work_fraction"]) == pytest.approx(d_a * d_w, abs=0.005)


def test_medians_are_pinned(doc: dict) -> None:
    s = doc["by_design"]["scnn"]
    assert s["rows"] == 20 * 3
    for metric, measured in MEASURED.items():
        assert abs(s["by_metric"][metric] - measured) < 0.015, metric
    rows = [r for r in doc["rows"] if r["design"] == "scnn"]
    assert all(r["held_out"] and r["peer"] is None for r in rows)


def test_well_modelled_layers_stay_close(doc: dict) -> None:
    """AlexNet CONV2-5 and VGG CONV3_1-CONV3_3: the layers where neither baseline loses much
    (oracle x work within 1.61): speedups within 11 % (measured 1.4-10.8 %)."""
    close = {("alexnet", f"conv{i}") for i in range(2, 6)} | {
        ("vggnet", f"conv3_{i}") for i in range(1, 4)}
    errs = [r["error"] for r in doc["rows"] if r["design"] == "scnn"
            and r["metric"] == "speedup_vs_dense" and (r["workload"], r["layer"]) in close]
    assert len(errs) == 7 and max(abs(e) for e in errs) < 0.115


def test_explained_misses_keep_their_sign(doc: dict) -> None:
    """The misses the docstring explains stay on the side their mechanism puts them."""
    err = {(r["workload"], r["layer"], r["metric"]): r["error"] for r in doc["rows"]
           if r["design"] == "scnn"}
    assert err["vggnet", "conv1_1", "speedup_vs_dense"] < -0.8  # DCNN idles on 3 channels
    assert err["alexnet", "conv1", "speedup_vs_dense"] < -0.1
    assert err["vggnet", "conv1_1", "energy_vs_dense"] < 0  # no dense-mode sparse overhead
    assert err["alexnet", "conv1", "energy_vs_dense"] < 0


def test_googlenet_sublayers() -> None:
    """Fig. 1b's sublayers: the three convolutions reading the module input share its density,
    and the shapes reproduce the module's MACs from BVLC's GoogLeNet (28x28x192 -> 256 and
    7x7x832 -> 1024 output channels)."""
    subs = sparse_accel_scnn.read_rows(sparse_accel_scnn.GOOGLENET_CSV)
    for module, outputs in (("IC_3a", 256), ("IC_5b", 1024)):
        mine = {r["sublayer"]: r for r in subs if r["module"] == module}
        assert len(mine) == 6
        shared = {mine[n]["iact_density"] for n in ("1x1", "3x3_reduce", "5x5_reduce")}
        assert len(shared) == 1
        assert sum(int(mine[n]["k"]) for n in ("1x1", "3x3", "5x5", "pool_proj")) == outputs
        for r in mine.values():
            product = float(r["iact_density"]) * float(r["weight_density"])
            assert float(r["work_fraction"]) == pytest.approx(product, abs=0.01)


def test_fragmentation_miss_on_7x7_planes(doc: dict) -> None:
    """IC_5b: hwsim is far too fast because its dense timing has no vector fragmentation (see
    the module docstring); pinned so a fix to the dense Cartesian path shows up here."""
    err = {(r["layer"], r["metric"]): r["error"] for r in doc["rows"]
           if r["design"] == "scnn" and r["workload"] == "googlenet"}
    assert err["IC_5b", "speedup_vs_dense"] == pytest.approx(2.394, abs=0.05)
    assert err["IC_5b", "fraction_of_oracle"] == pytest.approx(2.830, abs=0.05)
    assert err["IC_3a", "speedup_vs_dense"] == pytest.approx(0.129, abs=0.015)


def test_network_bars(doc: dict) -> None:
    nets = {n["network"]: n for n in doc["scnn_networks"]}
    assert set(nets) == {"alexnet", "vggnet"}

    def err(net: str, metric: str) -> float:
        return nets[net][metric]["hwsim"] / nets[net][metric]["published"] - 1

    assert err("alexnet", "speedup_vs_dense") == pytest.approx(-0.034, abs=0.015)
    assert err("alexnet", "energy_vs_dense") == pytest.approx(0.063, abs=0.015)
    assert err("vggnet", "speedup_vs_dense") == pytest.approx(0.130, abs=0.015)
    assert err("vggnet", "energy_vs_dense") == pytest.approx(-0.035, abs=0.015)
    assert all(math.isfinite(nets[n][m]["hwsim"]) for n in nets
               for m in ("speedup_vs_dense", "energy_vs_dense"))
