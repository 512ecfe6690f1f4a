"""Optuna searches: seeded, multi-objective, budgeted, and resumable without recomputation."""

from __future__ import annotations

import copy

import pytest

from hwsim.study import read_points, run_study, study_from_doc
from hwsim.study.store import read_meta

DOC = {
    "schema_version": 1, "name": "t-opt", "chips": ["systolic-32x32"],
    "space": [{"path": "array.rows", "low": 8, "high": 128, "log": True},
              {"path": "array.cols", "values": [8, 16, 32, 64, 128]},
              {"path": "buffers.filter.size_bytes", "values": [32768, 65536, 262144]}],
    "workloads": [{"model": "mlperf-tiny-kws"}],
    "objectives": [{"metric": "latency_s"}, {"metric": "energy_j"}],
    "constraints": [{"metric": "area_mm2", "max": 3.0}],
    "search": {"kind": "nsga2", "budget": 24, "population": 8, "seed": 1},
    "store": {"batch_points": 8},
}


def _doc(**search):
    d = copy.deepcopy(DOC)
    d["search"].update(search)
    return d


@pytest.mark.parametrize("kind", ["nsga2", "tpe"])
def test_seeded_and_budgeted(kind, tmp_path):
    a = read_points(run_study(study_from_doc(_doc(kind=kind)), store_dir=tmp_path / "a"))
    b = read_points(run_study(study_from_doc(_doc(kind=kind)), store_dir=tmp_path / "b"))
    assert 1 <= len(a) <= 24 and a["point_id"].is_unique
    assert list(a["point_id"]) == list(b["point_id"])  # same seed, same search
    assert a["param.array.rows"].between(8, 128).all()
    c = read_points(run_study(study_from_doc(_doc(kind=kind, seed=2)), store_dir=tmp_path / "c"))
    assert set(c["point_id"]) != set(a["point_id"])


def test_resume_replays_from_the_store(tmp_path):
    short = study_from_doc(_doc(budget=16))
    first = read_points(run_study(short, store_dir=tmp_path))
    # The same search with a larger budget continues: the first 16 trials come from the store.
    full = study_from_doc(_doc(budget=24))
    path = run_study(full, store_dir=tmp_path, resume=True)
    df = read_points(path)
    runs = read_meta(path)["runs"]
    assert set(first["point_id"]) <= set(df["point_id"]) and df["point_id"].is_unique
    assert int(runs["evaluated"].iloc[-1]) == len(df) - len(first)
    fresh = read_points(run_study(full, store_dir=tmp_path / "fresh"))
    assert set(fresh["point_id"]) == set(df["point_id"])  # resuming changed nothing


def test_single_objective_tpe(tmp_path):
    d = _doc(kind="tpe", budget=12)
    d["objectives"] = [{"metric": "edp"}]
    df = read_points(run_study(study_from_doc(d), store_dir=tmp_path))
    assert len(df) >= 1 and df["edp"].notna().all()
