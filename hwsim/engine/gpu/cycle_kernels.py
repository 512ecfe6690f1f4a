"""The GPU cycle fidelity's kernels: each analytic kernel cut into its grid of CTAs.

The analytic model (:mod:`hwsim.engine.gpu.kernels`) picks each kernel's tiles (a cuBLAS
heuristic stand-in), times one wave of them on the SMs (math at the tensor-core rate, operands
through the SM's L2 port) and totals the traffic per memory level. Here the kernel becomes its
CTAs - GEMM tiles x split-K slices x independent GEMMs, FlashAttention (head, query block)
pairs, ``ELEMENTS_PER_CTA`` elements of an elementwise kernel - each with the per-wave SM time
of the analytic model and an equal share of the kernel's L2 and DRAM bytes, which it moves at
its share of the kernel's sustained L2 and DRAM bandwidth (``bytes / seconds`` of the analytic
totals, so calibrated efficiencies carry over). :func:`hwsim.engine.gpu.cta.run_kernel` then
schedules them.

A realised union (gather-GEMM, routed attention) replaces the analytic expectation. A kernel's
FLOPs, bytes and times are linear in its union while the tile stays the same, so the realised
kernel lies on the line through the analytic sparse point (the expected union) and the dense
point (union 1). Dense kernels keep the analytic totals exactly.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.cta import CtaGroup, GpuPorts
from hwsim.engine.gpu.gemm_tiles import whole_clusters
from hwsim.engine.gpu.kernels import KernelCost, dram_bw, gemm_cost, l2_bw
from hwsim.engine.gpu.realise import Unions
from hwsim.mapping.primitives import GemmWork, VectorWork

# PyTorch's elementwise kernels give each CTA 128 threads x 4 elements (aten/src/ATen/native/
# cuda/thread_constants.h: num_threads = 4 warps, thread_work_size = 4).
ELEMENTS_PER_CTA = 512
LINEAR_FIELDS = ("compute_s", "l2_s", "dram_s", "tensor_flops", "cuda_flops", "smem_bytes",
                 "l2_bytes", "dram_bytes")


@dataclass(frozen=True)
class CycleKernel:
    """One kernel (``repeats`` identical launches in a row) as CTA groups on ``ports``, with
    its totals for energy (a :class:`KernelCost`: the analytic per-action counts, realised)."""

    name: str
    cost: KernelCost
    groups: tuple[CtaGroup, ...]
    ports: GpuPorts
    launch_s: float
    repeats: int = 1
    stats: dict[str, object] = field(default_factory=dict)


def realised(sparse: KernelCost, dense: KernelCost, u: float) -> KernelCost:
    """``sparse`` (costed at its expected union) moved to the realised union ``u`` along the
    line to ``dense`` (union 1)."""
    u_e = float(sparse.mapping.get("union_density", 1.0))
    if u_e >= 1.0:
        return sparse
    t = (1.0 - u) / (1.0 - u_e)
    return dataclasses.replace(sparse, **{
        f: getattr(dense, f) + (getattr(sparse, f) - getattr(dense, f)) * t
        for f in LINEAR_FIELDS})


def gemm_ctas(w: GemmWork, cost: KernelCost) -> int:
    """CTAs of one launch: row bands x column tiles x split-K slices x independent GEMMs (a
    stream-K kernel's persistent grid instead of its tiles)."""
    tile = cost.mapping.get("tile")
    if not isinstance(tile, list | tuple):
        return 1
    per_kernel = 1 if w.b_shared else math.ceil(w.count)
    if "persistent_ctas" in cost.mapping:  # stream-K: one CTA per SM shares out all tiles
        return int(cost.mapping["persistent_ctas"]) * per_kernel  # type: ignore[call-overload]
    split = int(cost.mapping.get("split_k", 1))  # type: ignore[call-overload]
    # A clustered kernel launches whole clusters (tensor_gemm: padded tiles compute on zeros).
    cr, cc = cost.mapping.get("cluster", (1, 1))  # type: ignore[misc]
    rows = whole_clusters(math.ceil(w.m / tile[0]), cr)
    cols = whole_clusters(math.ceil(w.n / tile[1]), cc)
    return rows * cols * split * per_kernel


def vector_ctas(w: VectorWork, dtype_bytes: int) -> int:
    """CTAs of an elementwise/reduction kernel (an embedding gather counts its output)."""
    elements = max(w.elements, w.bytes_out // max(1, dtype_bytes), 1)
    return math.ceil(elements / ELEMENTS_PER_CTA)


def attention_ctas(qk: GemmWork, cost: KernelCost) -> int:
    """One FlashAttention CTA per (head, block of queries)."""
    return int(cost.mapping.get("q_blocks", 1)) * math.ceil(qk.count)  # type: ignore[call-overload]


def cycle_kernel(name: str, cost: KernelCost, ctas: int, chip: GpuChip,
                 weights: np.ndarray | None = None,
                 stats: dict[str, object] | None = None) -> CycleKernel:
    """``cost`` as ``ctas`` CTAs per launch. ``weights`` (mean 1) scale each CTA's time and
    bytes (a routed attention's query blocks, each with its own key union); CTAs with equal
    weights form one group, in order of first appearance."""
    repeats = max(1, cost.kernels)
    ctas = max(1, ctas)
    waves = math.ceil(ctas / chip.sms)
    sm_s = cost.compute_s / (repeats * waves)
    l2_b = cost.l2_bytes / (repeats * ctas)
    dram_b = cost.dram_bytes / (repeats * ctas)
    ports = GpuPorts(chip.sms,
                     cost.l2_bytes / cost.l2_s if cost.l2_s > 0 else l2_bw(chip),
                     cost.dram_bytes / cost.dram_s if cost.dram_s > 0 else dram_bw(chip))
    if weights is None:
        groups: tuple[CtaGroup, ...] = (CtaGroup(ctas, sm_s, l2_b, dram_b, cost.unit),)
    else:
        per_cta = np.resize(weights, ctas)
        values, first, counts = np.unique(per_cta, return_index=True, return_counts=True)
        groups = tuple(CtaGroup(int(counts[i]), sm_s * float(values[i]),
                                l2_b * float(values[i]), dram_b * float(values[i]), cost.unit)
                       for i in np.argsort(first))
    return CycleKernel(name, cost, groups, ports, cost.launch_s / repeats, repeats,
                       dict(stats or {}))


def gather_gemm(w: GemmWork, chip: GpuChip, dtype: str, sparse: KernelCost,
                unions: Unions | None) -> tuple[KernelCost, dict[str, object]]:
    """A GEMM's cost at its realised union (unchanged when nothing was realised or the chip
    runs it dense)."""
    if unions is None or "union_density" not in sparse.mapping:
        return sparse, {}
    cost = realised(sparse, gemm_cost(w, chip, dtype, gather=False), unions.mean)
    return cost, {"density": unions.density, "union_density": unions.mean}
