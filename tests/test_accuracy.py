"""The accuracy axis outside the measured models: literature curves, user curves, dispatch, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hwsim
from hwsim.accuracy import accuracy_of, list_curves, load_curve, measured_available
from hwsim.accuracy.curves import load_user_curve
from hwsim.accuracy.density import effective_density
from hwsim.accuracy.interp import interpolator, read_at, sorted_points
from hwsim.config.accuracy import LiteratureCurveDoc
from hwsim.config.loading import read_yaml_file, validate
from hwsim.errors import HwsimError
from hwsim.sparsity.overrides import apply_sparsity

ACCURACY_KEYS = {"value", "metric", "provenance", "source", "ci", "extrapolated", "density",
                 "notes"}
WANDA_LAYERS = ["layer*.qkv:nm:n=2,m=4", "layer*.attn_out:nm:n=2,m=4", "layer*.ffn_*:nm:n=2,m=4"]
TINY = ("schema_version: 1\nname: tiny-relu\nsource: test shapes\n"
        "builder: {kind: transformer, layers: 2, d_model: 64, heads: 4, d_ff: 256, seq: 16, "
        "dtype: int8, ffn_sparsity: {kind: relu, density: 0.2}}\n")


def _tiny(tmp_path: Path, accuracy: str, name: str = "tiny.yaml") -> Path:
    path = tmp_path / name
    path.write_text(TINY + f"accuracy: {accuracy}\n")
    return path


def _csv(tmp_path: Path, text: str, name: str = "curve.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ----------------------------------------------------------------------- literature curves


@pytest.mark.parametrize("name", list_curves())
def test_shipped_curves_validate_and_cite_every_point(name):
    curve = load_curve(name)
    assert curve.name == name and len(curve.points) >= 2
    for p in curve.points:
        c = p.citation
        assert c.paper and c.table and c.url.startswith("https://")
        assert c.transcription == "primary" or c.via


@pytest.mark.parametrize("name", list_curves())
def test_pchip_passes_through_published_points_and_is_monotone_where_they_are(name):
    curve = load_curve(name)
    d = [p.density for p in curve.points]
    v = [p.value for p in curve.points]
    for i, p in enumerate(curve.points):
        r = read_at(d, v, p.density)
        assert r.value == p.value and not r.extrapolated and r.used == (i,)
    x, y, _ = sorted_points(d, v)
    grid = np.linspace(x[0], x[-1], 2001)
    f = interpolator(x, y)(grid)
    for a in range(len(x) - 1):
        b = a + 1
        seg = f[(grid >= x[a]) & (grid <= x[b])]
        step = np.diff(seg)
        # Between two points PCHIP stays within them and moves one way only (no overshoot).
        assert seg.min() >= min(y[a], y[b]) - 1e-9 and seg.max() <= max(y[a], y[b]) + 1e-9
        assert (step >= -1e-12).all() or (step <= 1e-12).all()


def test_pchip_monotone_on_monotone_data_unlike_a_cubic_spline():
    d, v = [0.1, 0.2, 0.3, 1.0], [30.0, 8.0, 6.0, 5.0]  # perplexity falling steeply, then flat
    grid = np.linspace(0.1, 1.0, 1000)
    f = interpolator(*sorted_points(d, v)[:2])(grid)
    assert (np.diff(f) <= 1e-12).all()
    from scipy.interpolate import CubicSpline

    assert (np.diff(CubicSpline(d, v)(grid)) > 0).any()  # what PCHIP avoids


def test_outside_the_published_range_is_flagged_and_never_extrapolated():
    d, v = [0.5, 0.75, 1.0], [6.67, 5.94, 5.87]
    low, high = read_at(d, v, 0.2), read_at([0.2, 0.5], [9.0, 6.0], 0.9)
    assert low.extrapolated and low.value == 6.67 and "outside the published range" in low.note
    assert high.extrapolated and high.value == 6.0
    inside = read_at(d, v, 0.6)
    assert not inside.extrapolated and 5.94 < inside.value < 6.67


def test_curve_schema_rejects_uncited_or_inconsistent_curves(repo):
    doc = read_yaml_file(repo / "configs" / "accuracy" / "teal-llama3-8b.yaml")
    validate(doc, LiteratureCurveDoc, "ok")
    bad_via = json.loads(json.dumps(doc))
    bad_via["points"][0]["citation"]["via"] = ""
    dup = json.loads(json.dumps(doc))
    dup["points"][1]["density"] = dup["points"][0]["density"]
    unit = json.loads(json.dumps(doc)) | {"unit": "percent"}
    nm = json.loads(json.dumps(doc))
    nm["sparsity"]["kind"] = "nm"
    for broken in (bad_via, dup, unit, nm):
        with pytest.raises(HwsimError):
            validate(broken, LiteratureCurveDoc, "broken")


def test_wanda_curve_reads_dense_and_2of4_and_refuses_what_the_paper_did_not_prune():
    m = hwsim.load_model("llama2-7b")
    dense = accuracy_of(m)
    assert (dense.provenance, dense.value, dense.density) == ("literature", 5.12, 1.0)
    assert "locuslab/wanda" in dense.source
    pruned = accuracy_of(apply_sparsity(m, WANDA_LAYERS))
    assert (pruned.value, pruned.density, pruned.extrapolated) == (11.02, 0.5, False)
    head = accuracy_of(apply_sparsity(m, ["*:nm:n=2,m=4"]))  # lm_head too: not in the paper
    assert head.provenance == "unknown" and "lm_head" in head.source
    other = accuracy_of(apply_sparsity(m, ["layer*.ffn_down:topk:density=0.5"]))
    assert other.provenance == "unknown" and "topk" in other.source
    part = accuracy_of(apply_sparsity(m, ["layer*.ffn_*:nm:n=2,m=4"]))
    assert 0.5 < part.density < 1.0 and 5.12 < part.value < 11.02
    assert "MAC-weighted mean" in part.notes


def test_effective_density_is_the_mac_weighted_density_of_the_curves_ops():
    m = hwsim.load_model("selective-llama2-7b")
    cov = effective_density(m, kinds=["topk"], ops=["layer*.ffn_up", "layer*.ffn_down"],
                            density_ops=["layer*.ffn_down"])
    assert cov.density == pytest.approx(0.11) and cov.ops == 32
    acc = accuracy_of(m)
    assert acc.provenance == "literature" and acc.metric == "accuracy_pct"
    assert 38.31 <= acc.value <= 38.46 and not acc.extrapolated  # between ProSparse rows
    assert "perfect predictor" in acc.notes and "arxiv.org/abs/2402.13516" in acc.source
    mixed = apply_sparsity(hwsim.load_model("llama2-7b"), ["layer0.qkv:topk:density=0.5"])
    qkv = [op for op in mixed.ops if op.name.endswith(".qkv")]
    want = (sum(op.macs for op in qkv) - 0.5 * qkv[0].macs) / sum(op.macs for op in qkv)
    got = effective_density(mixed, kinds=["topk"], ops=["layer*.qkv"]).density
    assert got == pytest.approx(want, rel=1e-12)


# ------------------------------------------------------------------------------ user curves


def test_user_curve_happy_path_api_and_yaml_relative_path(tmp_path, monkeypatch):
    _csv(tmp_path, "# source: our eval, digits test split\ndensity,accuracy\n1.0,0.95\n"
         "0.5,0.93\n0.1,0.80\n")
    curve = load_user_curve(tmp_path / "curve.csv")
    assert curve.metric == "accuracy" and curve.source == "our eval, digits test split"
    model_path = _tiny(tmp_path, "{csv: curve.csv}")
    monkeypatch.chdir(tmp_path.parent)  # the csv path is relative to the YAML, not the cwd
    acc = accuracy_of(hwsim.load_model(model_path))
    assert acc.provenance == "user" and acc.density == pytest.approx(0.2)
    assert 0.80 < acc.value < 0.93 and not acc.extrapolated
    flag = accuracy_of(hwsim.load_model("gpt2-small"), curve=tmp_path / "curve.csv")
    assert (flag.provenance, flag.value, flag.density) == ("user", 0.95, 1.0)  # dense model


def test_user_curve_named_metric_column(tmp_path):
    _csv(tmp_path, "density,top1,perplexity\n1.0,0.9,5.0\n0.5,0.8,7.0\n")
    model = hwsim.load_model(_tiny(tmp_path, "{csv: curve.csv, metric: perplexity, "
                                   "source: 'lab run 12'}"))
    acc = accuracy_of(model)
    assert acc.metric == "perplexity" and acc.extrapolated and acc.value == 7.0
    assert acc.source.startswith("lab run 12")


BAD_FILES = {
    "no_rows.csv": ("# only a comment\n", "no header"),
    "no_density.csv": ("sparsity,accuracy\n0.5,0.9\n0.2,0.8\n", "no 'density' column"),
    "three_cols.csv": ("density,a,b\n1,0.9,0.8\n0.5,0.8,0.7\n", "expected 2 columns"),
    "text.csv": ("density,accuracy\n1.0,0.9\nhalf,0.8\n", "density on line 3 is not a number"),
    "nan.csv": ("density,accuracy\n1.0,0.9\n0.5,nan\n", "accuracy on line 3 is not finite"),
    "zero.csv": ("density,accuracy\n1.0,0.9\n0,0.8\n", "outside (0, 1]"),
    "above.csv": ("density,accuracy\n1.5,0.9\n0.5,0.8\n", "outside (0, 1]"),
    "dup.csv": ("density,accuracy\n0.5,0.9\n0.5,0.8\n", "appears on lines 2 and 3"),
    "one.csv": ("density,accuracy\n0.5,0.9\n", "a curve needs at least 2"),
    "ragged.csv": ("density,accuracy\n1.0,0.9\n0.5,0.8,3\n", "line 3 has 3 fields"),
    "ppl.csv": ("density,perplexity\n1.0,5.0\n0.5,-1\n", "must be > 0"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_curve_files_exit_2_with_file_line_and_fix(tmp_path, run_cli, name):
    text, message = BAD_FILES[name]
    path = _csv(tmp_path, text, name)
    code, out, err = run_cli("accuracy", "--model", "gpt2-small", "--accuracy-curve", str(path))
    assert code == 2 and "Traceback" not in err + out
    assert str(path) in err and message in err


def test_bad_curve_file_kinds_exit_2(tmp_path, run_cli):
    big = tmp_path / "big.csv"
    big.write_text("density,accuracy\n" + "0.5,0.9\n" * 200_000)
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"density,accuracy\n\xff\xfe\x00\n")
    for path, message in ((big, "limited to"), (binary, "not UTF-8"),
                          (tmp_path / "missing.csv", "not found"), (tmp_path, "not a regular")):
        code, out, err = run_cli("accuracy", "--model", "gpt2-small", "--accuracy-curve",
                                 str(path))
        assert code == 2 and message in err and "Traceback" not in err + out
    model = _tiny(tmp_path, "{csv: absent.csv}")
    code, _, err = run_cli("accuracy", "--model", str(model))
    assert code == 2 and "absent.csv" in err


# ------------------------------------------------------------------------ dispatch and CLI


def test_model_without_a_source_says_unknown_and_why():
    acc = accuracy_of(hwsim.load_model("gpt2-small"))
    assert acc.provenance == "unknown" and acc.value is None
    assert "no accuracy source for gpt2-small" in acc.source


def test_unknown_literature_curve_is_an_input_error(tmp_path):
    with pytest.raises(HwsimError, match="no such literature curve"):
        accuracy_of(hwsim.load_model(_tiny(tmp_path, "{literature: prosparse-llama2-7}")))


def test_measured_provider_absent_says_unavailable(tmp_path, monkeypatch):
    import hwsim.accuracy as acc_mod

    monkeypatch.setattr(acc_mod, "MEASURED_MODULE", "hwsim.accuracy.not_a_provider")
    acc = accuracy_of(hwsim.load_model(_tiny(tmp_path, "{measured: digits-mlp}")))
    assert acc.provenance == "unknown" and "unavailable" in acc.source


def test_measured_path_dispatches_to_the_measured_provider():
    if not measured_available():
        pytest.skip("hwsim.accuracy.measured is not installed yet (issue 7 section 1)")
    from hwsim.accuracy import measured

    for family in measured.MEASURED_FAMILIES:
        acc = accuracy_of(hwsim.load_model(family))
        assert acc.provenance == "measured" and acc.value is not None, family


def test_cli_accuracy_json_is_the_accuracy_object(run_cli):
    flags = [part for s in WANDA_LAYERS for part in ("--sparsity", s)]
    code, out, err = run_cli("accuracy", "--model", "llama2-7b", *flags, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == ACCURACY_KEYS
    assert (doc["value"], doc["provenance"], doc["density"]) == (11.02, "literature", 0.5)
    code, out, _ = run_cli("accuracy", "--model", "gpt2-small", "--seq", "64", "--phase",
                           "decode", "--json")
    assert code == 0 and json.loads(out)["provenance"] == "unknown"


def test_simulate_prints_accuracy_and_result_carries_it(tmp_path, run_cli):
    model = _tiny(tmp_path, "{literature: prosparse-llama2-7b}")
    code, out, err = run_cli("simulate", "--chip", "systolic-32x32", "--model", str(model))
    assert code == 0, err
    assert "accuracy: " in out and "[literature]" in out and "accuracy source:" in out
    code, out, _ = run_cli("simulate", "--chip", "systolic-32x32", "--gemm", "64,64,64")
    assert code == 0 and "accuracy: unknown - no accuracy source" in out
    _csv(tmp_path, "density,accuracy\n1.0,0.9\n0.1,0.7\n", "u.csv")
    code, out, _ = run_cli("simulate", "--chip", "systolic-32x32", "--model", str(model),
                           "--accuracy-curve", str(tmp_path / "u.csv"), "--json")
    assert code == 0 and json.loads(out)["accuracy"]["provenance"] == "user"
    result = hwsim.simulate(hwsim.load_model(model), "systolic-32x32")
    assert result.to_dict()["accuracy"] == result.accuracy.to_dict()
    assert set(result.to_dict()["accuracy"]) == ACCURACY_KEYS
    csv_path = tmp_path / "r.csv"
    code, _, _ = run_cli("simulate", "--chip", "systolic-32x32", "--model", str(model), "--out",
                         str(csv_path))
    df = pd.read_csv(csv_path)
    assert code == 0 and (df["accuracy.provenance"] == "literature").all()
    assert df["accuracy.value"].iloc[0] == pytest.approx(result.accuracy.value)


def test_simulate_with_a_bad_curve_exits_2(tmp_path, run_cli):
    bad = _csv(tmp_path, "density,accuracy\n2,0.9\n0.5,0.8\n")
    code, out, err = run_cli("simulate", "--chip", "systolic-32x32", "--gemm", "8,8,8",
                             "--accuracy-curve", str(bad))
    assert code == 2 and "outside (0, 1]" in err and "Traceback" not in err + out


def test_figure_script_writes_a_png(tmp_path):
    from hwsim.accuracy.figure import main

    out = tmp_path / "fig" / "accuracy.png"
    assert main(["--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
