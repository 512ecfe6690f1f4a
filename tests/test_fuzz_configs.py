"""Hypothesis-generated broken documents: no input may crash the CLI (exit 0 or 2 only)."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwsim.cli import main

REPO = Path(__file__).resolve().parents[1]
CHIP = yaml.safe_load((REPO / "configs/hardware/accelerators/systolic-32x32.yaml").read_text())
MODEL = {"schema_version": 1, "name": "fuzz", "source": "test",
         "ops": [{"kind": "conv2d", "name": "c", "h": 16, "w": 16, "c": 8, "k": 8, "r": 3,
                  "s": 3, "stride": 1, "padding": 1},
                 {"kind": "matmul", "name": "fc", "m": 4, "n": 16, "k": 32},
                 {"kind": "vector", "name": "relu", "elements": 64}]}

junk = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
    st.text(max_size=20), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


FIXTURE_OK = [HealthCheck.function_scoped_fixture]


def _paths(doc: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(doc: dict, data: st.DataObject) -> object:
    import copy

    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = data.draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = data.draw(st.sampled_from(["replace", "delete", "rename", "add"]))
        key = path[-1]
        if action == "replace":
            parent[key] = data.draw(junk)
        elif action == "delete" and isinstance(parent, dict):
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            parent[str(key) + data.draw(st.text(min_size=1, max_size=2))] = parent.pop(key)
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(st.text(max_size=8))] = data.draw(junk)
    return doc


def _check(tmp_path: Path, args: list[str]) -> None:
    code = main(args)
    assert code in (0, 2), (code, args)


@settings(max_examples=120, deadline=None, suppress_health_check=FIXTURE_OK)
@given(data=st.data())
def test_mutated_chip_documents_never_crash(tmp_path, data):
    path = tmp_path / "chip.yaml"
    path.write_text(yaml.safe_dump(_mutate(CHIP, data)))
    _check(tmp_path, ["simulate", "--chip", str(path), "--gemm", "64,48,40", "--json"])


@settings(max_examples=120, deadline=None, suppress_health_check=FIXTURE_OK)
@given(data=st.data())
def test_mutated_model_documents_never_crash(tmp_path, data):
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(_mutate(MODEL, data)))
    _check(tmp_path, ["simulate", "--chip", "systolic-32x32", "--model", str(path), "--json"])


@settings(max_examples=80, deadline=None, suppress_health_check=FIXTURE_OK)
@given(text=st.text(max_size=200))
def test_arbitrary_text_never_crashes(tmp_path, text):
    path = tmp_path / "any.yaml"
    path.write_text(text)
    _check(tmp_path, ["simulate", "--chip", str(path), "--gemm", "8,8,8"])
    _check(tmp_path, ["simulate", "--chip", "systolic-32x32", "--model", str(path)])


@settings(max_examples=80, deadline=None)
@given(args=st.lists(st.sampled_from(
    ["simulate", "--chip", "systolic-32x32", "--gemm", "8,8,8", "--conv", "8,8,3,4,3,3",
     "--set", "array.rows=0", "dataflow=xx", "--batch", "0", "-1", "--json", "--model",
     "gpt2-small", "--seq", "abc", "--phase", "decode", "list", "chips", "schema", "study",
     "--out", "x.txt", "tech", "nope", "--sparsity", "*:topk:density=0.1", "gemm:moe",
     "--compare-dense", "*:relu:density=-1"]), max_size=8))
def test_random_command_lines_never_crash(args):
    code = main(args)
    assert code in (0, 2), args
