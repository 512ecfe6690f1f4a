"""Measured accuracy: the stored weights reproduce, the curves behave as measured, specs matter,
bad inputs fail cleanly."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import hwsim
from hwsim.accuracy.measured import (
    MEASURED_FAMILIES,
    measured_accuracy,
    measured_curve,
)
from hwsim.accuracy.nets.weights import WEIGHTS_DIR, file_sha256, load_weights, write_npz
from hwsim.accuracy.train_digits import FAMILIES, train_family
from hwsim.errors import HwsimError
from hwsim.sparsity.overrides import apply_sparsity
from hwsim.workload.load import load_model, model_from_doc


@pytest.mark.heavy
@pytest.mark.parametrize("family", list(FAMILIES))
def test_stored_weights_are_what_the_script_produces(family, tmp_path):
    arrays = train_family(family)
    with np.load(WEIGHTS_DIR / f"{family}.npz", allow_pickle=False) as stored:
        assert sorted(stored.files) == sorted(arrays)
        for name in arrays:
            assert arrays[name].dtype == np.float32
            # Bit-identical on the numpy/OpenBLAS build the manifest names; another BLAS kernel
            # may round differently in the last bits, which a tolerance far below any change
            # in accuracy absorbs without letting a different training run pass.
            np.testing.assert_allclose(arrays[name], stored[name], rtol=1e-4, atol=1e-5,
                                       err_msg=name)
    manifest = json.loads((WEIGHTS_DIR / "MANIFEST.json").read_text())
    if all(np.array_equal(arrays[n], stored_n) for n, stored_n in _stored(family).items()):
        assert write_npz(tmp_path / "w.npz", arrays) == manifest["files"][f"{family}.npz"][
            "sha256"]


def _stored(family: str) -> dict[str, np.ndarray]:
    with np.load(WEIGHTS_DIR / f"{family}.npz", allow_pickle=False) as stored:
        return {n: stored[n] for n in stored.files}


def test_manifest_lists_every_family_with_its_hash():
    manifest = json.loads((WEIGHTS_DIR / "MANIFEST.json").read_text())
    assert set(manifest["files"]) == {f"{f}.npz" for f in MEASURED_FAMILIES}
    for name, entry in manifest["files"].items():
        assert file_sha256(WEIGHTS_DIR / name) == entry["sha256"]
    split = manifest["split"]
    assert split["train"] + split["val"] + split["test"] == 1797


def _curve(family, variant, densities):
    return {r["density_requested"]: r for r in measured_curve(family, variant, densities)}


@pytest.mark.parametrize("family,variant", [("digits-mlp", "oracle"),
                                            ("digits-liquid", "base"),
                                            ("digits-attn", "gate")])
def test_dense_beats_one_percent_with_margin(family, variant):
    low = 0.0 if family == "digits-attn" else 0.01  # attention: every head skipped
    c = _curve(family, variant, [1.0, low])
    assert c[1.0]["ci_low"] > c[low]["ci_high"] + 0.05
    assert c[1.0]["accuracy"] > 0.9


def test_predictor_never_beats_the_oracle():
    densities = [0.05, 0.1, 0.25]
    oracle = _curve("digits-mlp", "oracle", densities)
    for rank in (8, 16, 32):
        pred = _curve("digits-mlp", f"predictor-r{rank}", densities)
        for d in densities:
            assert pred[d]["accuracy"] <= oracle[d]["accuracy"], (rank, d)
            assert 0.0 < pred[d]["h1_predictor_recall"] < 1.0


def test_sparse_training_recovers_accuracy_at_low_density():
    for family in ("digits-mlp", "digits-liquid"):
        post = _curve(family, "oracle" if family == "digits-mlp" else "base", [0.02])[0.02]
        tuned = _curve(family, "sparse-trained", [0.02])[0.02]
        assert tuned["ci_low"] > post["ci_high"], family


def test_moe_drops_more_tokens_as_capacity_falls():
    dropped = [_curve("digits-moe", v, [0.25])[0.25]["dropped_assignments"]
               for v in ("uncapped", "capacity-2.0", "capacity-1.25", "capacity-1.0")]
    assert dropped[0] == 0
    assert dropped == sorted(dropped) and dropped[-1] > dropped[1]


def test_sparsity_overrides_change_the_answer():
    base = load_model("digits-mlp")
    a = measured_accuracy(base)
    assert a.provenance == "measured" and a.metric == "top1_accuracy"
    assert a.ci is not None and a.ci[0] <= a.value <= a.ci[1]
    assert "sha256" in a.source and "test split of 450" in a.source
    low = measured_accuracy(apply_sparsity(base, ["fc2:topk:density=0.02"]))
    assert low.value < a.value and low.density < a.density
    dense = measured_accuracy(apply_sparsity(base, ["*:dense"]))
    assert dense.value >= a.value and dense.density == 1.0
    assert "oracle" not in a.notes and "predictor" in a.notes
    moe = load_model("digits-moe")
    m1 = measured_accuracy(apply_sparsity(moe, ["experts:moe:capacity_factor=0.5"]))
    assert "dropped" in m1.notes and m1.value < measured_accuracy(moe).value
    liq = load_model("digits-liquid")
    assert (measured_accuracy(apply_sparsity(liq, ["cell:topk:density=0.1"])).density
            > measured_accuracy(liq).density)
    att = measured_accuracy(apply_sparsity(load_model("digits-attn"),
                                           ["*attn:attention_gate:keep_ratio=1.0"]))
    assert att.density == 1.0


def test_deterministic():
    m = load_model("digits-attn")
    a, b = measured_accuracy(m), measured_accuracy(m)
    assert a == b
    c = measured_accuracy(m, seed=1)
    assert c.value == a.value and c.ci != a.ci


@pytest.mark.parametrize("chip", ["systolic-32x32", "a100-sxm-80gb", "stm32h7a3-m7"])
@pytest.mark.parametrize("model", list(MEASURED_FAMILIES))
def test_presets_simulate_on_every_chip_kind(model, chip):
    r = hwsim.simulate(model, chip)
    assert r.total.cycles > 0 and r.total.energy_j > 0


def test_bad_inputs_are_input_errors(tmp_path):
    with pytest.raises(HwsimError, match="train_digits"):
        load_weights("digits-mlp", tmp_path)
    for name in ("digits-mlp.npz", "MANIFEST.json"):
        shutil.copy(WEIGHTS_DIR / name, tmp_path / name)
    raw = bytearray((tmp_path / "digits-mlp.npz").read_bytes())
    raw[-200] ^= 0xFF
    (tmp_path / "digits-mlp.npz").write_bytes(bytes(raw))
    with pytest.raises(HwsimError, match="manifest hash"):
        load_weights("digits-mlp", tmp_path)
    bad = [("digits-liquid", "cell:relu:density=0.1"),
           ("digits-attn", "*attn:attention_gate:keep_ratio=0.5,granularity=token"),
           ("digits-mlp", "fc2:topk:density=0.1,predictor_rank=12"),
           ("digits-mlp", "pred1_down:topk:density=0.5"),
           ("digits-moe", "fc_in:topk:density=0.5")]
    for model, spec in bad:
        with pytest.raises(HwsimError):
            measured_accuracy(apply_sparsity(load_model(model), [spec]))
    with pytest.raises(HwsimError, match="no measured accuracy source"):
        measured_accuracy(load_model("gpt2-small"))
    doc = {"name": "not-digits", "source": "test", "accuracy": {"measured": "digits-mlp"},
           "ops": [{"kind": "matmul", "name": "fc1", "m": 1, "n": 128, "k": 64}]}
    with pytest.raises(HwsimError, match="needs op"):
        measured_accuracy(model_from_doc(doc, "test"))
    doc["accuracy"] = {"measured": "digits-mlp:nonsense"}
    with pytest.raises(HwsimError, match="variant"):
        measured_accuracy(model_from_doc(doc, "test"))
    with pytest.raises(HwsimError):
        measured_curve("digits-mlp", "oracle", [1.5])
