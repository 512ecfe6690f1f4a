"""The GPU cycle fidelity: realised sparsity, a CTA-level event simulation, the analytic energies.

Per op, the kernels the analytic model launches (:func:`hwsim.engine.gpu.op_kernels`' lowering)
are rebuilt with realised statistics - the seeded union of active weight rows a gather-GEMM
reads, the per-query-block key unions of routed attention, seeded MoE routes and the per-expert
token counts they give (:mod:`hwsim.engine.gpu.realise`) - and cut into CTAs
(:mod:`hwsim.engine.gpu.cycle_kernels`). Each kernel then runs on the SMs in the SimPy model of
:mod:`hwsim.engine.gpu.cta`: a launch gap, CTAs dispatched to free SMs in waves, the tail wave
visible. Kernels run one after another (one stream, as in the analytic model).

Energy uses the analytic per-action energies (:func:`hwsim.engine.gpu.energy.gpu_energy`) on the
realised action counts plus active power x time; a kernel whose power would exceed the TDP is
throttled to the clock at which it fits (as the analytic path does); static energy is idle power
x time. Rows, totals and energy components
have the analytic path's keys.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from hwsim.config.chip import GpuChip
from hwsim.config.sparsity import DenseSpec
from hwsim.engine.gpu.analytic import op_kernels
from hwsim.engine.gpu.cta import KernelRun, run_kernel, timeline
from hwsim.engine.gpu.cycle_kernels import (
    CycleKernel,
    attention_ctas,
    cycle_kernel,
    gather_gemm,
    gemm_ctas,
    realised,
    vector_ctas,
)
from hwsim.engine.gpu.energy import GpuEnergy, gpu_energy, split_actions, throttle
from hwsim.engine.gpu.gemm_constants import GemmConstants, gemm_constants
from hwsim.engine.gpu.kernels import attention_cost, gemm_cost
from hwsim.engine.gpu.realise import (
    MoeRoutes,
    Unions,
    gather_unions,
    moe_routes,
    moe_works,
)
from hwsim.engine.gpu.rows import OpTally, gpu_total
from hwsim.engine.result import OpResult
from hwsim.engine.timeline import CycleRun
from hwsim.hardware.memo import per_object
from hwsim.mapping.primitives import GemmWork, MoveWork, VectorWork, lower
from hwsim.workload.model import Model
from hwsim.workload.ops import AttentionOp, MoeOp, OpBase

# Kernels of ops with nothing to realise are the same for every seed: cached per chip object,
# so the inputs of a --samples run (and repeated simulate calls) rebuild only the random ones.
MAX_CACHED_OPS = 50_000


@per_object
def _fixed_kernels(chip: GpuChip) -> dict[tuple[OpBase, int, GemmConstants], list[CycleKernel]]:
    return {}


def simulate_gpu_cycle(model: Model, chip: GpuChip, batch: int, *, seed: int = 0,
                       z: float = 0.0, record: bool = False) -> CycleRun:
    """One inference of ``batch`` inputs at cycle fidelity (see the module docstring).

    ``seed`` seeds every mask and route; ``z`` shifts every sparse op's density by z standard
    deviations of its variability. ``record`` keeps per-op timelines (slices per kernel,
    launch gap and CTA batch on SM lanes; cycles of ``chip.clock_hz``)."""
    energy = gpu_energy(chip)
    rows: list[OpResult] = []
    timelines: dict[int, Any] = {}
    fixed = _fixed_kernels(chip)
    if len(fixed) > MAX_CACHED_OPS:
        fixed.clear()
    for i, op in enumerate(model.ops):
        random = isinstance(op, MoeOp) or (chip.sparse_features.gather and not isinstance(
            op.sparsity, DenseSpec))
        # Keyed by the GEMM constants in force too: a re-fit installs candidates.
        key = (op, batch, gemm_constants())
        kernels = fixed.get(key) if not random else None
        if kernels is None:
            kernels = op_cycle_kernels(op, i, batch, chip, seed, z)
            if not random:
                fixed[key] = kernels
        row, tl = _op_row(op, kernels, batch, chip, energy, record)
        rows.append(row)
        timelines[i] = tl
    return CycleRun(rows, gpu_total(rows, chip), timelines)


def op_cycle_kernels(op: OpBase, index: int, batch: int, chip: GpuChip, seed: int,
                     z: float) -> list[CycleKernel]:
    """The kernels ``op`` launches for ``batch`` inputs (the analytic model's, see
    :func:`hwsim.engine.gpu.op_kernels`), with realised sparsity, as CTAs."""
    dtype = op.dtype

    def unions(j: int, w: GemmWork, per_block: bool) -> Unions | None:
        if w.sparsity is None or not chip.sparse_features.gather:
            return None  # dense kernels on sparse data: nothing to realise
        s = int(np.random.SeedSequence([seed, index, j]).generate_state(1)[0])
        return gather_unions(w, s, z, per_block)

    if isinstance(op, MoeOp):
        s = int(np.random.SeedSequence([seed, index, 0x30E]).generate_state(1)[0])
        return moe_kernels(op, batch, chip, moe_routes(op, batch, s))
    works = lower(op, batch)
    costs = op_kernels(op, batch, chip)
    if len(works) == 3 and len(costs) == 1 and "q_blocks" in costs[0].mapping:
        qk, sm, pv = works  # one fused FlashAttention kernel
        assert isinstance(qk, GemmWork) and isinstance(sm, VectorWork)
        assert isinstance(pv, GemmWork) and isinstance(op, AttentionOp)
        cost, weights, realised_stats = costs[0], None, {}
        un = unions(0, qk, True)
        if un is not None and "union_density" in cost.mapping:
            dense = attention_cost(dataclasses.replace(qk, sparsity=None), sm,
                                   dataclasses.replace(pv, sparsity=None), chip, dtype,
                                   sm.ops_per_element, op.shape)
            cost = realised(cost, dense, un.mean)
            weights = un.unions / un.mean if un.mean > 0 else None
            realised_stats = {"density": un.density, "union_density": un.mean}
        return [cycle_kernel(op.name, cost, attention_ctas(qk, cost), chip, weights,
                             cost.mapping | realised_stats)]
    if len(works) == 1 and isinstance(works[0], VectorWork) and len(costs) > 1:
        # One vector op run as several kernels (dynamic quantisation: abs-max, then quantise),
        # each a grid of its own CTAs (one per token).
        return [cycle_kernel(f"{op.name}[{j}]", c, int(c.mapping["ctas"]),  # type: ignore[call-overload]
                             chip, stats=c.mapping) for j, c in enumerate(costs)]
    if len(works) != len(costs):
        raise ValueError(f"op {op.name}: {len(works)} works but {len(costs)} analytic kernels")
    out = []
    for j, (w, cost) in enumerate(zip(works, costs, strict=True)):
        name = op.name if len(works) == 1 else f"{op.name}[{j}]"
        if isinstance(w, GemmWork):
            cost, extra = gather_gemm(w, chip, dtype, cost, unions(j, w, not w.b_is_weight))
            out.append(cycle_kernel(name, cost, gemm_ctas(w, cost), chip,
                                    stats=cost.mapping | extra))
        elif isinstance(w, VectorWork):
            out.append(cycle_kernel(name, cost, vector_ctas(w, op.dtype_bytes), chip,
                                    stats=cost.mapping))
        elif isinstance(w, MoveWork):  # an embedding gather: read the rows, write them out
            out.append(cycle_kernel(name, cost, vector_ctas(VectorWork(
                0, 1.0, w.bytes, w.bytes), op.dtype_bytes), chip, stats=cost.mapping))
    return out


def moe_kernels(op: MoeOp, batch: int, chip: GpuChip, routes: MoeRoutes) -> list[CycleKernel]:
    """The MoE op's grouped GEMMs for ``routes``: every used expert padded to the largest load
    (capped at the capacity), so imbalance shows as wasted tile rows and longer GEMMs."""
    kept = float(routes.loads.sum() - routes.dropped)
    stats: dict[str, object] = {
        "expert_tokens": [int(x) for x in routes.loads], "padded_tokens": routes.padded_tokens,
        "experts_used": routes.experts_used, "dropped_tokens": routes.dropped,
        "wasted_rows": 1.0 - kept / (routes.padded_tokens * routes.experts_used)}
    out = []
    for j, w in enumerate(moe_works(op, batch, routes, op.dtype_bytes)):
        cost = gemm_cost(w, chip, op.dtype)
        out.append(cycle_kernel(f"{op.name}[{j}]", cost, gemm_ctas(w, cost), chip,
                                stats=stats | cost.mapping))
    return out


def _op_row(op: OpBase, kernels: list[CycleKernel], batch: int, chip: GpuChip,
            energy: GpuEnergy, record: bool) -> tuple[OpResult, Any]:
    tally = OpTally(mapping={"kernels": 0, "waves": 0})
    runs: list[tuple[KernelRun, float, int]] = []
    for k in kernels:
        run = run_kernel(k.groups, k.ports, k.launch_s, k.name, record)
        parts = energy.breakdown(chip, k.cost, op.dtype)
        # The simulated time does not split into clocked and DRAM parts: a DRAM-bound kernel's
        # time is the memory's, under which its SM time may slow (a lower clock, at a lower
        # voltage) before it shows; any other kernel's time follows the core clock.
        busy_s = run.time_s * k.repeats
        dram_bound = run.bottleneck == "offchip"
        th = throttle(energy, split_actions(parts), chip.clock_hz, fixed_s=0.0,
                      clocked_s=min(run.compute_s * k.repeats, busy_s) if dram_bound else busy_s,
                      unclocked_s=busy_s if dram_bound else 0.0, bottleneck=run.bottleneck)
        parts = th.scaled(parts)
        t, bottleneck = th.time_s, th.bottleneck
        runs.append((run, t / k.repeats, k.repeats))
        tally.add(k.cost, parts, time_s=t, compute_s=run.compute_s * k.repeats,
                  bottleneck=bottleneck, wave_efficiency=run.ctas / (run.waves * chip.sms),
                  kernels=k.repeats)
        tally.mapping["waves"] += run.waves * k.repeats
        for key, value in (*k.stats.items(), ("ctas", run.ctas), ("occupancy", run.occupancy),
                           ("tail_fraction", run.tail_fraction)):
            tally.mapping.setdefault(key, value)
    return tally.row(op, batch, chip, energy), timeline(runs, chip.clock_hz, record)
