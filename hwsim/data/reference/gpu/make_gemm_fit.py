"""Regenerates the GPU GEMM *fitting* CSVs of this folder (``neusight_gemm_fit.csv``,
``aiconfigurator_gemm_fit.csv``) from NeuSight and AIConfigurator.

Not run at test or run time: hwsim reads only the CSVs. Needs a checkout (or bare clone) of
sitar-lab/NeuSight and the unpacked aiconfigurator-core 0.12.0 wheel from PyPI:

    python make_gemm_fit.py NEUSIGHT_GIT_DIR AICONFIGURATOR_CORE_DIR

The rows are NeuSight's measured fp32 ``nn.Linear`` / ``torch.bmm`` kernels on the two GPUs that
have no held-out role (the A100 PCIe 40GB and the V100 PCIe 32GB; :mod:`make_heldout` samples
H100, L4 and T4), so the fitting set is disjoint from every held-out row by GPU. A seeded sample
(the held-out ``SEED``, salted per file) keeps the file small and the selection reproducible; no
row is picked by how well hwsim does.

The AIConfigurator rows are the A100 SXM's bf16 vLLM GEMMs (the calibration GPU) minus every
(m, n, k) of the held-out ``aiconfigurator_gemm.csv``, so they share no row with it; H100 and
H200 stay held out whole. ``aiconfigurator_b200_gemm_fit.csv`` does the same for the B200's
vLLM 0.24 table against its held-out rows in ``aiconfigurator_gemm_new_presets.csv``.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import pandas as pd
from make_heldout import (
    AIC_GEMM_ONLY_SYSTEMS,
    AIC_PKG,
    AIC_SYSTEMS,
    _aic_path,
    _git,
    _ns_source,
    _sample,
    _write,
)

# NeuSight device name -> hwsim preset (created for this fitting set).
FIT_DEVICES = {"NVIDIA A100-PCIE-40GB": "a100-pcie-40gb",
               "Tesla V100-PCIE-32GB": "v100-pcie-32gb"}
ROWS_PER_OP = {"linear": 60, "bmm": 30}
AIC_FIT_SYSTEM = "a100_sxm"
AIC_FIT_ROWS = 60
# The A100 table's sample: 200 rows, so kernels of a few us (a quarter of the table is under
# 8 us; the first 60-row sample held few) weigh in the per-kernel time and the split-K choice.
# ``random.sample`` with the same seed draws the first 60 rows first, so the 200 contain them.
AIC_A100_FIT_ROWS = 200
# The H100's and H200's bf16 samples: 300 rows each (30 each before; the same seeded draw, so
# the 300 contain the 30), so the vLLM 0.24 collector's per-kernel times and fills are fitted
# on kernels of every size, not mostly on its 80 fp8 rows.
AIC_SM90_FIT_ROWS_PER_GPU = 300
B200_FIT_SYSTEM = "b200_sxm"
SM90_FIT_SYSTEMS = ("h100_sxm", "h200_sxm")


def neusight_gemm_fit(repo: Path) -> None:
    header = ["gpu", "preset", "op", "batch", "m", "n", "k", "dtype", "latency_us", "kernel",
              "grid", "source"]
    out: list[list] = []
    for op, n_rows in ROWS_PER_OP.items():
        path = f"scripts/asplos/data/dataset/test/{op}.csv"
        rows = list(csv.DictReader(io.StringIO(_git(repo, path))))
        for device, preset in FIT_DEVICES.items():
            mine = [r for r in rows if r["Device"] == device]
            for r in _sample(mine, n_rows, f"fit:{op}:{device}"):
                grid = f"{r['Grid x']}x{r['Grid y']}x{r['Grid z']}"
                out.append([device, preset, op, r["B"], r["M"], r["N"], r["K"], "fp32",
                            f"{float(r['Latency']) * 1e3:.4f}", r["Kernel Name"][:60], grid,
                            _ns_source(path)])
    _write("neusight_gemm_fit.csv", header, out)


AIC_FIT_HEADER = ["gpu", "preset", "m", "n", "k", "dtype", "latency_us", "kernel", "framework",
                  "source"]


def _aic_gemm_fit(pkg: Path, system: str, preset: str, version: str, held_file: str,
                  n_rows: int = AIC_FIT_ROWS) -> list[list]:
    """A seeded sample of ``system``'s bf16 vLLM GEMMs minus every (m, n, k) that ``held_file``
    holds for ``preset``."""
    with open(Path(__file__).parent / held_file, newline="") as fh:
        held = {(int(r["m"]), int(r["n"]), int(r["k"])) for r in csv.DictReader(fh)
                if r["preset"] == preset}
    path = _aic_path(system, version, "gemm", "gemm_perf")
    df = pd.read_parquet(pkg / path)
    df = df[df.gemm_dtype == "bfloat16"].drop_duplicates(["m", "n", "k"])
    rows = [r for r in df.itertuples(index=False) if (r.m, r.n, r.k) not in held]
    return [[r.device, preset, r.m, r.n, r.k, "bf16", f"{r.latency * 1e3:.4f}", r.kernel_source,
             f"vLLM {r.version}", f"{AIC_PKG}:{path}"]
            for r in sorted(_sample(rows, n_rows, f"fit:{system}"),
                            key=lambda r: (r.m, r.n, r.k))]


def aic_gemm_fit(pkg: Path) -> None:
    """``aiconfigurator_gemm_fit.csv``: the A100 SXM's rows minus the held-out ones."""
    preset, version, _ = AIC_SYSTEMS[AIC_FIT_SYSTEM]
    _write("aiconfigurator_gemm_fit.csv", AIC_FIT_HEADER, _aic_gemm_fit(
        pkg, AIC_FIT_SYSTEM, preset, version, "aiconfigurator_gemm.csv", AIC_A100_FIT_ROWS))


def aic_b200_gemm_fit(pkg: Path) -> None:
    """``aiconfigurator_b200_gemm_fit.csv``: B200 bf16 vLLM 0.24 GEMMs minus every (m, n, k) of
    the held-out B200 rows (``aiconfigurator_gemm_new_presets.csv``): the sm100 family's
    stream-K and split-K choices and its pipeline fill (``refit_v024``) come from these rows."""
    preset, version, _ = AIC_GEMM_ONLY_SYSTEMS[B200_FIT_SYSTEM]
    _write("aiconfigurator_b200_gemm_fit.csv", AIC_FIT_HEADER, _aic_gemm_fit(
        pkg, B200_FIT_SYSTEM, preset, version, "aiconfigurator_gemm_new_presets.csv"))


def aic_sm90_gemm_fit(pkg: Path) -> None:
    """``aiconfigurator_sm90_gemm_fit.csv``: the H100 SXM's and H200 SXM's bf16 vLLM 0.24 GEMMs
    minus every (m, n, k) of their held-out rows (``aiconfigurator_gemm.csv``,
    ``aiconfigurator_gemm_new_presets.csv``), ``AIC_SM90_FIT_ROWS_PER_GPU`` per GPU: the sm90
    family's bf16 (cuBLAS) choices are made on these rows."""
    out: list[list] = []
    for system in SM90_FIT_SYSTEMS:
        preset, version, fileset = AIC_SYSTEMS[system]
        out += _aic_gemm_fit(pkg, system, preset, version, f"aiconfigurator_gemm{fileset}.csv",
                             AIC_SM90_FIT_ROWS_PER_GPU)
    _write("aiconfigurator_sm90_gemm_fit.csv", AIC_FIT_HEADER, out)


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit(__doc__)
    neusight_gemm_fit(Path(argv[0]))
    aic_gemm_fit(Path(argv[1]))
    aic_b200_gemm_fit(Path(argv[1]))
    aic_sm90_gemm_fit(Path(argv[1]))


if __name__ == "__main__":
    main(sys.argv[1:])
