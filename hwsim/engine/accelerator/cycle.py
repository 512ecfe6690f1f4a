"""The accelerator's cycle-approximate fidelity: realised masks, tile-level timing, a SimPy
pipeline.

Masks are realised (seeded) for every sparse GEMM, or read from a trace; they set each tile's
compute (the slowest lane of every output-stationary fold) and the unions that decide what is
fetched. Energy uses the same action counts as the analytic model on those realised statistics;
cycles, stalls and busy time per engine come from :mod:`hwsim.engine.accelerator.pipeline`.
"""

from __future__ import annotations

import numpy as np

from hwsim.config.chip import AcceleratorChip
from hwsim.engine.accelerator.analytic import Split, simulate_accelerator, split_works
from hwsim.engine.accelerator.pipeline import replay_op, run_op
from hwsim.engine.accelerator.tiling import WorkTiming
from hwsim.engine.timeline import CycleRun, OpTimeline
from hwsim.sparsity.masks import PackedMask
from hwsim.sparsity.realise import MAX_REALISED_TOKENS
from hwsim.units import DTYPE_BYTES
from hwsim.workload.model import Model


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


def sample_rows(model: Model, chip: AcceleratorChip, batch: int,
                jobs: list[tuple[int, float]]) -> np.ndarray:
    """(latency_s, energy_j) per (seed, z) job, through the numba replay of the pipeline and
    one lowering shared by all jobs."""
    split = _split(model, chip, batch)
    out = np.empty((len(jobs), 2))
    for j, (s, z) in enumerate(jobs):
        run = simulate_cycle(model, chip, batch, seed=s, z=z, replay=True, split=split)
        out[j] = run.total.latency_s, run.total.energy_j
    return out


def _split(model: Model, chip: AcceleratorChip, batch: int) -> Split:
    return split_works(model, batch, DTYPE_BYTES[chip.array.dtype], chip.router_unit is not None)
