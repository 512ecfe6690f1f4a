"""Cycles of one lowered work item on a Cortex-M / Xtensa core running CMSIS-NN-style kernels.

Conv runs as im2col + packed SIMD MACs, depthwise and FC have their own kernels; every output
pays a requantise/store cost; FC weights stream from flash with its wait states (conv filters are
re-used across output pixels and stay in cache/prefetch buffers, which the fit absorbs). Where
the data lives changes the stalls: FC weights copied into tightly coupled memory (``tcm_bytes``,
zero wait states; filled in model order while the weights fit beside the activation arena) never
stall, and weights an op re-reads (several rows, recurrent steps) stall once when they fit the
data cache (``cache_bytes``); otherwise every read of a weight row waits on flash. A core
has no sparse datapath, so activation sparsity helps only where software checks each element:
FC and recurrent kernels skip the MACs (and weight-row reads) of zero inputs at the cost of a
check per element.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hwsim.config.chip import McuChip
from hwsim.engine.accelerator.sparse_effects import activation_density
from hwsim.engine.mcu.library import (
    CORE_KERNELS,
    M4_INT8_MACS_PER_CYCLE,
    ZERO_CHECK_CYCLES,
    CoreKernels,
)
from hwsim.mapping.primitives import GemmWork, MoveWork, VectorWork, Work

# Op kinds whose kernels can check activations for zeros (a row of weights per input element).
ZERO_SKIP_KINDS = ("fc",)


@dataclass(frozen=True)
class CoreCost:
    compute_cycles: float
    stall_cycles: float  # flash wait states on streamed weights
    flash_bytes: float
    sram_bytes: float
    macs_executed: float  # MACs after zero-skip
    density: float  # activation density the kernel saw (1.0 dense)
    fixed_cycles: float = 0.0  # part of compute_cycles that does not scale with macs_executed


def core_rate(chip: McuChip, dtype: str) -> float:
    """The core's MACs per cycle for ``dtype`` relative to the Cortex-M4 the kernels were
    calibrated on (more SIMD lanes divide the per-MAC cost)."""
    rates = chip.macs_per_cycle or {}
    rate = rates.get(dtype, rates.get("int8", M4_INT8_MACS_PER_CYCLE))  # type: ignore[call-overload]
    return rate / M4_INT8_MACS_PER_CYCLE


def flash_cycles_per_byte(chip: McuChip) -> float:
    """Stall cycles per weight byte streamed from flash: one access of (wait states + 1)
    cycles returns ``flash_line_bytes``."""
    return ((chip.flash_wait_states or 0) + 1) / (chip.flash_line_bytes or 16)


def streams_weights(kind: str, w: Work) -> bool:
    """Whether a work item streams its weights from flash on a core (FC kernels)."""
    return kind == "fc" and isinstance(w, GemmWork) and w.b_is_weight


def tcm_weight_ops(ops: Iterable[tuple[str, int]], chip: McuChip,
                   arena_bytes: int) -> frozenset[str]:
    """Names of the ops whose FC weights are copied into TCM: ``ops`` gives (name, int8 weight
    bytes) of every op with streamed weights, in model order; each goes in while it fits the
    TCM left beside the arena (the arena keeps its place in SRAM first)."""
    budget = min(chip.tcm_bytes or 0, max(0, chip.sram_bytes - arena_bytes))
    placed: set[str] = set()
    for name, nbytes in ops:
        if 0 < nbytes <= budget:
            placed.add(name)
            budget -= nbytes
    return frozenset(placed)


def gemm_core_cost(w: GemmWork, kind: str, chip: McuChip, dtype: str,
                   lib: CoreKernels | None = None, density: float | None = None,
                   weights_in_tcm: bool = False) -> CoreCost:
    """``kind`` is conv | depthwise | fc (the kernel that runs the GEMM). ``lib`` replaces the
    chip's kernel-library constants (re-fits use it); ``density`` replaces the spec's mean
    density of A's K entries with a realised one (the cycle fidelity's masks);
    ``weights_in_tcm`` when the op's weights were copied to TCM (:func:`tcm_weight_ops`)."""
    lib = lib or CORE_KERNELS[library_of(chip)]
    scale = (chip.core_cycle_scale or 1.0) / core_rate(chip, dtype)
    macs = float(w.m) * w.n * w.k * w.count
    outputs = float(w.m) * w.n * w.count
    per_mac = {"conv": lib.conv_cycles_per_mac, "depthwise": lib.depthwise_cycles_per_mac,
               "fc": lib.fc_cycles_per_mac}[kind]
    if density is None:
        density = activation_density(w.sparsity) if w.sparsity is not None else 1.0
    skip = kind in ZERO_SKIP_KINDS and density < 1.0 and w.sparse_dim == "k"
    executed = macs * density if skip else macs
    checks = float(w.m) * w.k * w.count if skip else 0.0
    fixed = (outputs * lib.per_output_cycles + checks * ZERO_CHECK_CYCLES) * (
        chip.core_cycle_scale or 1.0)
    compute = executed * per_mac * scale + fixed
    # FC weights are read once per input row: they stream from flash, skipped inputs skip
    # their weight rows too. Rows re-read within the op hit the cache when all of the op's
    # weights fit it; weights in TCM never touch flash.
    flash_bytes = 0.0
    if streams_weights(kind, w) and not weights_in_tcm:
        flash_bytes = executed * w.dtype_bytes
        unique = float(w.k) * w.n * w.dtype_bytes * (1.0 if w.b_shared else w.count)
        if unique <= (chip.cache_bytes or 0):
            flash_bytes = min(flash_bytes, unique)
    stall = flash_bytes * flash_cycles_per_byte(chip)
    # Activations read and written; a B that is an activation too (attention's K and V, read
    # once per K/V head) is read from SRAM as well.
    b_act = 0.0 if w.b_is_weight else float(w.k) * w.n
    act_bytes = ((float(w.m) * w.k + b_act) * w.count + outputs) * w.dtype_bytes
    return CoreCost(compute, stall, flash_bytes, act_bytes, executed,
                    density if skip else 1.0, fixed)


def vector_core_cost(w: VectorWork | MoveWork, chip: McuChip,
                     lib: CoreKernels | None = None) -> CoreCost:
    lib = lib or CORE_KERNELS[library_of(chip)]
    s = chip.core_cycle_scale or 1.0
    if isinstance(w, MoveWork):
        # A gather is a copy: one vector op per byte moved.
        return CoreCost(w.bytes * lib.vector_cycles_per_op * s, 0.0, 0.0,
                        2.0 * w.bytes, 0.0, 1.0)
    ops = float(w.elements) * w.ops_per_element
    return CoreCost(ops * lib.vector_cycles_per_op * s, 0.0, 0.0,
                    float(w.bytes_in + w.bytes_out), 0.0, 1.0)


def core_cost(w: Work, kind: str, chip: McuChip, dtype: str, lib: CoreKernels | None = None,
              density: float | None = None, weights_in_tcm: bool = False) -> CoreCost:
    if isinstance(w, GemmWork):
        return gemm_core_cost(w, kind, chip, dtype, lib, density, weights_in_tcm)
    return vector_core_cost(w, chip, lib)


def library_of(chip: McuChip) -> str:
    """The chip's kernel library (a chip without a core has none)."""
    if chip.kernel_library is None:
        raise ValueError(f"{chip.name} has no host core to run kernels on (npu_only)")
    return chip.kernel_library
