"""Many inputs at cycle fidelity: per-input densities drawn from the specs' variability, each
input simulated with its own seeded masks, summarised as percentiles. Kind-agnostic: each
backend's ``sample_rows`` does the per-input work."""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from hwsim.engine.backend import backend_for
from hwsim.workload.model import Model

MAX_SAMPLE_WORKERS = 2  # this project's machines have 2 cores
PARALLEL_SAMPLES = 200  # below this, starting worker processes costs more than it saves


def percentiles(values: np.ndarray) -> dict[str, float]:
    return {"p50": float(np.percentile(values, 50)), "p90": float(np.percentile(values, 90)),
            "p99": float(np.percentile(values, 99)), "max": float(np.max(values)),
            "mean": float(np.mean(values))}


def sample_distribution(model: Model, chip: Any, batch: int, samples: int,
                        seed: int) -> dict[str, object]:
    """``samples`` inputs, each with its own masks and a density drawn from the specs'
    per-input variability (one standard-normal draw per input shifts every sparse op)."""
    results = sample_values(model, chip, batch, samples, seed)
    return {"samples": samples, "seed": seed, "latency_s": percentiles(results[:, 0]),
            "energy_j": percentiles(results[:, 1])}


def sample_values(model: Model, chip: Any, batch: int, samples: int,
                  seed: int) -> np.ndarray:
    """The per-input (latency_s, energy_j) rows behind :func:`sample_distribution`, shape
    (samples, 2) (the app draws its histograms from them)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xD157]))
    zs = rng.standard_normal(samples)
    jobs = [(seed + 1 + s, float(zs[s])) for s in range(samples)]
    workers = min(os.cpu_count() or 1, MAX_SAMPLE_WORKERS)
    if samples >= PARALLEL_SAMPLES and workers > 1 and "fork" in mp.get_all_start_methods():
        # Each input is independent and fully seeded, so splitting the inputs over processes
        # gives the same numbers as one process.
        chunks = [jobs[w::workers] for w in range(workers)]
        ctx = mp.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            parts = list(pool.map(_run_samples, [(model, chip, batch, c) for c in chunks]))
        results = np.empty((samples, 2))
        for w, part in enumerate(parts):
            results[w::workers] = part
    else:
        results = _run_samples((model, chip, batch, jobs))
    return results


def _run_samples(args: tuple[Model, Any, int, list[tuple[int, float]]]) -> np.ndarray:
    model, chip, batch, jobs = args
    return backend_for(chip).sample_rows(model, chip, batch, jobs)
