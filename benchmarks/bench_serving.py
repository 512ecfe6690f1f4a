"""Speed of the serving simulation: simulated requests per wall-second, and how much faster
than real time a run is.

The headline case is the issue's: 10 s of Poisson arrivals at 200 requests/s, batching up to 8
with a 2 ms timeout, a sparse model whose per-request density varies (selective-gpt2-small,
top-k 10 % +- 4 % FFN neurons, decode) on sparseflow-accel. The one-time engine evaluations
(the service-time tables) are timed apart from the event loop, since a sweep of rates or
batching policies over one (model, chip) pays them once. A long run (1e5 requests) shows the
loop's steady per-request cost. Best of --repeats runs each.

    .venv/bin/python benchmarks/bench_serving.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

from hwsim.serving import ServiceModel
from hwsim.serving.config import make_config
from hwsim.serving.report import summarise
from hwsim.serving.sim import run

MODEL, CHIP = "selective-gpt2-small", "sparseflow-accel"
SPARSITY = ["*ffn_*:topk:density=0.1,variability={std: 0.04}"]


def timed_run(service: ServiceModel, rate_per_s: float, duration_s: float,
              repeats: int) -> tuple[float, int]:
    """Best wall time (s) of simulate + summarise, and the requests served."""
    config = make_config(rate_per_s=rate_per_s, duration_s=duration_s, max_batch=8,
                         timeout_s=2e-3, seed=0)
    best, served = float("inf"), 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = summarise(run(service, config), service, config)
        best = min(best, time.perf_counter() - t0)
        served = result.requests
    return best, served


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    t0 = time.perf_counter()
    service = ServiceModel(MODEL, CHIP, sparsity=SPARSITY)
    for batch in range(1, 9):
        service.table(batch)
    build_s = time.perf_counter() - t0
    print(f"{MODEL} on {CHIP}, {SPARSITY[0]}; batching max 8, timeout 2 ms")
    print(f"service time batch 1 / 8 at the mean density: "
          f"{service.nominal_cost(1)[0] * 1e3:.3f} / {service.nominal_cost(8)[0] * 1e3:.3f} ms; "
          f"engine tables (8 batch sizes x {len(service.grid)} densities): {build_s:.2f} s\n")

    header = f"{'run':28s} {'requests':>9s} {'wall s':>8s} {'req/wall-s':>11s} {'x real time':>12s}"
    print(header)
    print("-" * len(header))
    for label, rate, duration in (("10 s at 200/s", 200.0, 10.0),
                                  ("100 s at 1000/s", 1000.0, 100.0)):
        wall_s, served = timed_run(service, rate, duration, args.repeats)
        print(f"{label:28s} {served:9,d} {wall_s:8.3f} {served / wall_s:11,.0f} "
              f"{duration / wall_s:11,.0f}x")
        if rate == 200.0:
            headline = (served / wall_s, duration / wall_s, duration / (wall_s + build_s))
    print(f"\nheadline (10 s at 200/s): {headline[0]:,.0f} simulated requests per wall-second "
          f"= {headline[1]:,.0f}x real time; {headline[2]:,.1f}x including the one-time "
          f"engine tables")


if __name__ == "__main__":
    main()
