"""Study files: validation errors, point expansion, deterministic point ids."""

from __future__ import annotations

import copy

import pytest

from hwsim.errors import HwsimError
from hwsim.presets import list_presets
from hwsim.study import load_study, study_from_doc
from hwsim.study.points import grid_points, random_points

BASE = {
    "schema_version": 1, "name": "t-spec", "chips": ["systolic-32x32"],
    "space": [{"path": "array.rows", "tied": ["array.cols"], "values": [16, 32]},
              {"path": "offchip.bw_bytes_per_s", "low": 1e10, "high": 4e10, "step": 1e10}],
    "workloads": [{"model": "resnet18", "batch": [1, 2]}],
    "objectives": [{"metric": "latency_s"}, {"metric": "energy_j"}],
}


def doc(**changes):
    d = copy.deepcopy(BASE)
    d.update(changes)
    return d


def test_shipped_studies_validate():
    names = {p.name for p in list_presets("studies")}
    assert {"systolic-size-vit", "sparse-accel-vs-gpu", "mcu-sln"} <= names
    for n in names:
        s = load_study(n)
        assert s.variants and s.doc.objectives


def test_grid_points_and_ids_are_deterministic():
    s = study_from_doc(doc())
    pts = list(grid_points(s))
    assert len(pts) == 2 * 4 * 2 == s.doc.grid_size()
    assert len({p.point_id for p in pts}) == len(pts)
    again = [p.point_id for p in grid_points(study_from_doc(doc()))]
    assert again == [p.point_id for p in pts]
    # Tied paths are set together; the id depends on inputs, not on the study's name.
    assert pts[0].overrides["array.rows"] == pts[0].overrides["array.cols"]
    renamed = [p.point_id for p in grid_points(study_from_doc(doc(name="other")))]
    assert renamed == again


def test_point_id_changes_with_inputs():
    a = {p.point_id for p in grid_points(study_from_doc(doc()))}
    b = {p.point_id for p in grid_points(study_from_doc(doc(fidelity="cycle")))}
    assert not a & b


def test_random_points_seeded():
    d = doc(search={"kind": "random", "budget": 20, "seed": 3},
            space=[{"path": "array.rows", "low": 8, "high": 128, "log": True}])
    ids = [p.point_id for p in random_points(study_from_doc(d))]
    assert ids == [p.point_id for p in random_points(study_from_doc(d))]
    d2 = copy.deepcopy(d)
    d2["search"]["seed"] = 4
    assert ids != [p.point_id for p in random_points(study_from_doc(d2))]
    rows = [p.params["array.rows"] for p in random_points(study_from_doc(d))]
    assert all(isinstance(r, int) and 8 <= r <= 128 for r in rows)


@pytest.mark.parametrize("change, needle", [
    ({"search": {"kind": "nsga2"}}, "budget"),
    ({"search": {"kind": "grid", "budget": 5}}, "budget"),
    ({"space": [{"path": "array.rows", "low": 8, "high": 64}]}, "grid search"),
    ({"space": [{"path": "array.rowz", "values": [8]}]}, "rowz"),
    ({"space": [{"path": "array.rows", "values": [0]}]}, "array.rows"),
    ({"chips": ["systolic-32x3"]}, "did you mean"),
    ({"workloads": [{"model": "resnet18", "sparsity": ["*:nope"]}]}, "sparsity"),
    ({"constraints": [{"metric": "area_mm2"}]}, "max"),
    ({"objectives": [{"metric": "speed"}]}, "objectives"),
    ({"name": "bad name/../x"}, "name"),
])
def test_bad_studies_are_clear_errors(change, needle):
    with pytest.raises(HwsimError) as exc:
        study_from_doc(doc(**change), "bad.yaml")
    assert needle in exc.value.render()
    assert "bad.yaml" in exc.value.render()


def test_bad_study_file_exits_2(run_cli, tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("schema_version: 1\nname: x\nchips: [systolic-32x32]\nworkloads: []\n"
                 "objectives: [{metric: latency_s}]\n")
    code, _, err = run_cli("study", "run", str(f), "--store-dir", str(tmp_path))
    assert code == 2 and "workloads" in err and "Traceback" not in err
    code, _, err = run_cli("study", "run", str(tmp_path / "missing.yaml"))
    assert code == 2 and "not found" in err
    code, _, err = run_cli("study", "run", "systolic-size-vit", "--workers", "2", "--dask",
                           "tcp://127.0.0.1:1", "--store-dir", str(tmp_path))
    assert code == 2 and "not both" in err
