"""Study speed: evaluations per second of the analytic sweep through ``run_study``, Dask scaling
at 1 and 2 workers, and Optuna NSGA-II vs the grid on a shipped study. Every ratio is against a
baseline measured in the same run.

1. 10,000 accelerator designs x a 12-layer transformer (ViT-B/16) as a grid study, store writes
   included (target: under 60 s on this 2-core machine); baseline: ``simulate`` one design at a
   time on a sample of the same designs.
2. A per-point (``simulate``) study on a Dask LocalCluster with 1 and then 2 workers (each
   cluster warmed up first): the scaling factor t(1) / t(2).
3. ``accel-dse-vit`` (2,304 designs): the grid's best feasible EDP vs NSGA-II with a tenth of
   the evaluations (target: within 5 %), over several seeds.

    .venv/bin/python benchmarks/bench_study.py [--designs 10000] [--skip-dask]
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

import numpy as np

from hwsim.config.loading import read_yaml_file
from hwsim.presets import resolve
from hwsim.study import read_points, run_study, study_from_doc
from hwsim.study.executors import dask_client

SIZES = [16, 32, 64, 128, 256]
KIB = [16384, 65536, 262144, 1048576, 4194304]


def sweep_doc(designs: int) -> dict:
    n_bw = max(1, designs // (len(SIZES) ** 2 * len(KIB) ** 2))
    bws = [float(x) for x in np.geomspace(6.4e9, 409.6e9, n_bw)]
    return {
        "schema_version": 1, "name": "bench-sweep", "chips": ["systolic-32x32"],
        "space": [{"path": "array.rows", "values": SIZES},
                  {"path": "array.cols", "values": SIZES},
                  {"path": "buffers.ifmap.size_bytes", "values": KIB},
                  {"path": "buffers.filter.size_bytes", "values": KIB},
                  {"path": "offchip.bw_bytes_per_s", "values": bws}],
        "workloads": [{"model": "vit-b16"}],
        "objectives": [{"metric": "latency_s"}, {"metric": "energy_j"}],
        "store": {"batch_points": 2500},
    }


def bench_sweep(designs: int, tmp: Path) -> None:
    import hwsim

    study = study_from_doc(sweep_doc(designs))
    t0 = time.perf_counter()
    path = run_study(study, store_dir=tmp)
    t = time.perf_counter() - t0
    df = read_points(path)
    n = len(df)
    # Baseline: simulate() design by design on a sample of the same designs.
    sample = df.sample(30, random_state=0)
    model = hwsim.load_model("vit-b16")
    t1 = time.perf_counter()
    for _, r in sample.iterrows():
        chip = hwsim.load_chip("systolic-32x32", {
            "array.rows": int(r["param.array.rows"]), "array.cols": int(r["param.array.cols"]),
            "buffers.ifmap.size_bytes": int(r["param.buffers.ifmap.size_bytes"]),
            "buffers.filter.size_bytes": int(r["param.buffers.filter.size_bytes"]),
            "offchip.bw_bytes_per_s": float(r["param.offchip.bw_bytes_per_s"])})
        res = hwsim.simulate(model, chip)
        assert abs(res.total.latency_s / r["latency_s"] - 1) < 1e-9
    per_point = (time.perf_counter() - t1) / len(sample)
    print(f"[sweep] {n:,} designs x vit-b16 (12 layers) in {t:.1f} s including the store -> "
          f"{n / t:,.0f} designs/s; per-design simulate(): {1 / per_point:,.1f} designs/s -> "
          f"{per_point * n / t:,.0f}x; target < 60 s: {'met' if t < 60 else 'NOT met'}")
    print(f"        evaluators: {df['evaluator'].value_counts().to_dict()}")


def slow_doc(name: str, points: int, batch: int = 24) -> dict:
    # GPU fields are not in the vectorised sweep: one simulate() per point.
    return {"schema_version": 1, "name": name, "chips": ["a100-sxm-80gb"],
            "space": [{"path": "offchip.bw_bytes_per_s", "low": 1.0e12, "high": 3.0e12,
                       "step": 2.0e12 / (points - 1)}],
            "workloads": [{"model": "gpt2-small"}],
            "objectives": [{"metric": "latency_s"}], "store": {"batch_points": batch}}


def bench_dask(points: int, tmp: Path) -> None:
    times = {}
    for workers in (1, 2):
        with dask_client(workers, None) as client:
            warm = study_from_doc(slow_doc(f"warm{workers}", 4 * workers + 1, batch=2))
            run_study(warm, dask_address=client.scheduler.address, store_dir=tmp)
            study = study_from_doc(slow_doc(f"dask{workers}", points))
            t0 = time.perf_counter()
            path = run_study(study, dask_address=client.scheduler.address, store_dir=tmp)
            times[workers] = time.perf_counter() - t0
            n = len(read_points(path))
        print(f"[dask] {workers} worker(s): {n} simulate() points in {times[workers]:.1f} s -> "
              f"{n / times[workers]:,.1f} points/s")
    print(f"[dask] scaling factor 1 -> 2 workers: {times[1] / times[2]:.2f}x")


def bench_optuna(tmp: Path, seeds: int) -> None:
    doc = read_yaml_file(resolve("studies", "accel-dse-vit"))
    grid_doc = copy.deepcopy(doc)
    grid_doc["name"] = "bench-grid"
    t0 = time.perf_counter()
    grid = read_points(run_study(study_from_doc(grid_doc), store_dir=tmp))
    tg = time.perf_counter() - t0
    best = grid.loc[grid["feasible"].astype(bool), "edp"].min()
    budget = len(grid) // 10
    print(f"[optuna] grid: {len(grid)} evaluations in {tg:.1f} s, best feasible EDP "
          f"{best:.4g} J*s")
    gaps = []
    for seed in range(seeds):
        d = copy.deepcopy(doc)
        d.update(name=f"bench-nsga2-{seed}",
                 search={"kind": "nsga2", "budget": budget, "population": 16, "seed": seed})
        t0 = time.perf_counter()
        df = read_points(run_study(study_from_doc(d), store_dir=tmp))
        t = time.perf_counter() - t0
        got = df.loc[df["feasible"].astype(bool), "edp"].min()
        gaps.append(got / best - 1)
        print(f"[optuna] NSGA-II seed {seed}: {len(df)} evaluations ({budget} asked) in "
              f"{t:.1f} s, best feasible EDP {got:.4g} J*s ({100 * gaps[-1]:+.2f} % vs grid)")
    within = sum(g <= 0.05 for g in gaps)
    print(f"[optuna] within 5 % of the grid's best with 10x fewer evaluations: {within} of "
          f"{seeds} seeds (median gap {100 * float(np.median(gaps)):+.2f} %)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--designs", type=int, default=10_000)
    ap.add_argument("--dask-points", type=int, default=193)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--skip-dask", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hwsim-bench-study-") as d:
        tmp = Path(d)
        bench_sweep(args.designs, tmp)
        if not args.skip_dask:
            bench_dask(args.dask_points, tmp)
        bench_optuna(tmp, args.seeds)


if __name__ == "__main__":
    main()
