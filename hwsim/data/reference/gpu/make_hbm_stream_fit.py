"""Regenerates ``aiconfigurator_hbm_stream_fit.csv``: FITTING rows (SOURCES.md; none is held out)
for the HBM3e sustained streaming efficiency (:mod:`hwsim.calibration.hbm_stream`), and
``aiconfigurator_a100_stream_fit.csv``: the same selection from the A100 SXM's vLLM 0.14 table,
FITTING rows for that collector's A100 board (``aiconfigurator_a100_dram_efficiency``,
:mod:`hwsim.calibration.gpu_gemm`).

Not run at test or run time: hwsim reads only the CSV. Input: the unpacked aiconfigurator-core
0.12.0 wheel from PyPI.

    python make_hbm_stream_fit.py AICONFIGURATOR_CORE_DIR
    python make_hbm_stream_fit.py --rates AICONFIGURATOR_CORE_DIR   # every table's streaming rate

The rows are weight-streaming bf16 linears from the vLLM 0.24 GEMM tables (the collector replays
six ``torch.nn.functional.linear`` calls in a CUDA graph): at most 16 FLOP per byte of A, B and C,
so every GPU here is 20x below its ridge point and the kernel's time is its DRAM traffic, and
at least 0.2 ms, so the per-kernel time (a few us, ``aiconfigurator_v024_kernel_s``) is under
3 % of it. Every (m, n, k) that any held-out file of this folder holds for the GPU (bf16 or fp8)
is removed first. Seeded (``make_heldout.SEED``, salt ``fit:hbm:<system>``); no row is picked by
how well hwsim does. The H200 and B200 rows (HBM3e) are fitted; the H100 rows (HBM3) fit
nothing: they check the A100-fitted ``dram_efficiency`` that the H100 preset keeps.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pandas as pd
from make_heldout import AIC_PKG, _aic_path, _sample, _write

HERE = Path(__file__).parent
# system -> preset, vLLM version (the tables this file draws from).
SYSTEMS = {"h100_sxm": "h100-sxm", "h200_sxm": "h200-sxm", "b200_sxm": "b200-sxm"}
VERSION = "0.24.0"
MAX_FLOP_PER_BYTE = 16.0
MIN_LATENCY_MS = 0.2
PER_GPU = 30
OUT = "aiconfigurator_hbm_stream_fit.csv"
# The A100 SXM's table (vLLM 0.14), written apart: ``aiconfigurator_a100_stream_fit.csv``.
A100_SYSTEM = "a100_sxm"
A100_VERSION = "0.14.0"
A100_OUT = "aiconfigurator_a100_stream_fit.csv"
HEADER = ["gpu", "preset", "m", "n", "k", "dtype", "latency_us", "kernel", "framework", "source"]


def _heldout_shapes(preset: str) -> set[tuple[int, int, int]]:
    """Every (m, n, k) any held-out AIConfigurator GEMM file holds for ``preset``."""
    held: set[tuple[int, int, int]] = set()
    for path in sorted(HERE.glob("aiconfigurator_*.csv")):
        if path.name.endswith("_fit.csv"):
            continue
        with open(path, newline="") as fh:
            for r in csv.DictReader(fh):
                if "m" in r and r.get("preset") == preset:
                    held.add((int(r["m"]), int(r["n"]), int(r["k"])))
    return held


def flop_per_byte(m: int, n: int, k: int) -> float:
    """bf16 GEMM arithmetic intensity over one read of A and B and one write of C."""
    return 2.0 * m * n * k / (2.0 * (m * k + k * n + m * n))


def _stream_rows(pkg: Path, system: str, preset: str, version: str, salt: str) -> list[list]:
    """A seeded sample of ``system``'s weight-streaming bf16 linears, held-out shapes removed."""
    held = _heldout_shapes(preset)
    path = _aic_path(system, version, "gemm", "gemm_perf")
    df = pd.read_parquet(pkg / path)
    df = df[df.gemm_dtype == "bfloat16"].drop_duplicates(["m", "n", "k"])
    rows = [r for r in df.itertuples(index=False)
            if (r.m, r.n, r.k) not in held and r.latency >= MIN_LATENCY_MS
            and flop_per_byte(r.m, r.n, r.k) <= MAX_FLOP_PER_BYTE]
    return [[r.device, preset, r.m, r.n, r.k, "bf16", f"{r.latency * 1e3:.4f}",
             r.kernel_source, f"vLLM {r.version}", f"{AIC_PKG}:{path}"]
            for r in sorted(_sample(rows, PER_GPU, salt), key=lambda r: (r.m, r.n, r.k))]


def main(pkg: Path) -> None:
    out: list[list] = []
    for system, preset in SYSTEMS.items():
        out += _stream_rows(pkg, system, preset, VERSION, f"fit:hbm:{system}")
    _write(OUT, HEADER, out)
    # The A100 board of the vLLM 0.14 table: its own file, since its constant belongs to that
    # collector's board, not to a memory kind (hwsim.calibration.gpu_gemm, a100 stream).
    _write(A100_OUT, HEADER, _stream_rows(pkg, A100_SYSTEM, "a100-sxm-80gb", A100_VERSION,
                                          f"fit:hbm:{A100_SYSTEM}"))


def framework_rates(pkg: Path) -> None:
    """Print, for every bf16 GEMM table in the wheel (each GPU and framework), the median and
    p90 DRAM rate (TB/s) of its weight-streaming rows at <= 4 FLOP/B and >= 0.2 ms: a cross-check
    of the fitted rows against the other frameworks' collectors (nothing is fitted on it)."""
    for path in sorted((pkg / "aiconfigurator_core/systems/data").glob(
            "*/gemm/*/*/gemm_perf.parquet")):
        df = pd.read_parquet(path)
        df = df[df.gemm_dtype == "bfloat16"].drop_duplicates(["m", "n", "k"])
        df = df[[r.latency >= MIN_LATENCY_MS and flop_per_byte(r.m, r.n, r.k) <= 4.0
                 for r in df.itertuples(index=False)]]
        if df.empty:
            continue
        tb_s = 2.0 * (df.n * df.k + df.m * df.k + df.m * df.n) / (df.latency * 1e-3) / 1e12
        rel = path.relative_to(pkg / "aiconfigurator_core/systems/data").parent
        print(f"{rel}: {len(df)} rows, {tb_s.median():.2f} TB/s median, "
              f"{tb_s.quantile(0.9):.2f} p90")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--rates":
        framework_rates(Path(sys.argv[2]))
    elif len(sys.argv) == 2:
        main(Path(sys.argv[1]))
    else:
        sys.exit(__doc__)
