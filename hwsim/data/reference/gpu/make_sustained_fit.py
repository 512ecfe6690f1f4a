"""Regenerates ``aiconfigurator_sustained_gemm_fit.csv``: FITTING rows pairing one bf16 GEMM
shape's latency in a burst and held at the power limit, on the H200 and the B200.

Not run at test or run time: hwsim reads only the CSV. Needs the data folder of an
ai-dynamo/aiconfigurator checkout at or after ``make_gemm_power.COMMIT``:

    python make_sustained_fit.py AICONFIGURATOR_REPO/aic-core/src/aiconfigurator_core/systems/data

AIConfigurator's collector times a row in one of two ways (``benchmark_with_power`` in
``collector/helper.py``): without power measurement (its default; the vLLM 0.24.0 tables)
3 warm-ups and 6 timed CUDA-graph replays, a burst of milliseconds; with it (the vLLM 0.22.0
power tables) the replays are stretched to a second (0.3 s under 0.1 ms per replay), so the
board's power management acts. Both tables time the same bf16 ``torch.nn.functional.linear``
shapes, six linears per replay. A row here is one shape present in both, with both latencies,
the power table's reading, and its limit.

Rows kept: bf16, one per shape, in both tables, none of the held-out shapes of
``aiconfigurator_gemm_power.csv`` or of the vLLM 0.24 held-out GEMM files (so the fitting set
shares no shape with any held-out GEMM row), in two bands of sustained latency (``BANDS``):
``short`` from 20 us (below it the per-kernel graph time dominates and no kernel nears the
limit) to 370 us, where the burst's 9 replays of six linears last under 20 ms, inside the time
a board runs at boost before its power management lowers the clock (~50 ms on a B200: the
throttling onset after 30-39 iterations of a ~1.5 ms FlashAttention kernel in
flashinfer-ai/flashinfer#2899), so the burst latency is about the boost-clock one; and ``long``
from 370 us to 10 ms, whose bursts outlast that, which is what tells how long. A seeded sample
(``make_heldout.SEED``, salted per GPU and band; the short band's salt is the one it had alone)
of ``PER_GPU`` rows per GPU and band; no row is picked by how well hwsim does.

``opens_group`` records the row's place in the power table's sweep: the table lists its cases
in the order the collector ran them (``collect_gemm.py``: for each M, for each N, K from the
largest down, each shape in every dtype), and ``true`` marks the first bf16 case of its (M, N)
group, whose NVML reading's second before the replays held the host setting up a new group rather
than the previous K of the same group (:mod:`hwsim.calibration.offchip_energy_fit` uses it).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pandas as pd
from make_gemm_power import COMMIT, DATA, REPO, SYSTEMS
from make_gemm_power import OUT as POWER_OUT
from make_heldout import HERE, _sample, _write

PER_GPU = 120
# band -> (lowest, highest sustained latency in us, the sample's salt prefix)
BANDS = {"short": (20.0, 370.0, "sustained"), "long": (370.0, 10000.0, "sustained-long")}
OUT = "aiconfigurator_sustained_gemm_fit.csv"
HELD_OUT_FILES = (POWER_OUT, "aiconfigurator_gemm.csv", "aiconfigurator_gemm_new_presets.csv")
HEADER = ["gpu", "preset", "m", "n", "k", "dtype", "burst_latency_us", "burst_framework",
          "sustained_latency_us", "sustained_framework", "ops_per_replay", "power_w",
          "power_limit_w", "band", "opens_group", "source"]


def _table(data: Path, system: str, version: str) -> pd.DataFrame:
    df = pd.read_parquet(data / f"{system}/gemm/vllm/{version}/gemm_perf.parquet")
    return df[df.gemm_dtype == "bfloat16"].drop_duplicates(["m", "n", "k"])


def _mark_group_starts(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (one table's bf16 rows in the table's order) with ``opens_group``: whether the row
    is the first of its (M, N) group in that order."""
    prev = df[["m", "n"]].shift()
    return df.assign(opens_group=(df.m != prev.m) | (df.n != prev.n))


def _held_out() -> set[tuple[str, int, int, int]]:
    out = set()
    for name in HELD_OUT_FILES:
        with open(HERE / name, newline="") as fh:
            out |= {(r["preset"], int(r["m"]), int(r["n"]), int(r["k"]))
                    for r in csv.DictReader(fh)}
    return out


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit(__doc__)
    data = Path(argv[0])
    held = _held_out()
    out: list[list] = []
    for system, preset in SYSTEMS.items():
        burst = _table(data, system, "0.24.0")
        sustained = _mark_group_starts(_table(data, system, "0.22.0"))
        both = sustained.merge(burst, on=["m", "n", "k"], suffixes=("_s", "_b"))
        src = f"{REPO}@{COMMIT[:9]}:{DATA}/{system}/gemm/vllm/{{0.24.0,0.22.0}}/gemm_perf.parquet"
        for band, (lo_us, hi_us, salt) in BANDS.items():
            # The short band includes its upper bound, the long band does not include it.
            inside = (both.latency_s * 1e3 >= lo_us) if band == "short" else (
                both.latency_s * 1e3 > lo_us)
            inside &= both.latency_s * 1e3 <= hi_us
            rows = [r for r in both[inside].itertuples(index=False)
                    if (preset, int(r.m), int(r.n), int(r.k)) not in held]
            for r in _sample(rows, PER_GPU, f"{salt}:{system}"):
                out.append([r.device_s, preset, r.m, r.n, r.k, "bf16", f"{r.latency_b * 1e3:.4f}",
                            f"vLLM {r.version_b}", f"{r.latency_s * 1e3:.4f}",
                            f"vLLM {r.version_s}", 6, f"{r.power:.2f}", f"{r.power_limit:.0f}",
                            band, "true" if r.opens_group else "false", src])
    _write(OUT, HEADER, out)


if __name__ == "__main__":
    main(sys.argv[1:])
