"""Bad input gets a clean error naming file, field and fix; exit status 2; never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hwsim.errors import HwsimError
from hwsim.hardware.chips import load_chip

REPO = Path(__file__).resolve().parents[1]
CHIP = REPO / "configs" / "hardware" / "accelerators" / "systolic-32x32.yaml"


def chip_doc() -> dict:
    return yaml.safe_load(CHIP.read_text())


def write(tmp_path: Path, doc: object, name: str = "chip.yaml") -> Path:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc))
    return p


def test_misspelt_key_suggests_the_right_one(tmp_path, run_cli):
    doc = chip_doc()
    doc["array"]["rowz"] = doc["array"].pop("rows")
    path = write(tmp_path, doc)
    code, out, err = run_cli("simulate", "--chip", str(path), "--gemm", "64,64,64")
    assert code == 2
    assert str(path) in err
    assert "array.rowz" in err and "unknown field" in err
    assert "did you mean 'rows'" in err
    assert "array.rows" in err and "Field required" in err
    assert "Traceback" not in err + out


def test_wrong_type_names_field_value_and_expectation(tmp_path):
    doc = chip_doc()
    doc["clock_hz"] = "fast"
    with pytest.raises(HwsimError) as info:
        load_chip(write(tmp_path, doc))
    text = info.value.render()
    assert "clock_hz" in text and "'fast'" in text and "number" in text


def test_misspelt_kind_suggests_tag(tmp_path):
    doc = chip_doc()
    doc["kind"] = "accelerater"
    with pytest.raises(HwsimError) as info:
        load_chip(write(tmp_path, doc))
    assert "did you mean 'accelerator'" in info.value.render()


def test_unknown_preset_lists_close_matches(run_cli):
    code, _, err = run_cli("simulate", "--chip", "systolic-32x23", "--gemm", "8,8,8")
    assert code == 2
    assert "unknown chip preset" in err and "systolic-32x32" in err


def test_missing_file_and_bad_yaml(tmp_path, run_cli):
    code, _, err = run_cli("simulate", "--chip", str(tmp_path / "nope.yaml"), "--gemm", "8,8,8")
    assert code == 2 and "file not found" in err
    bad = write(tmp_path, "kind: accelerator\narray: {rows: 32\n")
    code, _, err = run_cli("simulate", "--chip", str(bad), "--gemm", "8,8,8")
    assert code == 2 and "not valid YAML" in err and "line" in err


def test_yaml_is_safe_loaded(tmp_path, run_cli):
    evil = write(tmp_path, "!!python/object/apply:os.system ['echo pwned']\n")
    code, _, err = run_cli("simulate", "--chip", str(evil), "--gemm", "8,8,8")
    assert code == 2 and "not valid YAML" in err


def test_override_is_validated_like_a_file(run_cli):
    code, _, err = run_cli("simulate", "--chip", "systolic-32x32", "--gemm", "8,8,8",
                           "--set", "array.rows=-3")
    assert code == 2 and "array.rows" in err and "greater than or equal to 1" in err
    code, _, err = run_cli("simulate", "--chip", "systolic-32x32", "--gemm", "8,8,8",
                           "--set", "dataflow=wss")
    assert code == 2 and "dataflow" in err
    code, _, err = run_cli("simulate", "--chip", "systolic-32x32", "--gemm", "8,8,8",
                           "--set", "clock=1e9")
    assert code == 2 and "did you mean 'clock_hz'" in err
    code, _, err = run_cli("simulate", "--chip", "systolic-32x32", "--gemm", "8,8,8",
                           "--set", "array.rows")
    assert code == 2 and "PATH=VALUE" in err


def test_bad_shortcuts_and_flags(run_cli):
    for args in (("--gemm", "8,8"), ("--gemm", "a,b,c"), ("--gemm", "0,8,8"),
                 ("--conv", "8,8,3,4,9,9"), ("--conv", "1,2,3")):
        code, _, err = run_cli("simulate", "--chip", "systolic-32x32", *args)
        assert code == 2, args
        assert err.startswith("error:"), err
    code, _, err = run_cli("simulate", "--chip", "systolic-32x32", "--gemm", "8,8,8",
                           "--fidelty", "cycle")
    assert code == 2 and "No such option" in err
    code, _, err = run_cli("simulate", "--chip", "systolic-32x32")
    assert code == 2 and "exactly one of" in err
    code, _, err = run_cli("list", "chipz")
    assert code == 2 and "did you mean 'chips'" in err


def test_bad_model_file(tmp_path, run_cli):
    doc = {"schema_version": 1, "name": "m", "source": "test",
           "ops": [{"kind": "matmul", "name": "a", "m": 4, "n": 4, "k": 4},
                   {"kind": "conv2d", "name": "a", "h": 8, "w": 8, "c": 3, "k": 4, "r": 3,
                    "s": 3, "groups": 2}]}
    path = write(tmp_path, doc, "model.yaml")
    code, _, err = run_cli("simulate", "--chip", "systolic-32x32", "--model", str(path))
    assert code == 2
    assert "ops[1]: Value error, groups=2 must divide c=3" in err


def test_output_suffix_checked_before_work(tmp_path, run_cli):
    code, _, err = run_cli("simulate", "--chip", "systolic-32x32", "--gemm", "8,8,8",
                           "--out", str(tmp_path / "r.xlsx"))
    assert code == 2 and ".parquet" in err
    assert not list(tmp_path.iterdir())


def test_real_process_exit_status_and_no_traceback(tmp_path):
    doc = chip_doc()
    doc["buffers"]["ifmap"]["size_bytez"] = 1
    path = write(tmp_path, doc)
    proc = subprocess.run([sys.executable, "-m", "hwsim.cli", "simulate", "--chip", str(path),
                           "--gemm", "8,8,8"], capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "buffers.ifmap.size_bytez" in proc.stderr and "size_bytes" in proc.stderr
