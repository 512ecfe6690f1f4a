"""Files and commands a user meets first: --out formats, model files by path, hwsim serve."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import hwsim

REPO = Path(__file__).resolve().parents[1]


def test_out_json_csv_parquet(tmp_path, run_cli):
    api = hwsim.simulate("resnet18", "systolic-32x32")
    for suffix in ("json", "csv", "parquet"):
        path = tmp_path / f"r.{suffix}"
        code, _, _ = run_cli("simulate", "--chip", "systolic-32x32", "--model", "resnet18",
                             "--out", str(path))
        assert code == 0 and path.exists()
        if suffix == "json":
            assert json.loads(path.read_text()) == json.loads(json.dumps(api.to_dict()))
        else:
            df = pd.read_csv(path) if suffix == "csv" else pd.read_parquet(path)
            assert list(df["name"]) == [op.name for op in api.ops]
            assert df["energy_j"].sum() == pytest.approx(api.total.energy_j, rel=1e-12)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_model_files_load_by_path(tmp_path, run_cli):
    tfl = REPO / "models" / "tflite" / "mlperftiny_kws_dscnn_int8.tflite"
    assert hwsim.load_model(tfl).macs == hwsim.load_model("mlperf-tiny-kws").macs
    out = tmp_path / "kws.yaml"
    code, _, err = run_cli("import", str(tfl), "-o", str(out))
    assert code == 0, err
    assert hwsim.load_model(out).macs == 2_656_768


def test_serve_json(run_cli):
    code, out, err = run_cli("serve", "--chip", "systolic-32x32", "--model", "sln-kws",
                             "--rate", "50/s", "--duration", "2s", "--batching",
                             "max_batch=4,timeout_ms=5", "--slo-ms", "20", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["latency_s"]["p50"] <= doc["latency_s"]["p99"]
    code, _, err = run_cli("serve", "--chip", "systolic-32x32", "--model", "sln-kws",
                           "--rate", "fast")
    assert code == 2 and "--rate" in err


def test_version_flag_prints_the_installed_version(run_cli):
    """`hwsim --version` names the version the package and its metadata carry (one source)."""
    import tomllib
    from importlib.metadata import version

    code, out, err = run_cli("--version")
    assert code == 0, err
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert out.strip() == f"hwsim {hwsim.__version__}"
    assert hwsim.__version__ == declared == version("hwsim")
