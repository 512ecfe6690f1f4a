"""The analytic GPU engine: every op lowered to kernels, costed, and assembled into results.

Kernels run one after another on the whole GPU (one stream, as in batch-1 inference), so an op's
latency is the sum of its kernels' times. Sparsity helps only through kernels the chip has
(``sparse_features``): a dense kernel multiplies and moves the zeros; a gather-GEMM
(``sparse_features.gather``, Deja Vu / TEAL style) reads only the weight rows some token of the
GEMM needs; 2:4 weights (``sparse_features.nm == [2, 4]``) run on the sparse tensor cores. See
:mod:`hwsim.engine.gpu_kernels` for the kernel model and :mod:`hwsim.engine.gpu_energy` for the
energy calibration.
"""

from __future__ import annotations

from typing import Any

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu_energy import ENERGY_COMPONENTS, gpu_energy
from hwsim.engine.gpu_kernels import (
    KernelCost,
    attention_cost,
    gemm_cost,
    norm_cost,
    tensor_peak,
    vector_cost,
)
from hwsim.engine.result import OpResult, Total
from hwsim.mapping.primitives import GemmWork, MoveWork, VectorWork, lower
from hwsim.workload.model import Model
from hwsim.workload.ops import AttentionOp, OpBase, VectorOp

BYTE_LEVELS = ("smem", "l2", "offchip")
# PyTorch's softmax kernel reads its input three times: row max, sum of exponentials, normalise
# (aten/src/ATen/native/cuda/SoftMax.cu, cunn_SoftMaxForward). A fused attention's softmax never
# leaves the SM (FlashAttention), so this applies to standalone softmax ops only.
SOFTMAX_INPUT_PASSES = 3.0


def op_kernels(op: OpBase, batch: int, chip: GpuChip) -> list[KernelCost]:
    """The kernels one op launches for ``batch`` inputs, each costed."""
    works = lower(op, batch)
    dtype = op.dtype
    if isinstance(op, AttentionOp) and len(works) == 3:
        qk, sm, pv = works
        if isinstance(qk, GemmWork) and isinstance(sm, VectorWork) and isinstance(pv, GemmWork):
            return [attention_cost(qk, sm, pv, chip, dtype, sm.ops_per_element)]
    out: list[KernelCost] = []
    for w in works:
        if isinstance(w, GemmWork):
            out.append(gemm_cost(w, chip, dtype))
        elif isinstance(w, VectorWork):
            fn = op.function if isinstance(op, VectorOp) else ""
            if fn == "norm":
                out.append(norm_cost(w, chip, op.row_elements))  # type: ignore[attr-defined]
            else:
                passes = SOFTMAX_INPUT_PASSES if fn == "softmax" else 1.0
                out.append(vector_cost(w, chip, passes))
        elif isinstance(w, MoveWork):
            # An embedding gather: read the looked-up rows, write them out.
            out.append(vector_cost(VectorWork(0, 1.0, w.bytes, w.bytes), chip))
    return out


def simulate_gpu(model: Model, chip: GpuChip, batch: int) -> tuple[list[OpResult], Total]:
    """Cost every op of ``model`` for ``batch`` inputs on ``chip`` (analytic fidelity).

    Returns per-op rows and totals. Energy components: tensor (tensor-core math), cuda
    (CUDA-core math), smem, l2, offchip (DRAM/HBM/GDDR bytes) and static (idle power x time).
    A kernel whose power would exceed the TDP is stretched to run at the TDP (power
    throttling), and its bottleneck becomes ``power``."""
    energy = gpu_energy(chip)
    rows: list[OpResult] = []
    for op in model.ops:
        kernels = op_kernels(op, batch, chip)
        latency_s = compute_s = 0.0
        dyn = dict.fromkeys(ENERGY_COMPONENTS, 0.0)
        byts = dict.fromkeys(BYTE_LEVELS, 0.0)
        wave_num = flops = 0.0
        longest: tuple[float, str] = (-1.0, "launch")
        mapping: dict[str, Any] = {"kernels": 0}
        for k in kernels:
            parts = energy.breakdown(chip, k, op.dtype)
            t = k.time_s
            bottleneck = k.bottleneck
            dyn_j = sum(parts.values())
            if dyn_j + energy.idle_w * t > energy.tdp_w * t:
                t = dyn_j / (energy.tdp_w - energy.idle_w)
                bottleneck = "power"
            latency_s += t
            compute_s += k.compute_s
            for c, e in parts.items():
                dyn[c] += e
            byts["smem"] += k.smem_bytes
            byts["l2"] += k.l2_bytes
            byts["offchip"] += k.dram_bytes
            wave_num += k.wave_efficiency * k.tensor_flops
            flops += k.tensor_flops
            longest = max(longest, (t, bottleneck))
            mapping["kernels"] += k.kernels
            for key, value in k.mapping.items():
                mapping.setdefault(key, value)
        dyn["static"] = energy.idle_w * latency_s
        macs = int(op.macs * batch)
        peak_macs = tensor_peak(chip, op.dtype) / 2.0
        cycles = latency_s * chip.clock_hz
        compute_cycles = min(compute_s * chip.clock_hz, cycles)
        rows.append(OpResult(
            name=op.name, kind=op.kind, macs=macs,  # type: ignore[attr-defined]
            compute_cycles=compute_cycles, stall_cycles=cycles - compute_cycles, cycles=cycles,
            latency_s=latency_s, energy_j=sum(dyn.values()), energy_breakdown_j=dyn,
            utilization=macs / (latency_s * peak_macs) if latency_s else 0.0,
            mapping_efficiency=(wave_num / flops) if flops else None,  # type: ignore[arg-type]
            bytes=byts, bottleneck=longest[1], mapping=mapping))
    return rows, _total(rows, chip)


def _total(rows: list[OpResult], chip: GpuChip) -> Total:
    latency_s = sum(r.latency_s for r in rows)
    macs = sum(r.macs for r in rows)
    breakdown = {c: sum(r.energy_breakdown_j[c] for r in rows) for c in ENERGY_COMPONENTS}
    peak_macs = max(chip.tensor_flops_per_s.values()) / 2.0
    area = {"die": chip.die_area_mm2} if chip.die_area_mm2 else {}
    return Total(
        cycles=sum(r.cycles for r in rows), compute_cycles=sum(r.compute_cycles for r in rows),
        stall_cycles=sum(r.stall_cycles for r in rows), latency_s=latency_s,
        energy_j=sum(breakdown.values()), energy_breakdown_j=breakdown, macs=macs,
        utilization=macs / (latency_s * peak_macs) if latency_s else 0.0,
        area_mm2=sum(area.values()), area_breakdown_mm2=area,
        bytes={lvl: sum(r.bytes[lvl] for r in rows) for lvl in BYTE_LEVELS},
        static_power_w=chip.idle_power_w)
