"""hwsim ops as Ethos-U operations for the structural model (:mod:`hwsim.engine.mcu.ethosu_perf`).

Which ops it describes: convolutions and depthwise convolutions (:class:`Conv2dOp`), fully
connected layers (a :class:`MatmulOp` with a weight B), pooling, softmax and elementwise
:class:`VectorOp` s. Everything else (attention, recurrent cells, MoE, copies) keeps the fitted
per-kind regression of :func:`hwsim.engine.mcu.npu.npu_cost`. Where the hwsim op does not carry
a shape the NPU needs, the assumption is stated where it is made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from hwsim.config.chip import NpuSpec
from hwsim.engine.mcu.ethosu_arch import (
    AXI1_BURST_BYTES,
    AXI1_LATENCY,
    SRAM_BURST_BYTES,
    SRAM_LATENCY,
    MemArea,
    arch_for,
)
from hwsim.engine.mcu.ethosu_perf import (
    BIAS_BYTES_PER_CHANNEL,
    ELEMENTWISE_KINDS,
    LayerCycles,
    Memories,
    NpuLayer,
    layer_cycles,
)
from hwsim.engine.mcu.library import CALIBRATION
from hwsim.engine.mcu.npu import NpuCost
from hwsim.mapping.primitives import GemmWork, VectorWork, Work
from hwsim.workload.ops import Conv2dOp, MatmulOp, OpBase, VectorOp

REFERENCE_OUTPUT_RATE = 0.25  # output-stage cycles per element of the 256-MAC configurations
ELEMENTWISE_DEPTH = 16  # assumed channels of an elementwise VectorOp (it carries no shape)


@dataclass(frozen=True)
class StructuralConstants:
    softmax_cycles_per_element: float
    softmax_cycles_per_row: float
    softmax_fixed_cycles: float
    pool_cycle_factor: float
    block_overhead_cycles: float
    op_overhead_cycles: float
    weight_dense_ratio: float  # encoded / raw bytes of non-zero weights
    weight_zero_ratio: float  # encoded / raw bytes of zero weights


STRUCTURAL = StructuralConstants(
    **CALIBRATION.npu_structural.model_dump(exclude={"source", "fitted_on"}))


def memories(npu: NpuSpec, ifm_on_axi1: bool = False, ofm_on_axi1: bool = False) -> Memories:
    """The SRAM port and AXI1 memory of ``npu`` (bandwidth from the AXI width and clock
    scales, latency and burst from Vela's vela.ini) and what each holds (memory mode)."""
    axi = float(npu.axi_bytes_per_cycle)
    sram = MemArea(axi * npu.sram_clock_scale, *SRAM_LATENCY, SRAM_BURST_BYTES)
    axi1 = MemArea(axi * npu.weight_clock_scale, *AXI1_LATENCY[npu.weight_memory],
                   AXI1_BURST_BYTES)
    return Memories(sram, axi1, npu.memory_mode != "Sram_Only", ifm_on_axi1, ofm_on_axi1)


def encoded_weights(raw_bytes: float, out_channels: int, zero_fraction: float,
                    c: StructuralConstants = STRUCTURAL) -> float:
    """Vela's encoded weight stream: compressed weights plus scale and bias per channel."""
    dense = c.weight_dense_ratio * (1.0 - zero_fraction) + c.weight_zero_ratio * zero_fraction
    return raw_bytes * dense + BIAS_BYTES_PER_CHANNEL * out_channels


def npu_layer(op: OpBase, w: Work, zero_fraction: float = 0.0,
              c: StructuralConstants = STRUCTURAL) -> NpuLayer | None:
    """The NPU operation of one work item, or None where the structural model does not apply."""
    if isinstance(op, Conv2dOp) and isinstance(w, GemmWork):
        dw = op.groups > 1 and op.groups == op.c
        if op.groups > 1 and not dw:
            return None  # grouped convolution: Vela splits it; not modelled structurally
        raw = op.r * op.s * (op.c // op.groups) * op.k
        return NpuLayer("depthwise" if dw else "conv", (op.h, op.w, op.c),
                        (op.out_h, op.out_w, op.k), (op.r, op.s), op.stride,
                        encoded_weights(raw, op.k, zero_fraction, c))
    if isinstance(op, MatmulOp) and isinstance(w, GemmWork) and w.b_is_weight \
            and not w.b_shared:
        # Rows of a fully connected layer are output pixels of a 1x1 convolution.
        return NpuLayer("fc", (1, w.m, w.k), (1, w.m, w.n), (1, 1), 1,
                        encoded_weights(w.k * w.n, w.n, zero_fraction, c))
    if isinstance(op, VectorOp) and isinstance(w, VectorWork):
        if op.function == "pool":
            # The op keeps no spatial shape: each output pools its own window of
            # inputs_per_element inputs (exact for the global pools of the MLPerf Tiny models).
            side = max(1, round(math.sqrt(op.inputs_per_element)))
            return NpuLayer("avgpool", (side, side, w.elements), (1, 1, w.elements),
                            (side, side), side)
        if op.function in ("elementwise", "activation"):
            depth = min(ELEMENTWISE_DEPTH, w.elements)
            shape = (1, math.ceil(w.elements / depth), depth)
            return NpuLayer("add", shape, shape)
    return None


def softmax_cycles(elements: int, rows: int, macs_per_cycle_rate: float,
                   c: StructuralConstants = STRUCTURAL) -> float:
    """Vela's int8 softmax: full-tensor passes per element and per-row passes, at the MAC
    configuration's output-stage rate (``macs_per_cycle_rate``: its cycles per output element),
    plus a fixed cost."""
    scale = macs_per_cycle_rate / REFERENCE_OUTPUT_RATE
    return scale * (c.softmax_cycles_per_element * elements
                    + c.softmax_cycles_per_row * rows) + c.softmax_fixed_cycles


def structural_cycles(layer: NpuLayer, npu: NpuSpec, mem: Memories,
                      c: StructuralConstants = STRUCTURAL) -> LayerCycles:
    """:func:`layer_cycles` on the chip's MAC configuration, with the fitted constants
    (:func:`with_constants`)."""
    return with_constants(layer.kind, layer_cycles(layer, arch_for(npu.product,
                                                                   npu.macs_per_cycle), mem), c)


def with_constants(kind: str, lc: LayerCycles, c: StructuralConstants = STRUCTURAL) -> LayerCycles:
    """The fitted part on top of the structure: Vela 5.2.0's compiler core (regor, C++) costs
    pooling above the structure of its Python estimator, and ops that run on the MAC array
    (not elementwise ones) a fixed cost per output block and per op."""
    if kind in ELEMENTWISE_KINDS:
        return lc
    npu = lc.npu * (c.pool_cycle_factor if kind in ("avgpool", "maxpool") else 1.0)
    npu += c.block_overhead_cycles * lc.blocks + c.op_overhead_cycles
    return replace(lc, npu=npu)


def softmax_layer(op: OpBase, w: Work) -> tuple[int, int] | None:
    """(elements, rows) of a softmax work item, else None."""
    if isinstance(op, VectorOp) and op.function == "softmax" and isinstance(w, VectorWork):
        row = op.row_elements or w.elements
        return w.elements, max(1, math.ceil(w.elements / row))
    return None


def structural_npu_cost(op: OpBase, w: Work, npu: NpuSpec, zero_fraction: float = 0.0,
                        ifm_on_axi1: bool = False, ofm_on_axi1: bool = False,
                        c: StructuralConstants = STRUCTURAL) -> NpuCost | None:
    """The structural model's cost of one work item as the engine's :class:`NpuCost`, or None
    where it does not apply (the caller falls back to the fitted regression). A batch of
    inputs repeats the op once per input."""
    mem = memories(npu, ifm_on_axi1, ofm_on_axi1)
    soft = softmax_layer(op, w)
    if soft is not None:
        assert isinstance(w, VectorWork)
        rate = arch_for(npu.product, npu.macs_per_cycle).out_conv
        cycles = softmax_cycles(*soft, rate, c)
        fm = float(w.bytes_in + w.bytes_out)
        on_axi1 = (w.bytes_in if ifm_on_axi1 else 0.0) + (w.bytes_out if ofm_on_axi1 else 0.0)
        return NpuCost(cycles, on_axi1 / mem.axi1.bytes_per_cycle,
                       (fm - on_axi1) / mem.sram.bytes_per_cycle, cycles, 0.0, fm - on_axi1,
                       on_axi1)
    layer = npu_layer(op, w, zero_fraction, c)
    if layer is None:
        return None
    repeat = 1.0
    if isinstance(op, Conv2dOp) and isinstance(w, GemmWork):
        repeat = w.m / (op.out_h * op.out_w)
    elif isinstance(w, GemmWork):
        repeat = float(w.count)
    lc = structural_cycles(layer, npu, mem, c)
    return NpuCost(lc.npu * repeat, lc.axi1 * repeat, lc.sram * repeat, lc.total * repeat,
                   lc.weight_bytes * repeat, lc.sram_bytes * repeat, lc.axi1_bytes * repeat)
