"""Square ``torch.mm`` throughput on ten GPU presets, crowd-sourced: held out.

``zzc0721/torch-performance-test-data`` is a public benchmark script (``test.py``) and a table of
its results contributed by its users (``database.md`` and the per-run detail in its issues):
``torch.mm`` of two random n x n matrices, n = 1024, 2048, 4096, 8192, 10240, in fp32 (TF32
off), fp16 and bf16, each size timed as ``warmups`` back-to-back calls and then ``runs`` = 30
more inside one timed window (CUDA events since the script's 2025-10-06 version, 10 warm-ups;
6 warm-ups and a host clock around a synchronised window before it), reported as 2 n^3 x runs
over the window. The table keeps each run's best size; four runs posted every size.

None of these rows fitted anything (``hwsim/data/reference/gpu/SOURCES.md``): they are a third
lab-independent check of the GEMM path, its power limit and its dtype rates, on boards and
machines hwsim knows nothing about (cloud or desktop, cooling unrecorded). No issue-17 target
is attached: the numbers are the contributors', one run each, and the boards' clocks and
temperatures are not recorded. One more row, with its own harness, is a T4 held at its limit
from NVIDIA's developer forum (a 4096^3 fp16 cuBLAS GEMM averaged over 100 calls, "about 24T",
attributed by NVIDIA to power capping).

The harness as hwsim runs it (:mod:`hwsim.validation.burst`): each size starts its load at
boost ([assumption]: the script runs fp32, TF32, fp16 and bf16, each over n = 1024 to 10240,
back to back, freeing and allocating its matrices between sizes; the L4 run's 2048 rows, faster
than its 1024 and 4096 rows even after tens of seconds of load, suggest the clock recovers in
those gaps; held at the limit throughout instead, the T4's fp16 best-size rows would read about
-4 % rather than -18.5 %), and the
timed window's mean op time blends the op's time at boost and held at the limit by the share of
the window after the fitted power response. One kernel per op, timed without host launch cost
(the calls queue back to back). A ``max_over_sizes`` row is compared with hwsim's best size.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from hwsim.engine.simulate import simulate
from hwsim.presets import list_presets, reference_dir, reference_rows
from hwsim.validation.burst import blend, response_s
from hwsim.validation.error_stats import error_stats
from hwsim.workload.load import gemm

REFERENCE_FILE = "torch_mm_square_crowd.csv"
SIZES = (1024, 2048, 4096, 8192, 10240)
# Queued calls: the GPU never waits for the host, so no launch cost enters the window.
KERNEL_ONLY = {"launch_overhead_s": 0.0}


def mm_s(preset: str, size: int, dtype: str, *, sustained: bool) -> float:
    """Seconds of one ``size``^3 ``torch.mm`` queued behind others (kernel time only), at boost
    or held at the power limit (``sustained``)."""
    model = gemm(size, size, size, dtype=dtype, name=f"mm{size}")
    harness = KERNEL_ONLY | {"sustained_load": sustained}
    return simulate(model, preset, batch=1, chip_overrides=harness).total.latency_s


def op_s(preset: str, size: int, dtype: str, *, warmups: int, runs: int,
         response: float | None = None) -> float:
    """hwsim's mean seconds of one ``torch.mm`` of two ``size`` x ``size`` matrices in the
    benchmark's timed window (``warmups`` calls, then ``runs`` timed)."""
    boost = mm_s(preset, size, dtype, sustained=False)
    held = mm_s(preset, size, dtype, sustained=True)
    response = response_s() if response is None else response
    return blend(boost, held, 1, response, warmups=warmups, runs=runs)


@cache  # best-size rows of one board and harness share their five sizes' figures
def tflops(preset: str, size: int, dtype: str, *, warmups: int, runs: int) -> float:
    """The benchmark's figure for hwsim: 2 n^3 FLOP over the mean op time, in TFLOP/s."""
    return 2.0 * size**3 / op_s(preset, size, dtype, warmups=warmups, runs=runs) / 1e12


def square_mm_rows(ref_dir: Path | None = None) -> tuple[list[dict[str, Any]], int]:
    """Every row with a preset in this install, with hwsim's figure and the error of its time
    per op (measured TFLOP/s over hwsim's, minus 1: negative is hwsim too fast); and the count
    of rows skipped for want of a preset."""
    ref_dir = reference_dir("gpu") if ref_dir is None else ref_dir
    presets = {p.name for p in list_presets("chips") if p.group == "gpus"}
    rows: list[dict[str, Any]] = []
    skipped = 0
    for r in reference_rows(ref_dir, REFERENCE_FILE):
        if r["preset"] not in presets:
            skipped += 1
            continue
        warm, runs = int(r["warmups"]), int(r["runs"])
        sizes = SIZES if r["statistic"] == "max_over_sizes" else (int(r["size"]),)
        figures = {n: tflops(r["preset"], n, r["dtype"], warmups=warm, runs=runs)
                   for n in sizes}
        best = max(figures, key=lambda n: figures[n])
        measured = float(r["tflops"])
        rows.append({"gpu": r["gpu"], "preset": r["preset"], "dtype": r["dtype"],
                     "statistic": r["statistic"], "size": best, "measured_tflops": measured,
                     "hwsim_tflops": figures[best], "error": measured / figures[best] - 1.0,
                     "environment": r["environment"], "source": r["source"]})
    return rows, skipped


def _summary(rows: list[dict[str, Any]], preset: str, dtype: str) -> dict[str, Any]:
    return {"preset": preset, "dtype": dtype, **error_stats([r["error"] for r in rows])}


def square_mm_summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Median |error| and signed median per dtype and preset, then per dtype over all."""
    out: list[dict[str, Any]] = []
    for dtype in sorted({r["dtype"] for r in rows}):
        of_dtype = [r for r in rows if r["dtype"] == dtype]
        for preset in sorted({r["preset"] for r in of_dtype}):
            out.append(_summary([r for r in of_dtype if r["preset"] == preset], preset, dtype))
        out.append(_summary(of_dtype, "all", dtype))
    return out


def square_mm_report(ref_dir: Path | None = None) -> dict[str, Any]:
    """The rows, their summary and the skipped count, for ``hwsim validate gpu``."""
    rows, skipped = square_mm_rows(ref_dir)
    return {"rows": rows, "summary": square_mm_summary(rows), "skipped_no_preset": skipped,
            "source": "zzc0721/torch-performance-test-data@9d82827 (database.md and issues)"}
