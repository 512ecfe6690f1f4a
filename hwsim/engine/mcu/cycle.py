"""The cycle fidelity on a microcontroller: realised masks for zero-skip, a SimPy event model.

Every op is costed with the analytic model's action counts (:func:`hwsim.engine.mcu.cost_op`),
except that a core's software zero-skip sees *realised* activation masks (seeded; per input,
per recurrent step or token) instead of the spec's mean density, so ``samples=N`` runs give a
real latency/energy distribution for sparse FC and recurrent layers. Time comes from
:mod:`hwsim.engine.mcu.events`: NPU ops as a double-buffered block pipeline with weight and
activation DMA on the AXI ports overlapping compute, core ops as serial chunks, ops in model
order (the NPU waits while an op runs on the host core).

Where nothing is stochastic (dense models) the two fidelities differ only by what the
analytic model leaves out: the NPU's first-block loads and last-block store that nothing
overlaps, and SRAM-port time when activation traffic outlasts compute and the weight stream
(the analytic NPU model counts compute and the weight stream only). Core ops agree exactly.
"""

from __future__ import annotations

import numpy as np

from hwsim.config.chip import McuChip
from hwsim.config.sparsity import NmSpec, ReluSpec, TopKSpec
from hwsim.engine.mcu.analytic import (
    OpCost,
    WorkCost,
    cost_op,
    fm_placements,
    mcu_total,
    op_row,
    tcm_resident,
)
from hwsim.engine.mcu.core import ZERO_SKIP_KINDS
from hwsim.engine.mcu.events import (
    MAX_BLOCKS,
    Block,
    Chunk,
    even_blocks,
    npu_block_count,
    run_core_op,
    run_npu_op,
)
from hwsim.engine.mcu.fit import memory_fit
from hwsim.engine.mcu.npu import (
    FmPlacement,
    ifm_bytes,
    sram_bytes_per_cycle,
    weight_bytes_per_cycle,
    weight_zero_fractions,
    weights_on_sram,
)
from hwsim.engine.result import OpResult
from hwsim.engine.timeline import CycleRun, OpTimeline
from hwsim.hardware.tech import load_tech
from hwsim.mapping.primitives import GemmWork, VectorWork, Work, lower
from hwsim.sparsity.realise import MAX_REALISED_TOKENS
from hwsim.units import DTYPE_BYTES
from hwsim.workload.model import Model
from hwsim.workload.ops import OpBase, RecurrentOp


def simulate_mcu_cycle(model: Model, chip: McuChip, batch: int, *, seed: int = 0,
                       z: float = 0.0, record: bool = False) -> CycleRun:
    """One inference of ``batch`` inputs at cycle fidelity. ``z`` shifts every sparse op's
    density by z standard deviations of its per-input variability; ``record`` keeps every
    slice of the timelines (for Chrome traces)."""
    fit = memory_fit(model, chip, batch).to_dict()
    zeros = weight_zero_fractions(model) if chip.npu is not None else {}
    tech = load_tech(chip.tech)
    tcm = tcm_resident(model, chip, batch)
    fms = fm_placements(model, chip, batch)
    rows: list[OpResult] = []
    timelines: dict[int, OpTimeline] = {}
    for i, op in enumerate(model.ops):
        works = lower(op, batch, DTYPE_BYTES["int8"])
        token_d = [_realised_densities(op, w, seed, i, j, z) for j, w in enumerate(works)]
        densities = [None if d is None else float(d.mean()) for d in token_d]
        cost = cost_op(op, batch, chip, zeros.get(op.name, 0.0), tech, densities,
                       weights_in_tcm=op.name in tcm, fm=fms[i])
        tl = _op_timeline(op, works, cost, token_d, chip, record, fms[i])
        timelines[i] = tl
        rows.append(op_row(op, batch, chip, _timed(cost, tl, chip), fit))
    return CycleRun(rows, mcu_total(rows, chip), timelines)


def _realised_densities(op: OpBase, w: Work, seed: int, op_index: int, work_index: int,
                        z: float) -> np.ndarray | None:
    """Per-token (or per-step) density of A's K entries a core's zero-skip sees, from seeded
    masks; None where the kernel does no zero-skip or the op is dense."""
    spec = getattr(op, "sparsity", None)
    if not isinstance(w, GemmWork) or w.sparsity is None or w.sparse_dim != "k":
        return None
    if not isinstance(spec, TopKSpec | ReluSpec | NmSpec):
        return None  # traces and other kinds: the analytic mean
    from hwsim.sparsity.realise import nm_mask, spec_masks

    recurrent = isinstance(op, RecurrentOp)
    k = op.hidden if recurrent else w.k  # a cell's sparsity lives on its hidden state
    tokens = int(max(1, min(w.m * w.count, MAX_REALISED_TOKENS)))
    s = int(np.random.SeedSequence([seed, op_index, work_index]).generate_state(1)[0])
    if isinstance(spec, NmSpec):
        nnz = nm_mask(tokens, k, spec.n, spec.m, seed=s).sum(axis=1).astype(np.float64)
    else:
        mask = spec_masks(spec, tokens, k, seed=s, z=z)
        assert mask is not None  # top-k or ReLU here
        nnz = _row_counts(mask.bits)
    if recurrent:
        assert isinstance(op, RecurrentOp)
        return (op.inputs + nnz) / (op.inputs + op.hidden)  # the inputs stay dense
    return nnz / k


def _row_counts(bits: np.ndarray) -> np.ndarray:
    return np.unpackbits(bits, axis=1).sum(axis=1).astype(np.float64)


def _op_timeline(op: OpBase, works: list[Work], cost: OpCost,
                 token_d: list[np.ndarray | None], chip: McuChip, record: bool,
                 fm: FmPlacement = FmPlacement()) -> OpTimeline:
    """Run the op's work items in order (NPU runs as one block pipeline per stretch of NPU
    work, core work as serial chunks) and merge their timelines in core-clock cycles."""
    name = op.name
    merged = OpTimeline(busy={})
    t = 0.0
    npu_scale = chip.clock_hz / chip.npu.clock_hz if chip.npu is not None else 1.0
    pending: list[tuple[str, Block]] = []

    def flush_npu() -> None:
        nonlocal t
        if not pending:
            return
        assert chip.npu is not None
        tl = run_npu_op(pending, weight_bytes_per_cycle(chip.npu),
                        sram_bytes_per_cycle(chip.npu),
                        shared_port=weights_on_sram(chip.npu),
                        ifm_on_weight_port=fm.ifm_on_axi1,
                        ofm_on_weight_port=fm.ofm_on_axi1, record=record)
        t = _append(merged, tl, t, npu_scale)
        pending.clear()

    for w, wc, d in zip(works, cost.works, token_d, strict=True):
        label = f"{name}:{wc.kind}"
        if wc.unit == "npu":
            pending.extend((label, b) for b in _npu_blocks(op, w, wc, fm))
            continue
        flush_npu()
        core_start = t
        t = _append(merged, run_core_op(_core_chunks(label, wc, d), record=record), t, 1.0)
        if chip.npu is not None:
            # The NPU has nothing to do until the core's result is ready.
            merged.busy["npu_wait"] = merged.busy.get("npu_wait", 0.0) + (t - core_start)
            if record:
                merged.slices.append(("npu", f"wait for core: {label}", core_start, t))
    flush_npu()
    merged.cycles = t
    return merged


def _append(merged: OpTimeline, tl: OpTimeline, t0: float, scale: float) -> float:
    for track, busy in tl.busy.items():
        merged.busy[track] = merged.busy.get(track, 0.0) + busy * scale
    merged.slices.extend((tr, nm, t0 + a * scale, t0 + b * scale) for tr, nm, a, b in tl.slices)
    return t0 + tl.cycles * scale


def _npu_blocks(op: OpBase, w: Work, wc: WorkCost, fm: FmPlacement) -> list[Block]:
    """Blocks of one NPU work item (the analytic model's bytes: the input DMA moves the input
    feature map itself, not the im2col expansion of the GEMM view)."""
    c = wc.npu
    assert c is not None
    if isinstance(w, GemmWork):
        channels = w.n * (1 if w.b_shared else w.count)
        blocks = npu_block_count(channels, float(w.m) * w.n * w.count)
        real = ifm_bytes(op, w)
        ifm = float(w.m) * w.k * w.count * w.dtype_bytes if real is None else real
    elif isinstance(w, VectorWork):
        blocks = npu_block_count(0, w.elements)
        ifm = float(w.bytes_in)
    else:
        fm_bytes = c.sram_bytes + c.axi1_bytes - c.weight_bytes
        blocks, ifm = npu_block_count(0, fm_bytes / 2), fm_bytes / 2  # a DMA copy
    ofm = (float(w.m) * w.n * w.count * w.dtype_bytes if isinstance(w, GemmWork)
           else c.sram_bytes + c.axi1_bytes - c.weight_bytes - ifm)
    # A narrow input read from DRAM takes its bursts' time (the analytic model's factor).
    ifm_time = ifm * (fm.ifm_read_factor if fm.ifm_on_axi1 else 1.0)
    return even_blocks(blocks, c.weight_bytes, ifm_time, c.compute_cycles, ofm)


def _core_chunks(label: str, wc: WorkCost, d: np.ndarray | None) -> list[Chunk]:
    """The work's cycles in up to MAX_BLOCKS chunks in token/step order. With realised masks
    each chunk pays for its own tokens' nonzeros: the cost is affine in density, so it splits
    into a fixed part (per-element checks, outputs) shared evenly and a part per nonzero."""
    c = wc.core
    assert c is not None
    if d is None or wc.kind not in ZERO_SKIP_KINDS or c.density >= 1.0:
        n = 1
        return [Chunk(label, c.stall_cycles / n, c.compute_cycles / n)] * n
    groups = np.array_split(d, min(MAX_BLOCKS, d.size))
    mean = float(d.mean())
    # The MAC term and the weight-row stalls scale with the nonzeros executed, the checks and
    # per-output costs (fixed_cycles) do not.
    mac_cycles = c.compute_cycles - c.fixed_cycles
    out: list[Chunk] = []
    for g in groups:
        share = g.size / d.size
        frac = (float(g.mean()) / mean) if mean > 0 else 1.0
        out.append(Chunk(label, c.stall_cycles * share * frac,
                         c.fixed_cycles * share + mac_cycles * share * frac))
    return out


def _timed(cost: OpCost, tl: OpTimeline, chip: McuChip) -> OpCost:
    """The op's cost with latency, cycles and NPU time from its timeline."""
    acc = dict(cost.acc)
    latency = tl.cycles / chip.clock_hz
    acc["latency_s"] = latency
    busy_compute = tl.busy.get("npu", 0.0) + tl.busy.get("core", 0.0)
    acc["compute_cycles"] = busy_compute
    acc["stall_cycles"] = max(0.0, tl.cycles - busy_compute)
    npu_time = tl.cycles - _core_time(tl)  # NPU stretches and core chunks never overlap
    acc["npu_latency_s"] = max(0.0, npu_time) / chip.clock_hz
    if chip.npu is not None:
        acc["npu_cycles"] = max(0.0, npu_time) * chip.npu.clock_hz / chip.clock_hz
    for unit in ("npu", "core", "flash"):
        if unit in tl.busy:
            acc["busy." + unit] = tl.busy[unit]
    acc["busy.weight_memory"] = tl.busy.get("weight_dma", acc.get("busy.weight_memory", 0.0))
    return OpCost(acc, cost.kinds, cost.density, cost.works)


def _core_time(tl: OpTimeline) -> float:
    return tl.busy.get("core", 0.0) + tl.busy.get("flash", 0.0)
