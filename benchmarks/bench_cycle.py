"""Speed of the cycle-approximate fidelity next to the analytic one (same run, same machine).

Targets (issue: the cycle engine): GPT-2-small prefill, seq 512, on a 128x128 sparse
accelerator (sparseflow-accel with a 128x128 array) with top-k FFN density 0.1 under 2 s after
JIT warm-up; --samples 1000 on an MLPerf Tiny model under 5 s.

    .venv/bin/python benchmarks/bench_cycle.py
"""

from __future__ import annotations

import time

import hwsim


def timed(fn, repeats: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    chip = hwsim.load_chip("sparseflow-accel", {"array.rows": 128, "array.cols": 128})
    model = hwsim.load_model("gpt2-small", seq=512)
    spec = ["*ffn_down:topk:density=0.1"]
    hwsim.simulate(model, chip, sparsity=spec, fidelity="cycle")  # JIT warm-up
    t_cycle, rc = timed(lambda: hwsim.simulate(model, chip, sparsity=spec, fidelity="cycle"))
    t_an, ra = timed(lambda: hwsim.simulate(model, chip, sparsity=spec), repeats=5)
    print(f"gpt2-small prefill seq 512, top-k FFN 0.1, sparseflow-accel 128x128:\n"
          f"  cycle {t_cycle:.2f} s (target < 2 s: {'met' if t_cycle < 2 else 'NOT met'}), "
          f"analytic {t_an * 1e3:.1f} ms -> cycle/analytic time {t_cycle / t_an:.0f}x; "
          f"cycles cycle/analytic {rc.total.cycles / ra.total.cycles:.3f}")

    tiny = hwsim.load_model("mlperf-tiny-kws")
    accel = hwsim.load_chip("sparseflow-accel")
    kws_spec = ["*:relu:density=0.4,variability={std: 0.1}"]
    hwsim.simulate(tiny, accel, sparsity=kws_spec, fidelity="cycle", samples=5)
    t_s, rs = timed(lambda: hwsim.simulate(tiny, accel, sparsity=kws_spec, fidelity="cycle",
                                           samples=1000, seed=1), repeats=1)
    t_one, _ = timed(lambda: hwsim.simulate(tiny, accel, sparsity=kws_spec))
    lat = rs.distribution["latency_s"]
    print(f"{tiny.name} with ReLU density 0.4 +- 0.1, --samples 1000 on sparseflow-accel:\n"
          f"  {t_s:.2f} s (target < 5 s: {'met' if t_s < 5 else 'NOT met'}), "
          f"{t_s / 1000 * 1e3:.2f} ms per sample = {t_s / 1000 / t_one:.1f}x one analytic "
          f"run ({t_one * 1e3:.2f} ms), 2 worker processes; latency p50 "
          f"{lat['p50'] * 1e6:.1f} us, p99 {lat['p99'] * 1e6:.1f} us")


if __name__ == "__main__":
    main()
