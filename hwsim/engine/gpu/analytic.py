"""The analytic GPU engine: every op lowered to kernels, costed, and assembled into results.

Kernels run one after another on the whole GPU (one stream, as in batch-1 inference), so an op's
latency is the sum of its kernels' times. Sparsity helps only through kernels the chip has
(``sparse_features``): a dense kernel multiplies and moves the zeros; a gather-GEMM
(``sparse_features.gather``, Deja Vu / TEAL style) reads only the weight rows some token of the
GEMM needs; 2:4 weights (``sparse_features.nm == [2, 4]``) run on the sparse tensor cores. See
:mod:`hwsim.engine.gpu.kernels` for the kernel model and :mod:`hwsim.engine.gpu.energy` for the
energy calibration.
"""

from __future__ import annotations

from hwsim.config.chip import GpuChip
from hwsim.config.sparsity import DenseSpec
from hwsim.engine.gpu.dynamic_quant import dynamic_quant_cost
from hwsim.engine.gpu.energy import (
    GpuEnergy,
    Throttled,
    gpu_energy,
    split_actions,
    throttle,
)
from hwsim.engine.gpu.flash import flash_attention
from hwsim.engine.gpu.kernel_constants import FLASH, flash_kernel_s
from hwsim.engine.gpu.kernels import (
    KernelCost,
    attention_cost,
    gemm_cost,
    softmax_cost,
    vector_cost,
)
from hwsim.engine.gpu.norm import norm_cost
from hwsim.engine.gpu.rows import OpTally, gpu_total
from hwsim.engine.result import OpResult, Total
from hwsim.mapping.primitives import GemmWork, MoveWork, VectorWork, lower
from hwsim.workload.model import Model
from hwsim.workload.ops import AttentionOp, OpBase, VectorOp


def op_kernels(op: OpBase, batch: int, chip: GpuChip) -> list[KernelCost]:
    """The kernels one op launches for ``batch`` inputs, each costed."""
    works = lower(op, batch)
    dtype = op.dtype
    if isinstance(op, AttentionOp) and len(works) == 3:
        qk, sm, pv = works
        if isinstance(op.sparsity, DenseSpec | None):
            # Dense attention: the FlashAttention-2/3 kernel model (CTAs, causal tiles, GQA,
            # split-KV decode). Sparse or gated attention keeps the GEMM-based kernel below.
            return [flash_attention(op.shape, batch, chip, dtype, op.dtype_bytes, FLASH,
                                    flash_kernel_s(chip, FLASH))]
        if isinstance(qk, GemmWork) and isinstance(sm, VectorWork) and isinstance(pv, GemmWork):
            return [attention_cost(qk, sm, pv, chip, dtype, sm.ops_per_element, op.shape)]
    out: list[KernelCost] = []
    for w in works:
        if isinstance(w, GemmWork):
            out.append(gemm_cost(w, chip, dtype))
        elif isinstance(w, VectorWork):
            fn = op.function if isinstance(op, VectorOp) else ""
            if fn == "norm":
                out.append(norm_cost(w, chip, op.row_elements))  # type: ignore[attr-defined]
            elif fn == "dynamic_quant":
                out += dynamic_quant_cost(w, chip, op.row_elements)  # type: ignore[attr-defined]
            elif fn == "softmax":
                out.append(softmax_cost(w, chip, op.row_elements,  # type: ignore[attr-defined]
                                        op.dtype_bytes))
            else:
                out.append(vector_cost(w, chip))
        elif isinstance(w, MoveWork):
            # An embedding gather: read the looked-up rows, write them out.
            out.append(vector_cost(VectorWork(0, 1.0, w.bytes, w.bytes), chip))
    return out


def simulate_gpu(model: Model, chip: GpuChip, batch: int,
                 energy: GpuEnergy | None = None) -> tuple[list[OpResult], Total]:
    """Cost every op of ``model`` for ``batch`` inputs on ``chip`` (analytic fidelity).

    Returns per-op rows and totals. Energy components: tensor (tensor-core math), cuda
    (CUDA-core math), smem, l2, offchip (DRAM/HBM/GDDR bytes), active (busy power beyond idle
    x time) and static (idle power x time). A kernel whose power would exceed the TDP runs at
    the lower clock at which it fits (:func:`~hwsim.engine.gpu.energy.throttle`), and its
    bottleneck becomes ``power``. ``energy`` replaces the stored calibration (the re-fit in
    :mod:`hwsim.calibration.gpu` varies it)."""
    energy = energy or gpu_energy(chip)
    rows: list[OpResult] = []
    # A transformer repeats its layers: ops that differ only in name launch the same kernels, so
    # each distinct op is costed once (the analytic model draws nothing at random).
    costed: dict[OpBase, list[KernelCost]] = {}
    for op in model.ops:
        tally = OpTally()
        op_key = _unnamed(op)
        kernels = costed.get(op_key) if op_key is not None else None
        if kernels is None:
            kernels = op_kernels(op, batch, chip)
            if op_key is not None:
                costed[op_key] = kernels
        for k in kernels:
            parts = energy.breakdown(chip, k, op.dtype)
            run = _throttled(k, chip, energy, split_actions(parts))
            parts = run.scaled(parts)
            tally.add(k, parts, time_s=run.time_s, compute_s=k.compute_s,
                      bottleneck=run.bottleneck, wave_efficiency=k.wave_efficiency,
                      kernels=k.kernels)
            for key, value in k.mapping.items():
                tally.mapping.setdefault(key, value)
        rows.append(tally.row(op, batch, chip, energy))
    return rows, gpu_total(rows, chip)


def _throttled(k: KernelCost, chip: GpuChip, energy: GpuEnergy,
               action_j: tuple[float, float]) -> Throttled:
    """One kernel after the power limit: its clocked work stretches, its DRAM time does not."""
    return throttle(energy, action_j, chip.clock_hz, fixed_s=k.launch_s,
                    clocked_s=max(k.compute_s, k.l2_s), unclocked_s=k.dram_s,
                    bottleneck=k.bottleneck,
                    serial_unclocked_s=k.store_s if k.compute_s >= k.l2_s else 0.0)


def kernel_seconds(k: KernelCost, chip: GpuChip, dtype: str) -> float:
    """Seconds of one costed kernel on ``chip`` after the power limit, as :func:`gpu_op_rows`
    times it (for fits that cost kernels directly)."""
    energy = gpu_energy(chip)
    return _throttled(k, chip, energy, split_actions(energy.breakdown(chip, k, dtype))).time_s


def _unnamed(op: OpBase) -> OpBase | None:
    """``op`` without its name, as a dict key; None when a field is not hashable."""
    unnamed = op.model_copy(update={"name": ""})
    try:
        hash(unnamed)
    except TypeError:
        return None
    return unnamed
