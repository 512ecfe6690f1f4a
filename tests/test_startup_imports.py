"""Fast start, checked without a clock: the common commands must not import heavy libraries.

`hwsim --help` and a GEMM on an accelerator preset (`hwsim simulate ... --json`) run in a fresh
interpreter, which then reports every module it imported. Timing is benchmarks/bench_startup.py's
job; this test fails as soon as someone adds a top-level import of scipy, pandas, numba... on
that path, whatever the machine's speed.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("scipy", "pandas", "pyarrow", "numba", "simpy", "streamlit", "plotly", "duckdb",
         "optuna", "dask", "sklearn", "onnx", "matplotlib")
SIMULATE = ("simulate", "--chip", "systolic-32x32", "--gemm", "128,512,256", "--json")

# Runs the CLI in-process, then prints the top-level names of every imported module.
PROBE = """
import json, sys
from hwsim.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
print(json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def imported_after(*args: str) -> tuple[int, set[str]]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


@pytest.mark.parametrize("args", [
    ("--help",),
    SIMULATE,
    ("simulate", "--chip", "sparseflow-accel", "--conv", "28,28,64,64,3,3", "--json"),
], ids=["help", "simulate-gemm", "simulate-conv"])
def test_fast_paths_import_no_heavy_library(args: tuple[str, ...]) -> None:
    code, modules = imported_after(*args)
    assert code == 0
    loaded = sorted(set(HEAVY) & modules)
    assert not loaded, f"`hwsim {' '.join(args)}` imported {loaded}: import them where used"


def test_json_output_does_not_load_rich() -> None:
    """rich draws tables and help; a --json document needs neither."""
    _, modules = imported_after(*SIMULATE)
    assert "rich" not in modules


def test_the_probe_sees_a_heavy_import(tmp_path) -> None:
    """The check can fail: the same command writing a CSV needs pandas, and the probe sees it."""
    code, modules = imported_after(*SIMULATE, "--out", str(tmp_path / "gemm.csv"))
    assert code == 0 and (tmp_path / "gemm.csv").exists()
    assert "pandas" in modules
