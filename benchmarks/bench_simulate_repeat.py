"""Speed of repeated ``hwsim.simulate`` calls on a preset named by its name (a sweep, a fit, the
app), three ways in the same run (docs/architecture.md "What is remembered between calls"):
warm (the chip, its energies and the preset index remembered, repeated layers costed once);
cold (every remembered chip and the preset index dropped before each call); and as before they
were kept (cold, and every op costed even where only its name differs). Median of --calls calls
each, one core.

    .venv/bin/python benchmarks/bench_simulate_repeat.py [--calls 30]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import hwsim  # noqa: E402
import hwsim.engine.gpu.analytic as analytic  # noqa: E402
from hwsim import presets  # noqa: E402
from hwsim.hardware import chips  # noqa: E402
from hwsim.workload.model import Model  # noqa: E402

CASES: tuple[tuple[str, str, Callable[[], Model]], ...] = (
    ("512x4096x4096 bf16 GEMM", "a100-sxm-80gb",
     lambda: hwsim.gemm(512, 4096, 4096, dtype="bf16")),
    ("4096^3 fp32 GEMM (borrowed energies)", "l4",
     lambda: hwsim.gemm(4096, 4096, 4096, dtype="fp32")),
    ("llama2-7b decode, seq 1024", "h100-sxm",
     lambda: hwsim.load_model("llama2-7b", phase="decode", seq=1024)),
    ("llama2-7b prefill, seq 512", "a100-sxm-80gb",
     lambda: hwsim.load_model("llama2-7b", phase="prefill", seq=512)),
)


def _forget() -> None:
    with chips._CHIPS_LOCK:
        chips._CHIPS.clear()
    presets._stem_index.cache_clear()


def median_ms(calls: int, fn: Callable[[], object], before: Callable[[], None] | None) -> float:
    times = []
    for _ in range(calls):
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=30)
    args = ap.parse_args()
    for label, chip, build in CASES:
        model = build()
        hwsim.simulate(model, chip)  # imports, numba and schema builds outside the timings
        warm = median_ms(args.calls, lambda m=model, c=chip: hwsim.simulate(m, c), None)
        cold = median_ms(args.calls, lambda m=model, c=chip: hwsim.simulate(m, c), _forget)
        unnamed = analytic._unnamed
        analytic._unnamed = lambda op: None  # type: ignore[assignment]  # every op costed
        try:
            before = median_ms(args.calls, lambda m=model, c=chip: hwsim.simulate(m, c), _forget)
        finally:
            analytic._unnamed = unnamed  # type: ignore[assignment]
        print(f"{label} on {chip}: warm {warm:.2f} ms, cold {cold:.2f} ms, as before "
              f"{before:.2f} ms per simulate (before / warm {before / warm:.1f}x)")


if __name__ == "__main__":
    main()
