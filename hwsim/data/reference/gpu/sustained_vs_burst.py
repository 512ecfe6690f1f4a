"""Prints the table of docs/gpu.md "Sustained load": for every bf16 GEMM shape AIConfigurator
timed both in a burst (vLLM 0.24.0 table, 3 warm-ups and 6 replays) and over a second of
replays with power measured (vLLM 0.22.0 power table), the median sustained / burst latency and
reading per band of sustained latency and arithmetic intensity (FLOP per byte of A, B and C).
Shapes of ``aiconfigurator_gemm_power.csv`` (held out) are left out. Uses no hwsim model;
writes nothing; not run at test or run time. Needs the data folder of an ai-dynamo/aiconfigurator
checkout at or after ``make_gemm_power.COMMIT``:

    python sustained_vs_burst.py AICONFIGURATOR_REPO/aic-core/src/aiconfigurator_core/systems/data
"""

from __future__ import annotations

import csv
import statistics
import sys
from pathlib import Path

import pandas as pd
from make_gemm_power import OUT as POWER_OUT
from make_gemm_power import SYSTEMS
from make_heldout import HERE

LATENCY_BANDS_MS = ((0.0, 0.02), (0.02, 0.1), (0.1, 0.3), (0.3, 1.0), (1.0, 3.0), (3.0, 100.0))
INTENSITY_BANDS = ((0.0, 100.0), (100.0, 400.0), (400.0, float("inf")))


def _table(data: Path, system: str, version: str) -> pd.DataFrame:
    df = pd.read_parquet(data / f"{system}/gemm/vllm/{version}/gemm_perf.parquet")
    return df[df.gemm_dtype == "bfloat16"].drop_duplicates(["m", "n", "k"])


def main(data: Path) -> None:
    with open(HERE / POWER_OUT, newline="") as fh:
        held = {(r["preset"], int(r["m"]), int(r["n"]), int(r["k"])) for r in csv.DictReader(fh)}
    for system, preset in SYSTEMS.items():
        both = _table(data, system, "0.22.0").merge(_table(data, system, "0.24.0"),
                                                   on=["m", "n", "k"], suffixes=("_s", "_b"))
        rows = [r for r in both.itertuples(index=False)
                if (preset, int(r.m), int(r.n), int(r.k)) not in held]
        print(f"{system}: {len(rows)} shapes in both tables")
        for lo, hi in LATENCY_BANDS_MS:
            for ai_lo, ai_hi in INTENSITY_BANDS:
                sel = []
                for r in rows:
                    flop_per_byte = (2 * r.m * r.n * r.k) / (2 * (r.m * r.k + r.k * r.n
                                                                  + r.m * r.n))
                    if lo <= r.latency_s < hi and ai_lo <= flop_per_byte < ai_hi:
                        sel.append(r)
                if len(sel) < 5:
                    continue
                ratio = statistics.median(r.latency_s / r.latency_b for r in sel)
                watts = statistics.median(r.power for r in sel)
                print(f"  sustained {lo}-{hi} ms, FLOP/B {ai_lo:g}-{ai_hi:g}: {len(sel)} shapes, "
                      f"sustained / burst {ratio:.3f}, reading {watts:.0f} W")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]))
