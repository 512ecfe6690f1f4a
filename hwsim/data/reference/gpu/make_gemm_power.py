"""Regenerates ``aiconfigurator_gemm_power.csv``: HELD-OUT per-kernel power rows of bf16 GEMMs
(SOURCES.md) on the H200 and the B200, the GEMM half of issue 17's kernel-power target.

Not run at test or run time: hwsim reads only the CSV. Needs the data folder of an
ai-dynamo/aiconfigurator checkout at or after ``COMMIT`` (the PyPI wheel 0.12.0 has no GEMM
power tables: they arrived with the repository's "power overlays", 2026-07-28):

    python make_gemm_power.py AICONFIGURATOR_REPO/aic-core/src/aiconfigurator_core/systems/data

The vLLM 0.22.0 GEMM tables carry ``power`` (W) and ``power_limit`` (W) beside ``latency``
(ms per GEMM). Their collector (``collector/vllm/collect_gemm.py``, every version from
2025-12-16 on) replays six bf16 linears of one shape per CUDA-graph replay
(``outside_loop_count``) and divides the replay's time by six, so a row's replay lasts
``OPS_PER_REPLAY`` x its latency, which is what sets how much of the kernel its NVML reading holds
(:mod:`hwsim.validation.nvml_sampling`). Rows are bf16 ``torch.nn.functional.linear``
(``kernel_source`` vllm_default, ``gemm_dtype`` bfloat16), one per shape, and only those whose
reading holds some of the kernel (kernel weight > 0: the rows issue 17's target is scored on;
this rule was fixed before any hwsim figure for these rows was computed). A seeded sample
(``make_heldout.SEED``, salted per GPU) of ``PER_GPU`` rows per GPU is kept. No row is picked by
how well hwsim does, and no constant is fitted on any of them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from make_heldout import _sample, _write

from hwsim.validation.nvml_sampling import kernel_weight

REPO = "ai-dynamo/aiconfigurator"
COMMIT = "095f58a51c4ca8e61b66ec108d86f223f8d559ce"
DATA = "aic-core/src/aiconfigurator_core/systems/data"
VERSION = "0.22.0"
SYSTEMS = {"h200_sxm": "h200-sxm", "b200_sxm": "b200-sxm"}
PER_GPU = 40
# collector/vllm/collect_gemm.py: outside_loop_count = 6 for bf16 (1 only for fp8_block, nvfp4).
OPS_PER_REPLAY = 6
OUT = "aiconfigurator_gemm_power.csv"
HEADER = ["gpu", "preset", "m", "n", "k", "dtype", "latency_us", "ops_per_replay", "kernel",
          "framework", "source", "power_w", "power_limit_w"]


def _rows(data: Path, system: str) -> tuple[str, list]:
    path = f"{system}/gemm/vllm/{VERSION}/gemm_perf.parquet"
    df = pd.read_parquet(data / path)
    df = df[(df.gemm_dtype == "bfloat16") & (df.kernel_source == "vllm_default")]
    df = df.drop_duplicates(["m", "n", "k"])
    rows = [r for r in df.itertuples(index=False)
            if kernel_weight(OPS_PER_REPLAY * r.latency * 1e-3) > 0.0]
    return path, rows


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit(__doc__)
    data = Path(argv[0])
    out: list[list] = []
    for system, preset in SYSTEMS.items():
        path, rows = _rows(data, system)
        for r in _sample(rows, PER_GPU, f"gemm-power:{system}"):
            out.append([r.device, preset, r.m, r.n, r.k, "bf16", f"{r.latency * 1e3:.4f}",
                        OPS_PER_REPLAY, "torch.nn.functional.linear", f"vLLM {r.version}",
                        f"{REPO}@{COMMIT[:9]}:{DATA}/{path}", f"{r.power:.2f}",
                        f"{r.power_limit:.0f}"])
    _write(OUT, HEADER, out)


if __name__ == "__main__":
    main(sys.argv[1:])
