"""Running studies in process: the store, resume, the vectorised path, constraints, accuracy
provenance, Pareto queries, report, export and design_of."""

from __future__ import annotations

import copy
import re

import numpy as np
import pandas as pd
import pytest

import hwsim
from hwsim.accuracy.base import Accuracy
from hwsim.study import (
    design_of,
    pareto_from_store,
    pareto_front,
    read_points,
    run_study,
    study_from_doc,
    write_report,
)
from hwsim.study.store import read_meta

DOC = {
    "schema_version": 1, "name": "t-run", "chips": ["systolic-32x32"],
    "space": [{"path": "array.rows", "tied": ["array.cols"], "values": [16, 32, 64]},
              {"path": "buffers.filter.size_bytes", "values": [32768, 131072]},
              {"path": "offchip.bw_bytes_per_s", "values": [12.8e9, 25.6e9]}],
    "workloads": [{"model": "resnet18", "batch": [1]}],
    "objectives": [{"metric": "latency_s"}, {"metric": "energy_j"}],
    "constraints": [{"metric": "area_mm2", "max": 2.5}],
    "store": {"batch_points": 5},
}


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    d = tmp_path_factory.mktemp("store")
    study = study_from_doc(copy.deepcopy(DOC))
    calls = []
    path = run_study(study, store_dir=d, progress=lambda a, b: calls.append((a, b)))
    return study, path, calls


def test_rows_progress_and_batches(ran):
    _study, path, calls = ran
    df = read_points(path)
    assert len(df) == 12 and df["point_id"].is_unique
    assert calls[0] == (0, 12) and calls[-1] == (12, 12)
    assert len(calls) == 1 + 3  # one call per committed batch of 5, 5, 2
    for col in ("param.array.rows", "chip", "model", "batch", "seq", "sparsity", "latency_s",
                "energy_j", "area_mm2", "edp", "power_w", "accuracy", "accuracy_provenance",
                "accuracy_source", "feasible", "violations", "hwsim_version",
                "base_chip_hash", "model_hash", "point_id"):
        assert col in df.columns, col
    np.testing.assert_allclose(df["edp"], df["energy_j"] * df["latency_s"])
    assert set(df["evaluator"]) == {"simulate", "vectorised"}
    runs = read_meta(path)["runs"]
    assert list(runs["evaluated"]) == [12]


def test_vectorised_rows_equal_simulate(ran):
    _study, path, _ = ran
    df = read_points(path)
    for _, row in df[df["evaluator"] == "vectorised"].iterrows():
        chip = hwsim.load_chip("systolic-32x32", {
            "array.rows": int(row["param.array.rows"]), "array.cols": int(row["param.array.rows"]),
            "buffers.filter.size_bytes": int(row["param.buffers.filter.size_bytes"]),
            "offchip.bw_bytes_per_s": float(row["param.offchip.bw_bytes_per_s"])})
        r = hwsim.simulate("resnet18", chip)
        assert row["latency_s"] == pytest.approx(r.total.latency_s, rel=1e-9)
        assert row["energy_j"] == pytest.approx(r.total.energy_j, rel=1e-9)
        assert row["area_mm2"] == pytest.approx(r.total.area_mm2, rel=1e-9)


def test_constraint_verdicts(ran):
    _, path, _ = ran
    df = read_points(path)
    big = df["area_mm2"] > 2.5
    assert big.any() and (~big).any()
    assert not df.loc[big, "feasible"].any()
    assert df.loc[~big, "feasible"].all()
    assert df.loc[big, "violations"].str.contains("area_mm2").all()


def test_resume_skips_finished_points(ran, tmp_path):
    study, path, _ = ran
    again = run_study(study, store_dir=path.parent, resume=True)
    df = read_points(again)
    assert len(df) == 12 and df["point_id"].is_unique
    runs = read_meta(again)["runs"]
    assert list(runs["evaluated"]) == [12, 0] and list(runs["skipped"]) == [0, 12]
    with pytest.raises(hwsim.HwsimError, match="already exists"):
        run_study(study, store_dir=path.parent)


def test_pareto_matches_brute_force(ran):
    _, path, _ = ran
    df = read_points(path)
    objs = [("latency_s", "min"), ("energy_j", "min")]
    front = pareto_front(df, objs)
    feas = df[df["feasible"].astype(bool)]
    a = feas[["latency_s", "energy_j"]].to_numpy()
    brute = {feas.iloc[i]["point_id"] for i in range(len(a))
             if not np.any(np.all(a <= a[i], axis=1) & np.any(a < a[i], axis=1))}
    assert set(front["point_id"]) == brute and brute
    assert set(pareto_from_store(path, objs)["point_id"]) == brute
    three = pareto_front(df, [*objs, ("area_mm2", "min")])
    assert brute <= set(three["point_id"])
    with pytest.raises(hwsim.HwsimError):
        pareto_front(df, [("latency_s", "min")])


def test_pareto_keeps_ties_and_max_goal():
    df = pd.DataFrame({"point_id": list("abcd"), "latency_s": [1.0, 1.0, 2.0, 0.5],
                       "accuracy": [0.9, 0.9, 0.95, None], "feasible": [True] * 4})
    front = pareto_front(df, [("latency_s", "min"), ("accuracy", "max")])
    # d's accuracy is unknown: it is neither on the front nor allowed to dominate.
    assert sorted(front["point_id"]) == ["a", "b", "c"]


def test_design_of_returns_the_point_chip(ran):
    study, path, _ = ran
    row = read_points(path).iloc[5]
    d = design_of(study, row.to_dict())
    assert d["array"]["rows"] == d["array"]["cols"] == int(row["param.array.rows"])
    assert d["buffers"]["filter"]["size_bytes"] == int(row["param.buffers.filter.size_bytes"])
    assert hwsim.load_chip("systolic-32x32").model_dump(mode="json")["name"] == d["name"]


def test_report_is_self_contained(ran, tmp_path):
    study, path, _ = ran
    out = write_report(study, path, tmp_path / "r.html")
    text = out.read_text()
    assert not re.search(r"<script[^>]+src=", text)  # plotly inline, no CDN
    for needle in ("Inputs", "Pareto fronts", "Best designs", "Sensitivity",
                   "Accuracy provenance", "array.rows", "buffers:"):
        assert needle in text, needle
    for pid in read_points(path)["point_id"]:
        assert pid in text  # every point's accuracy provenance row
    again = write_report(study, path, tmp_path / "r2.html").read_text()
    assert again == text  # same store, same file (no random plotly div ids)


def test_export(ran, run_cli, tmp_path, monkeypatch):
    _study, path, _ = ran
    f = tmp_path / "t.yaml"
    import yaml

    f.write_text(yaml.safe_dump(DOC))
    code, _, err = run_cli("study", "export", str(f), "--store-dir", str(path.parent), "-o",
                           str(tmp_path / "x.parquet"))
    assert code == 0, err
    assert len(pd.read_parquet(tmp_path / "x.parquet")) == 12
    code, _, _ = run_cli("study", "export", str(f), "--store-dir", str(path.parent), "-o",
                         str(tmp_path / "x.csv"))
    assert code == 0 and len(pd.read_csv(tmp_path / "x.csv")) == 12
    code, _, err = run_cli("study", "export", str(f), "--store-dir", str(path.parent), "-o",
                           str(tmp_path / "x.xlsx"))
    assert code == 2 and "format" in err


def _with_accuracy(value):
    real = hwsim.engine.simulate.simulate

    def fake(*args, **kwargs):
        import dataclasses

        r = real(*args, **kwargs)
        acc = (Accuracy(value, "top1_accuracy", "literature", "test citation")
               if value is not None else Accuracy(None, "unknown", "unknown", "no source"))
        return dataclasses.replace(r, accuracy=acc)
    return fake


@pytest.mark.parametrize("value", [0.7, 0.4, None])
def test_accuracy_floor_and_provenance(value, tmp_path, monkeypatch):
    import hwsim.engine.simulate as sim

    monkeypatch.setattr(sim, "simulate", _with_accuracy(value))
    d = copy.deepcopy(DOC)
    d.update(name="t-acc", constraints=[{"metric": "accuracy", "min": 0.5}],
             objectives=[{"metric": "latency_s"}, {"metric": "accuracy", "goal": "max"}])
    df = read_points(run_study(study_from_doc(d), store_dir=tmp_path))
    if value is None:
        assert df["accuracy"].isna().all()
        assert (df["accuracy_provenance"] == "unknown").all()
        assert df["feasible"].isna().all()  # undecided, not guessed
        assert df["violations"].str.contains("accuracy unknown").all()
    else:
        assert (df["accuracy"] == value).all()
        assert (df["accuracy_provenance"] == "literature").all()
        assert (df["accuracy_source"] == "test citation").all()
        assert df["feasible"].all() == (value >= 0.5)


def test_sparse_model_and_errors_fall_back_to_simulate(tmp_path):
    d = {"schema_version": 1, "name": "t-sparse", "chips": ["sparseflow-accel", "a100-sxm-80gb"],
         "space": [{"path": "array.rows", "values": [32, 64], "chips": ["sparseflow-accel"]}],
         "workloads": [{"model": "selective-gpt2-small", "batch": [1],
                        "sparsity": [[], "*:dense"]}],
         "objectives": [{"metric": "energy_j"}], "constraints": [{"metric": "fits"}]}
    df = read_points(run_study(study_from_doc(d), store_dir=tmp_path))
    assert len(df) == 2 * 2 + 2
    gpu = df[df["chip"] == "a100-sxm-80gb"]
    assert gpu["param.array.rows"].isna().all() and gpu["fits"].all()
    r = hwsim.simulate("selective-gpt2-small", "sparseflow-accel",
                       chip_overrides={"array.rows": 32})
    row = df[(df["chip"] == "sparseflow-accel") & (df["param.array.rows"] == 32)
             & (df["sparsity"] == "as defined")].iloc[0]
    assert row["energy_j"] == pytest.approx(r.total.energy_j, rel=1e-12)
