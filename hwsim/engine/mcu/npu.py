"""Ethos-U-class NPU: cycles, weight traffic and energy of one lowered work item.

The NPU computes in blocks of output elements; how full those blocks are (and so the fraction of
peak MACs reached) depends on the op kind and shrinks as the MAC array widens. Compressed weights
stream over the weight memory's AXI port while the previous block computes (double-buffered DMA),
so an op lasts as long as the busiest of MAC array, AXI1 port and SRAM port. Which port a
transfer uses follows Vela's memory mode (:mod:`hwsim.config.ethosu`): weights on the SRAM port
in Sram_Only, on the AXI1 memory (flash or DRAM) otherwise; feature maps in SRAM, except in
Dedicated_Sram, where they live in the AXI1 DRAM and the SRAM caches an op's feature maps when
they fit. A U65-512 is two 256-MAC cores: each fills its blocks like a 256-MAC array. The NPU has
no activation zero-skipping: sparse activations cost as much as dense. Sparse (zero) *weights*
compress, which cuts weight traffic only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hwsim.config.chip import NpuSpec
from hwsim.engine.mcu.library import NPU_KERNELS, NpuKernels
from hwsim.mapping.primitives import GemmWork, MoveWork, VectorWork, Work
from hwsim.workload.model import Model
from hwsim.workload.ops import Conv2dOp, OpBase

REFERENCE_MACS_PER_CYCLE = 32.0  # the narrowest Ethos-U55 configuration, where the fit anchors


@dataclass(frozen=True)
class NpuCost:
    compute_cycles: float
    weight_cycles: float  # busy time of the AXI1 port (weights; spilled feature maps)
    sram_cycles: float  # busy time of the SRAM port
    cycles: float
    weight_bytes: float  # encoded weight bytes streamed (from whichever memory holds them)
    sram_bytes: float  # bytes read + written over the SRAM port
    axi1_bytes: float = 0.0  # bytes read + written in the AXI1 memory (flash or DRAM)


def weight_bytes_per_cycle(npu: NpuSpec) -> float:
    """AXI1-port bandwidth in bytes per NPU cycle (AXI width x its memory's clock scale)."""
    return npu.axi_bytes_per_cycle * npu.weight_clock_scale


def encoded_weight_bytes(raw_bytes: float, zero_fraction: float,
                         k: NpuKernels = NPU_KERNELS) -> float:
    """Bytes after Vela-style weight compression: zeros encode to far fewer bits."""
    return raw_bytes * (k.dense_weight_ratio * (1.0 - zero_fraction)
                        + k.zero_weight_ratio * zero_fraction)


def sram_bytes_per_cycle(npu: NpuSpec) -> float:
    """SRAM-port bandwidth in bytes per NPU cycle."""
    return npu.axi_bytes_per_cycle * npu.sram_clock_scale


def ifm_bytes(op: OpBase, w: Work) -> float | None:
    """Input feature-map bytes the NPU reads for a conv work item: the tensor itself, not the
    im2col expansion of the GEMM view (the NPU keeps the window overlap on chip). None for
    other ops (their GEMM A operand is the tensor)."""
    if isinstance(op, Conv2dOp) and isinstance(w, GemmWork):
        return float(op.h * op.w * op.c) * (w.m / (op.out_h * op.out_w)) * w.dtype_bytes
    return None


def weights_on_sram(npu: NpuSpec) -> bool:
    """Whether the weights stream over the SRAM port (Vela's Sram_Only memory mode)."""
    return npu.memory_mode == "Sram_Only"


# Vela 5.2.0 (vela.ini) reads DRAM in 128-byte bursts; an NHWC tensor with fewer channels than
# the NPU's 8-deep micro-block (a camera image, a spectrogram) is read in 8-byte runs
# (npu_performance._estimate_memory_transfer_efficiency), so each run costs a whole burst.
DRAM_BURST_BYTES = 128
NARROW_RUN_BYTES = 8


@dataclass(frozen=True)
class FmPlacement:
    """Where an op's feature maps live: SRAM (False) or the AXI1 DRAM (True), and how many
    times its input's bytes a DRAM read costs (burst efficiency)."""

    ifm_on_axi1: bool = False
    ofm_on_axi1: bool = False
    ifm_read_factor: float = 1.0


def fm_placement(npu: NpuSpec, live_bytes: float, sram_bytes: float, first: bool, last: bool,
                 in_channels: int | None) -> FmPlacement:
    """Feature-map placement of one op (Vela's memory modes). Outside Dedicated_Sram: SRAM.
    In Dedicated_Sram the arena is the AXI1 DRAM and the SRAM (``sram_bytes``) a cache: the
    network's input and output stay in the arena (Vela reads the first op's input from DRAM),
    and an op whose input + output (``live_bytes``) exceed the cache spills both to DRAM."""
    if npu.memory_mode != "Dedicated_Sram":
        return FmPlacement()
    spill = live_bytes > sram_bytes
    narrow = first and in_channels is not None and in_channels < NARROW_RUN_BYTES
    return FmPlacement(first or spill, last or spill,
                       DRAM_BURST_BYTES / NARROW_RUN_BYTES if narrow else 1.0)


def npu_cost(w: Work, kind: str, npu: NpuSpec, zero_fraction: float = 0.0,
             weight_passes: float = 1.0, k: NpuKernels = NPU_KERNELS,
             ifm: float | None = None, fm: FmPlacement = FmPlacement()) -> NpuCost:
    """``kind`` is conv | depthwise | fc | vector; ``weight_passes`` is how many times the
    weights stream (a recurrent cell whose weights do not fit in SRAM re-reads them each
    step); ``k`` replaces the fitted constants (re-fits use it); ``ifm`` is the input
    feature-map bytes when they differ from the GEMM's A operand (:func:`ifm_bytes`);
    ``fm`` says which feature maps live in the AXI1 DRAM (:func:`fm_placement`).

    The op lasts as long as the busiest of MAC array, AXI1 port and SRAM port (the DMAs
    overlap compute); transfers that share a port add up on it."""
    width = npu.macs_per_cycle / npu.cores / REFERENCE_MACS_PER_CYCLE
    if isinstance(w, GemmWork):
        eff = {"conv": k.conv_efficiency, "depthwise": k.depthwise_efficiency,
               "fc": k.fc_efficiency}[kind] * width ** (-k.scale_exponent)
        macs = float(w.m) * w.n * w.k * w.count
        compute = macs / (npu.macs_per_cycle * min(1.0, eff))
        raw = float(w.k) * w.n * w.dtype_bytes * (1.0 if w.b_shared else w.count)
        weights = encoded_weight_bytes(raw, zero_fraction, k) * weight_passes if w.b_is_weight \
            else 0.0
        # An activation B (attention's K and V, once per K/V head) is a feature map read too.
        b_act = 0.0 if w.b_is_weight else raw
        ifm_b = (float(w.m) * w.k * w.count * w.dtype_bytes if ifm is None else ifm) + b_act
        ofm_b = float(w.m) * w.n * w.count * w.dtype_bytes
    elif isinstance(w, VectorWork):
        compute = w.elements * w.ops_per_element / (npu.macs_per_cycle
                                                     * k.vector_elements_per_mac_lane)
        weights, ifm_b, ofm_b = 0.0, float(w.bytes_in), float(w.bytes_out)
    else:
        assert isinstance(w, MoveWork)
        compute = w.bytes / npu.axi_bytes_per_cycle  # a DMA copy
        weights, ifm_b, ofm_b = 0.0, float(w.bytes), float(w.bytes)
    w_sram = weights_on_sram(npu)
    on_sram = ((weights if w_sram else 0.0) + (0.0 if fm.ifm_on_axi1 else ifm_b)
               + (0.0 if fm.ofm_on_axi1 else ofm_b))
    on_axi1 = (weights + ifm_b + ofm_b) - on_sram
    # DRAM time: every byte, plus the wasted part of the bursts of a narrow input.
    axi1_time_bytes = on_axi1 + (ifm_b * (fm.ifm_read_factor - 1.0) if fm.ifm_on_axi1 else 0.0)
    weight_cycles = axi1_time_bytes / weight_bytes_per_cycle(npu)
    sram_cycles = on_sram / sram_bytes_per_cycle(npu)
    return NpuCost(compute, weight_cycles, sram_cycles,
                   max(compute, weight_cycles, sram_cycles), weights, on_sram, on_axi1)


# Op kinds Vela 5.2.0 cannot place on an Ethos-U55/U65 (its SUPPORTED_OPS.md lists no GATHER or
# TOPK_V2 for them): on a chip with a host core they fall back to it, and the NPU waits.
CPU_FALLBACK_KINDS = ("embedding", "router")


def runs_on_npu(op: OpBase, w: Work, has_host_core: bool) -> bool:
    """Whether a work item of ``op`` runs on the NPU (True) or falls back to the host core.

    An NPU-only preset has no host core to fall back to, so everything is costed on the NPU."""
    if not has_host_core:
        return True
    return op.kind not in CPU_FALLBACK_KINDS and not isinstance(w, MoveWork)  # type: ignore[attr-defined]


_ZERO_COMMENT = re.compile(r"name: ([^,}]+),.*# weight [\d,]+ B \w+ \(([\d.]+) % zero\)")


def weight_zero_fractions(model: Model) -> dict[str, float]:
    """Per-op fraction of zero weights, when the model's YAML records it (the .tflite import
    writes ``# weight N B int8 (Z % zero)`` after each op); empty otherwise."""
    origin = getattr(model, "origin", None)
    if not origin or not str(origin).endswith((".yaml", ".yml")):
        return {}
    path = Path(str(origin))
    return dict(_zero_fractions(str(path), path.stat().st_mtime if path.exists() else 0.0))


@lru_cache(maxsize=32)
def _zero_fractions(path: str, mtime: float) -> tuple[tuple[str, float], ...]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return ()
    return tuple((m.group(1).strip(), float(m.group(2)) / 100.0)
                 for m in _ZERO_COMMENT.finditer(text))
