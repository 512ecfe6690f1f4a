"""Speed of the serving simulation: simulated requests per wall-second, and how much faster
than real time a run is.

The headline case is the issue's: 10 s of Poisson arrivals at 200 requests/s, batching up to 8
with a 2 ms timeout, a sparse model whose per-request density varies (selective-gpt2-small,
top-k 10 % +- 4 % FFN neurons, decode) on sparseflow-accel. The one-time engine evaluations
(the service-time tables) are timed apart from the event loop, since a sweep of rates or
batching policies over one (model, chip) pays them once. A long run (1e5 requests) shows the
loop's steady per-request cost. Best of --repeats runs each.

Token level (the issue-19 target): ten simulated minutes of LLaMA-2-7B on one H100 at 10
requests/s (Poisson), 512 prompt and 128 output tokens, continuous batching with the default
limits, in under 10 s of wall time. Timed whole (model load, engine evaluations, the loop and
the report); wall and CPU seconds are both printed, since on a shared machine wall time
includes waiting for a core. The ratio is wall time / simulated time.

    .venv/bin/python benchmarks/bench_serving.py [--repeats 5] [--part request|token|all]
"""

from __future__ import annotations

import argparse
import time

from hwsim.serving import ServiceModel
from hwsim.serving.config import make_config
from hwsim.serving.report import summarise
from hwsim.serving.sim import run
from hwsim.serving.tokens import serve_tokens

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


def token_level(repeats: int) -> None:
    """The token-level headline: 600 s of llama2-7b at 10/s on h100-sxm."""
    duration_s = 600.0
    print("token level: llama2-7b on h100-sxm, 10 requests/s Poisson, 512 prompt + 128 output "
          f"tokens, {duration_s:g} s simulated")
    best_wall, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        result = serve_tokens("llama2-7b", "h100-sxm", rate_per_s=10.0, duration_s=duration_s,
                              prompt_tokens=512, output_tokens=128)
        doc = result.to_dict()
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    print(f"requests {doc['requests']:,}, iterations {doc['iterations']:,}, engine evaluations "
          f"{result.engine_evaluations}; TTFT p50 {doc['ttft_s']['p50'] * 1e3:.2f} ms, TPOT p50 "
          f"{doc['tpot_s']['p50'] * 1e3:.2f} ms, {doc['throughput_tokens_per_s']:.0f} tokens/s")
    print(f"wall {best_wall:.2f} s (CPU {best_cpu:.2f} s) for {duration_s:g} simulated s: "
          f"ratio {best_wall / duration_s:.4f} wall/simulated "
          f"({duration_s / best_wall:.0f}x faster than real time)\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--part", choices=("request", "token", "all"), default="all")
    args = ap.parse_args()
    if args.part in ("token", "all"):
        token_level(max(1, min(args.repeats, 3)))
    if args.part == "token":
        return

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
