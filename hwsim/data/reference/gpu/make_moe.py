"""Regenerates ``aiconfigurator_moe.csv`` and ``aiconfigurator_moe_new_presets.csv``: HELD-OUT
MoE expert-computation latencies (SOURCES.md) from NVIDIA AIConfigurator's vLLM MoE tables.

Not run at test or run time: hwsim reads only the CSVs. Needs the unpacked aiconfigurator-core
0.12.0 wheel from PyPI (``pip download --no-deps aiconfigurator-core==0.12.0``, then unzip):

    python make_moe.py AICONFIGURATOR_CORE_DIR

A row is one ``fused_experts`` call as the collector times it (``collector/vllm/collect_moe.py``:
precomputed top-k ids and weights, so no router GEMM or top-k; bf16 weights; replayed in a CUDA
graph). Kept: bf16, no tensor or expert parallelism (``moe_tp_size`` = ``moe_ep_size`` = 1) and
the ``balanced`` token distribution (the collector's ``balanced_logits``: every expert gets the
same share of the token-expert slots), one row per shape; the A100's vLLM 0.14 table has no
balanced rows, so it is not sampled. Then a seeded sample (``make_heldout.SEED``, salted per
GPU) of ``PER_GPU`` rows. No row is picked by how well hwsim does; nothing is fitted on them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd
from make_heldout import AIC_PKG, _aic_path, _sample, _write

# aiconfigurator system -> (hwsim preset, vLLM version, file set)
SYSTEMS = {"h100_sxm": ("h100-sxm", "0.24.0", ""),
           "h200_sxm": ("h200-sxm", "0.24.0", "_new_presets"),
           "b200_sxm": ("b200-sxm", "0.24.0", "_new_presets")}
PER_GPU = 40
KEY = ("num_tokens", "hidden_size", "inter_size", "topk", "num_experts")
HEADER = ["gpu", "preset", "tokens", "d_model", "d_ff", "experts", "top_k", "distribution",
          "dtype", "latency_us", "kernel", "framework", "source"]


def moe_table(pkg: Path, system: str, version: str) -> tuple[str, list]:
    """(path, rows) of one GPU's vLLM MoE table that the held-out files keep (module doc)."""
    path = _aic_path(system, version, "moe", "moe_perf")
    df = pd.read_parquet(pkg / path)
    keep = (df.moe_dtype == "bfloat16") & (df.moe_tp_size == 1) & (df.moe_ep_size == 1)
    keep &= df.distribution == "balanced"
    return path, list(df[keep].drop_duplicates(list(KEY)).itertuples(index=False))


def moe_row(r: Any, preset: str, path: str) -> list:
    """One table row in ``HEADER`` order."""
    return [r.device, preset, r.num_tokens, r.hidden_size, r.inter_size, r.num_experts, r.topk,
            r.distribution, "bf16", f"{r.latency * 1e3:.4f}", r.kernel_source,
            f"vLLM {r.version}", f"{AIC_PKG}:{path}"]


def sample(rows: list, n: int, salt: str) -> list:
    """A seeded sample, sorted by shape."""
    return sorted(_sample(rows, n, salt), key=lambda r: tuple(getattr(r, k) for k in KEY))


def aic_moe(pkg: Path) -> None:
    out: dict[str, list[list]] = {"": [], "_new_presets": []}
    for system, (preset, version, fileset) in SYSTEMS.items():
        path, rows = moe_table(pkg, system, version)
        out[fileset] += [moe_row(r, preset, path) for r in sample(rows, PER_GPU, f"moe:{system}")]
    for fileset, rows_out in out.items():
        _write(f"aiconfigurator_moe{fileset}.csv", HEADER, rows_out)


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit(__doc__)
    aic_moe(Path(argv[0]))


if __name__ == "__main__":
    main(sys.argv[1:])
