"""Analytic evaluations per second, vectorised over >= 10,000 accelerator designs, on one core.

Baseline measured in the same run: the same model through ``hwsim.simulate`` one design at a
time. Prints layer-design evaluations per second with the mapper on (target >= 1,000,000), the
mapper's share of the time and the speed-up over the per-design path, and checks that both paths
give the same cycles and off-chip bytes. The first sweep of a model also enumerates each
layer's candidate tilings (cached per layer shape); the timed run reuses them.

    .venv/bin/python benchmarks/bench_sweep.py [--designs 10000] [--model resnet18]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, as the target says

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import hwsim  # noqa: E402
from hwsim.engine.accelerator.sweep import designs_like, sweep_accelerator  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--designs", type=int, default=10_000)
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--baseline-designs", type=int, default=40)
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    n = args.designs
    sizes = 2 ** rng.integers(3, 9, size=(2, n))  # 8 .. 256
    kib = 1024 * 2 ** rng.integers(4, 12, size=(3, n))  # 16 KiB .. 2 MiB
    bw = 10 ** rng.uniform(9.5, 11.5, size=n)  # 3 GB/s .. 300 GB/s
    model = hwsim.load_model(args.model)
    results = []
    for dataflow in ("os", "ws", "is", "rs"):
        # row-stationary needs PE scratchpads: the eyeriss-like preset with the same sweep
        chip = (hwsim.load_chip("eyeriss-like") if dataflow == "rs" else
                hwsim.load_chip("systolic-32x32", {"dataflow": dataflow}))
        designs, clock = designs_like(chip, rows=sizes[0], cols=sizes[1], ifmap_bytes=kib[0],
                                      filter_bytes=kib[1], ofmap_bytes=kib[2],
                                      bw_bytes_per_s=bw)
        sweep_accelerator(model, chip, designs, clock)  # warm-up
        t0 = time.perf_counter()
        res = sweep_accelerator(model, chip, designs, clock)
        t_sweep = time.perf_counter() - t0
        layer_evals = len(model.ops) * n

        nb = args.baseline_designs
        t0 = time.perf_counter()
        base_cycles, base_bytes = [], []
        for i in range(nb):
            c = hwsim.load_chip(chip, {
                "array.rows": int(sizes[0, i]), "array.cols": int(sizes[1, i]),
                "buffers.ifmap.size_bytes": int(kib[0, i]),
                "buffers.filter.size_bytes": int(kib[1, i]),
                "buffers.ofmap.size_bytes": int(kib[2, i]), "offchip.bw_bytes_per_s": bw[i]})
            tot = hwsim.simulate(model, c).total
            base_cycles.append(tot.cycles)
            base_bytes.append(tot.bytes["offchip"])
        t_base = (time.perf_counter() - t0) / nb * n
        agree = (np.allclose(base_cycles, res.cycles[:nb], rtol=1e-9)
                 and np.allclose(base_bytes, res.offchip_bytes[:nb], rtol=1e-9))
        share = res.mapper_s / t_sweep
        results.append((dataflow, t_sweep, layer_evals / t_sweep, t_base / t_sweep, agree))
        print(f"{dataflow}: {n} designs x {len(model.ops)} layers of {model.name} in "
              f"{t_sweep:.3f} s -> {layer_evals / t_sweep:,.0f} layer-design evaluations/s; "
              f"per-design simulate() would take {t_base:.1f} s -> vectorised is "
              f"{t_base / t_sweep:,.0f}x faster; mapper {share:.0%} of the sweep; cycles and "
              f"off-chip bytes agree with simulate(): {agree}")
    worst = min(r[2] for r in results)
    print(f"\nslowest dataflow: {worst:,.0f} layer-design evaluations/s on one core "
          f"(target >= 1,000,000 with the mapper on: {'met' if worst >= 1_000_000 else 'NOT met'})")
    if not all(r[4] for r in results):
        raise SystemExit("vectorised sweep disagrees with simulate()")


if __name__ == "__main__":
    main()
