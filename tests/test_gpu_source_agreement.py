"""Two public collections of one GPU, side by side (hwsim.validation.source_agreement): which
rows count, how far apart the sources are, and hwsim's figure against each."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from hwsim.engine.simulate import simulate
from hwsim.presets import reference_dir
from hwsim.validation import source_agreement as sa
from hwsim.validation.square_mm import REFERENCE_FILE
from hwsim.workload.load import gemm

NEUSIGHT_COLUMNS = ("gpu", "preset", "op", "batch", "m", "n", "k", "dtype", "latency_us",
                    "kernel", "source")


def _neusight(path: Path, rows: list[dict[str, object]]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=NEUSIGHT_COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({"gpu": "x", "kernel": "k", "source": "s", "batch": 1, "op": "linear",
                        "dtype": "fp32"} | r)


def _crowd(path: Path, rows: list[dict[str, object]]) -> None:
    with open(reference_dir("gpu") / REFERENCE_FILE, newline="") as fh:
        template = next(csv.DictReader(fh))
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(template))
        w.writeheader()
        for r in rows:
            w.writerow(template | {"dtype": "fp32"} | r)


def _linear_us(tflops: float, m: int, n: int, k: int) -> float:
    return 2.0 * m * n * k / (tflops * 1e12) * 1e6


@pytest.fixture
def ref(tmp_path: Path) -> Path:
    big = (8192, 8192, 4096)  # 550 GFLOP
    _neusight(tmp_path / "neusight_gemm.csv", [
        {"preset": "l4", "m": big[0], "n": big[1], "k": big[2],
         "latency_us": _linear_us(8.0, *big)},
        {"preset": "l4", "m": big[0], "n": big[1], "k": big[2],
         "latency_us": _linear_us(10.0, *big)},
        # too small (a GFLOP): its tiles and waves, not the board, would set it
        {"preset": "l4", "m": 1024, "n": 1024, "k": 512, "latency_us": 1.0},
        # fp16 and bmm rows are not the sgemm compared
        {"preset": "l4", "m": big[0], "n": big[1], "k": big[2], "dtype": "fp16",
         "latency_us": 1.0},
        {"preset": "l4", "op": "bmm", "m": big[0], "n": big[1], "k": big[2],
         "latency_us": 1.0},
        # a board the crowd never ran
        {"preset": "b200-sxm", "m": big[0], "n": big[1], "k": big[2], "latency_us": 1.0},
    ])
    _neusight(tmp_path / "neusight_gemm_new_presets.csv", [])
    _neusight(tmp_path / "neusight_gemm_fit.csv", [])
    _crowd(tmp_path / REFERENCE_FILE, [
        {"preset": "l4", "statistic": "size", "size": 8192, "tflops": 11.0},
        {"preset": "l4", "statistic": "size", "size": 10240, "tflops": 11.0},
        {"preset": "l4", "statistic": "size", "size": 2048, "tflops": 99.0},  # too small
        {"preset": "l4", "statistic": "max_over_sizes", "size": "", "tflops": 99.0},
        {"preset": "t4-pcie", "statistic": "max_over_sizes", "size": "", "tflops": 4.0},
        {"preset": "l4", "dtype": "fp16", "statistic": "size", "size": 8192, "tflops": 99.0},
    ])
    return tmp_path


def test_only_large_fp32_linears_and_large_square_sizes_count(ref: Path) -> None:
    report = sa.source_agreement_report(ref)
    assert [r["preset"] for r in report["rows"]] == ["l4"]  # the one board in both
    row = report["rows"][0]
    assert row["neusight_rows"] == 2 and row["neusight_tflops"] == pytest.approx(9.0)
    assert row["neusight_range"] == pytest.approx([8.0, 10.0])
    assert row["crowd_rows"] == 2 and row["crowd_statistic"] == "n >= 8192"
    assert row["crowd_tflops"] == pytest.approx(11.0)
    assert row["sources_apart"] == pytest.approx(11.0 / 9.0 - 1.0)


def test_a_run_with_only_its_best_size_stands_in(ref: Path) -> None:
    crowd = sa.crowd_tflops(ref)
    assert crowd["t4-pcie"] == {"tflops": [4.0], "statistic": "best size"}
    assert crowd["l4"]["statistic"] == "n >= 8192"  # sized rows win over a best-size row


def test_hwsims_figure_is_a_sustained_sgemm_and_its_error_is_per_op_time(ref: Path) -> None:
    row = sa.source_agreement_report(ref)["rows"][0]
    model = sa.hwsim_tflops("l4")
    assert row["hwsim_tflops"] == pytest.approx(model)
    assert row["error_vs_neusight"] == pytest.approx(9.0 / model - 1.0)
    assert row["error_vs_crowd"] == pytest.approx(11.0 / model - 1.0)
    # Held at its 72 W limit the L4 runs its sgemm below its boost-clock rate.
    n = sa.HWSIM_SIZE
    at_boost = simulate(gemm(n, n, n, dtype="fp32"), "l4",
                        chip_overrides={"launch_overhead_s": 0.0, "sustained_load": False})
    assert model < 2.0 * n**3 / at_boost.total.latency_s / 1e12


def test_the_shipped_files_cover_four_boards(tmp_path: Path) -> None:
    for name in (*sa.NEUSIGHT_FILES, REFERENCE_FILE):
        shutil.copy(reference_dir("gpu") / name, tmp_path / name)
    report = sa.source_agreement_report(tmp_path)
    assert [r["preset"] for r in report["rows"]] == ["a100-pcie-40gb", "h100-sxm", "l4",
                                                     "t4-pcie"]
    by = {r["preset"]: r for r in report["rows"]}
    assert by["a100-pcie-40gb"]["neusight_role"] == "fitting"
    assert by["l4"]["neusight_role"] == "held out"
    # The L4's two collections are further apart than the issue's 10 % GEMM target.
    assert by["l4"]["sources_apart"] > 0.10
