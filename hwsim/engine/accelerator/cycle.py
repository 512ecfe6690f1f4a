"""The cycle-approximate fidelity: realised masks, tile-level timing, a SimPy pipeline.

Masks are realised (seeded) for every sparse GEMM, or read from a trace; they set each tile's
compute (the slowest lane of every output-stationary fold) and the unions that decide what is
fetched. Energy uses the same action counts as the analytic model on those realised statistics;
cycles, stalls and busy time per engine come from :mod:`hwsim.engine.accelerator.pipeline`.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from hwsim.config.chip import AcceleratorChip
from hwsim.engine.accelerator.analytic import Split, simulate_accelerator, split_works
from hwsim.engine.accelerator.pipeline import OpTimeline, replay_op, run_op
from hwsim.engine.accelerator.tiling import WorkTiming
from hwsim.engine.result import OpResult, Total
from hwsim.sparsity.masks import PackedMask
from hwsim.workload.model import Model
from hwsim.workload.ops import DTYPE_BYTES

if TYPE_CHECKING:
    from hwsim.hardware.chips import AnyChip

MAX_SAMPLE_WORKERS = 2  # this project's machines have 2 cores
PARALLEL_SAMPLES = 200  # below this, starting worker processes costs more than it saves
MAX_REALISED_TOKENS = 4096  # more tokens add nothing to the statistics a fold sees


class CycleRunner(Protocol):
    def __call__(self, model: Model, chip: AnyChip, batch: int, *, seed: int = 0,
                 z: float = 0.0, record: bool = False) -> CycleRun: ...


@dataclass(frozen=True)
class CycleRun:
    ops: list[OpResult]
    total: Total
    timelines: dict[int, Any]  # op index -> its event timeline (OpTimeline on accelerators)


def realise_masks(model: Model, chip: AcceleratorChip, batch: int, seed: int,
                  z: float = 0.0, split: Split | None = None) -> dict[int, PackedMask]:
    """Seeded masks for every sparse GEMM of the model (index in the GEMM work list).

    ``z`` shifts every op's density by z standard deviations of its per-input variability: one
    input that is busier (or quieter) than average everywhere."""
    from hwsim.sparsity.realise import spec_masks

    gemms = (split or _split(model, chip, batch))[0]
    masks: dict[int, PackedMask] = {}
    for j, (_, w) in enumerate(gemms):
        k = w.n if w.sparse_dim == "n" else w.k
        tokens = max(1, min(w.m, MAX_REALISED_TOKENS))
        s = int(np.random.SeedSequence([seed, j]).generate_state(1)[0])
        # None for traces (the cost model reads the trace itself) and weight N:M
        mask = spec_masks(w.sparsity, tokens, k, seed=s, z=z)
        if mask is not None:
            masks[j] = mask
    return masks


def simulate_cycle(model: Model, chip: AcceleratorChip, batch: int, *, seed: int = 0,
                   z: float = 0.0, record: bool = False, replay: bool = False,
                   split: Split | None = None) -> CycleRun:
    """One input (batch) at cycle fidelity. ``replay`` runs the pipeline through the numba
    replay of the SimPy model (same schedule, no timeline) - for many-sample runs."""
    split = split or _split(model, chip, batch)
    masks = realise_masks(model, chip, batch, seed, z, split)
    bw = chip.offchip.bw_bytes_per_s / chip.clock_hz
    timelines: dict[int, OpTimeline] = {}

    def timing(works: list[WorkTiming]) -> dict[int, dict[str, float]]:
        by_op: dict[int, list[WorkTiming]] = {}
        for w in works:
            by_op.setdefault(w.op_index, []).append(w)
        out: dict[int, dict[str, float]] = {}
        for i, ws in by_op.items():
            tl = replay_op(ws, bw) if replay else run_op(ws, bw, record=record)
            timelines[i] = tl
            out[i] = {"cycles": tl.cycles, "busy.array": tl.busy["array"],
                      "busy.vector_unit": tl.busy["vector_unit"],
                      "busy.router_unit": tl.busy["router_unit"],
                      "busy.offchip": tl.busy["load"] + tl.busy["store"]}
        return out

    rows, total = simulate_accelerator(model, chip, batch, masks=masks, timing=timing,
                                       works_split=split)
    return CycleRun(rows, total, timelines)


def _split(model: Model, chip: AcceleratorChip, batch: int) -> Split:
    return split_works(model, batch, DTYPE_BYTES[chip.array.dtype], chip.router_unit is not None)


def percentiles(values: np.ndarray) -> dict[str, float]:
    return {"p50": float(np.percentile(values, 50)), "p90": float(np.percentile(values, 90)),
            "p99": float(np.percentile(values, 99)), "max": float(np.max(values)),
            "mean": float(np.mean(values))}


def sample_distribution(model: Model, chip: AnyChip, batch: int, samples: int,
                        seed: int) -> dict[str, object]:
    """``samples`` inputs, each with its own masks and a density drawn from the specs'
    per-input variability (one standard-normal draw per input shifts every sparse op)."""
    results = sample_values(model, chip, batch, samples, seed)
    return {"samples": samples, "seed": seed, "latency_s": percentiles(results[:, 0]),
            "energy_j": percentiles(results[:, 1])}


def sample_values(model: Model, chip: AnyChip, batch: int, samples: int,
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


def cycle_runner(chip: object) -> CycleRunner:
    """The cycle-fidelity simulation of the chip's kind: ``f(model, chip, batch, *, seed, z,
    record)`` returning a :class:`CycleRun`."""
    from hwsim.config.chip import GpuChip, McuChip

    if isinstance(chip, GpuChip):
        from hwsim.engine.gpu.cycle import simulate_gpu_cycle

        return simulate_gpu_cycle  # type: ignore[return-value]
    if isinstance(chip, McuChip):
        from hwsim.engine.mcu.cycle import simulate_mcu_cycle

        return simulate_mcu_cycle  # type: ignore[return-value]
    return simulate_cycle  # type: ignore[return-value]


def _run_samples(args: tuple[Model, AnyChip, int, list[tuple[int, float]]]) -> np.ndarray:
    model, chip, batch, jobs = args
    out = np.empty((len(jobs), 2))
    if isinstance(chip, AcceleratorChip):
        split = _split(model, chip, batch)
        for j, (s, z) in enumerate(jobs):
            run = simulate_cycle(model, chip, batch, seed=s, z=z, replay=True, split=split)
            out[j] = run.total.latency_s, run.total.energy_j
        return out
    runner = cycle_runner(chip)
    for j, (s, z) in enumerate(jobs):
        run = runner(model, chip, batch, seed=s, z=z)
        out[j] = run.total.latency_s, run.total.energy_j
    return out
