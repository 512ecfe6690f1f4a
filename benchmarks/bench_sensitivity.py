"""Speed of ``hwsim sensitivity``: the full elasticity table (every numeric chip field plus
density, batch and seq) for a GPU preset on llama2-7b decode, target < 2 s, and its ratio to
one ``hwsim.simulate`` call of the same point. Imports and the first (warm-up) simulation are
outside the timings; best of --repeats runs each.

    .venv/bin/python benchmarks/bench_sensitivity.py [--chip h100-sxm] [--repeats 3]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core

import argparse  # noqa: E402
import time  # noqa: E402

import hwsim  # noqa: E402

TARGET_S = 2.0


def best_of(repeats: int, fn: object) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--chip", default="h100-sxm")
    ap.add_argument("--model", default="llama2-7b")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    model = hwsim.load_model(args.model, phase="decode")
    chip = hwsim.load_chip(args.chip)
    hwsim.simulate(model, chip)  # warm-up: imports, tech tables
    one_s, _ = best_of(args.repeats, lambda: hwsim.simulate(model, chip))
    table_s, result = best_of(args.repeats, lambda: hwsim.sensitivity(
        args.chip, args.model, phase="decode"))
    rows = result.rows  # type: ignore[attr-defined]
    print(f"{args.model} decode on {args.chip}: {len(rows)} elasticities, "
          f"{len(result.skipped)} fields skipped, "  # type: ignore[attr-defined]
          f"{result.simulations} simulations")  # type: ignore[attr-defined]
    print(f"one simulate: {one_s * 1e3:.1f} ms; full sensitivity table: {table_s:.3f} s "
          f"= {table_s / one_s:.1f}x one simulate (target < {TARGET_S:g} s: "
          f"{'met' if table_s < TARGET_S else 'MISSED'})")
    for r in rows[:5]:
        e = r.elasticity
        print(f"  {r.field:28s} latency {e['latency_s']:+.3f}  energy {e['energy_j']:+.3f}")


if __name__ == "__main__":
    main()
