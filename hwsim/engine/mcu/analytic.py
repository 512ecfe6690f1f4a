"""Analytic simulation of a model on a microcontroller: a core, optionally an Ethos-U NPU.

Every op is lowered (:func:`hwsim.mapping.primitives.lower`) and each work item is costed on the
NPU when the chip has one (Vela maps every op of the MLPerf Tiny models to the NPU) or on the
core otherwise (:mod:`hwsim.engine.mcu.core`). Memory fit is checked, never enforced: a model
that does not fit still gets its costs, and every row's ``mapping["fit"]`` says by how much.

Cycles are core-clock cycles (for an NPU-only preset the core clock is the NPU clock); the NPU's
own cycle count is in ``mapping["npu_cycles"]``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from hwsim.config.chip import McuChip
from hwsim.engine.mcu.core import CoreCost, core_cost, streams_weights, tcm_weight_ops
from hwsim.engine.mcu.ethosu_layers import structural_npu_cost
from hwsim.engine.mcu.fit import memory_fit
from hwsim.engine.mcu.npu import (
    FmPlacement,
    NpuCost,
    fm_placement,
    ifm_bytes,
    npu_cost,
    runs_on_npu,
    weight_zero_fractions,
)
from hwsim.engine.result import OpResult, Total
from hwsim.engine.totals import build_total
from hwsim.hardware.tech import load_tech
from hwsim.mapping.primitives import GemmWork, Work, lower
from hwsim.units import DTYPE_BYTES
from hwsim.workload.memory import live_bytes
from hwsim.workload.model import Model
from hwsim.workload.ops import Conv2dOp, OpBase

ENERGY_COMPONENTS = ("core", "npu_mac", "npu_sram", "weight_memory", "sleep")
BYTE_LEVELS = ("flash", "sram")


def kernel_kind(op: OpBase, w: Work) -> str:
    """Which kernel runs a work item: conv | depthwise | fc | vector."""
    if not isinstance(w, GemmWork):
        return "vector"
    if isinstance(op, Conv2dOp):
        return "depthwise" if op.groups > 1 and op.groups == op.c else "conv"
    return "fc"


def active_power_w(chip: McuChip) -> float:
    """Power at the supply while the core runs: datasheet run current per MHz x clock x supply
    voltage, plus the board's measured extra (``board_power_w``: static, regulator and
    peripheral draw the datasheet's core figure leaves out). 0 on an NPU-only preset."""
    if chip.active_ua_per_mhz is None or chip.supply_v is None:
        return 0.0
    core_w = chip.active_ua_per_mhz * 1e-6 * (chip.clock_hz / 1e6) * chip.supply_v
    return max(0.0, core_w + (chip.board_power_w or 0.0))


def sleep_power_w(chip: McuChip) -> float:
    """The host core's sleep power (0 on an NPU-only preset)."""
    return chip.sleep_power_w or 0.0


@dataclass(frozen=True)
class WorkCost:
    """One lowered work item costed on its unit: what the cycle fidelity schedules."""

    unit: str  # "npu" | "core"
    kind: str  # conv | depthwise | fc | vector
    npu: NpuCost | None = None
    core: CoreCost | None = None


@dataclass
class OpCost:
    acc: dict[str, float]
    kinds: set[str]
    density: float
    works: list[WorkCost]


def tcm_resident(model: Model, chip: McuChip, batch: int) -> frozenset[str]:
    """Ops whose streamed (FC) weights a core-bearing chip keeps in TCM: only work the core
    runs (an NPU reads its weights over AXI)."""
    if not chip.tcm_bytes:
        return frozenset()
    elem = DTYPE_BYTES["int8"]

    def on_core(op: OpBase, w: Work) -> bool:
        return chip.npu is None or not runs_on_npu(op, w, not chip.npu_only)

    streamed = [(op.name, op.weight_bytes // op.dtype_bytes * elem) for op in model.ops
                if any(streams_weights(kernel_kind(op, w), w) and on_core(op, w)
                       for w in lower(op, batch, elem))]
    return tcm_weight_ops(streamed, chip, memory_fit(model, chip, batch).arena_bytes)


def fm_placements(model: Model, chip: McuChip, batch: int) -> list[FmPlacement]:
    """Per op, where an NPU keeps its feature maps (all SRAM without an NPU)."""
    if chip.npu is None:
        return [FmPlacement()] * len(model.ops)
    elem = DTYPE_BYTES["int8"]
    last = len(model.ops) - 1
    return [fm_placement(chip.npu, live_bytes(op, batch, elem), chip.sram_bytes, i == 0,
                         i == last, op.c if isinstance(op, Conv2dOp) else None)
            for i, op in enumerate(model.ops)]


def cost_op(op: OpBase, batch: int, chip: McuChip, zero_fraction: float, tech: Any,
            densities: list[float | None] | None = None,
            weights_in_tcm: bool = False, fm: FmPlacement = FmPlacement()) -> OpCost:
    """Cost every work item of ``op`` on the NPU or the core (the analytic action counts).

    ``densities`` (one per work item, None = the spec's mean) are realised K densities the
    core's software zero-skip sees; the cycle fidelity passes them from its masks.
    ``weights_in_tcm``: the op's weights were copied to TCM (:func:`tcm_resident`); ``fm``:
    where an NPU keeps the op's feature maps (:func:`fm_placements`)."""
    acc: dict[str, float] = defaultdict(float)
    kinds: set[str] = set()
    density = 1.0
    works: list[WorkCost] = []
    p_active = active_power_w(chip)
    host = not chip.npu_only
    for j, w in enumerate(lower(op, batch, DTYPE_BYTES["int8"])):
        kind = kernel_kind(op, w)
        kinds.add(kind)
        if chip.npu is not None and runs_on_npu(op, w, host):
            n = _npu_work(acc, op, w, kind, chip, zero_fraction, tech, fm)
            works.append(WorkCost("npu", kind, npu=n))
        else:
            d = densities[j] if densities is not None else None
            c = core_cost(w, kind, chip, op.dtype, density=d, weights_in_tcm=weights_in_tcm)
            _core_work(acc, c, chip, p_active)
            density = min(density, c.density)
            works.append(WorkCost("core", kind, core=c))
    return OpCost(acc, kinds, density, works)


def simulate_mcu(model: Model, chip: McuChip, batch: int = 1) -> tuple[list[OpResult], Total]:
    """Cost every op of ``model`` for ``batch`` inputs on ``chip`` (int8 deployment).

    Returns per-op rows and the total. ``Total.bytes`` has ``flash`` (weight bytes read from the
    weight memory) and ``sram`` (activation bytes moved); each row's ``mapping["fit"]`` carries
    the model's fit (weights vs flash, peak arena vs SRAM, both numbers). On a chip with an NPU
    and a host core, ops the NPU cannot run (:data:`CPU_FALLBACK_KINDS`) run on the core.
    """
    fit = memory_fit(model, chip, batch).to_dict()
    zeros = weight_zero_fractions(model) if chip.npu is not None else {}
    tech = load_tech(chip.tech)
    tcm = tcm_resident(model, chip, batch)
    fms = fm_placements(model, chip, batch)
    rows = [op_row(op, batch, chip, cost_op(op, batch, chip, zeros.get(op.name, 0.0), tech,
                                            weights_in_tcm=op.name in tcm, fm=fm), fit)
            for op, fm in zip(model.ops, fms, strict=True)]
    return rows, mcu_total(rows, chip)


def _core_work(acc: dict[str, float], c: CoreCost, chip: McuChip, p_active: float) -> None:
    cycles = c.compute_cycles + c.stall_cycles
    acc["compute_cycles"] += c.compute_cycles
    acc["stall_cycles"] += c.stall_cycles
    acc["latency_s"] += cycles / chip.clock_hz
    acc["b.flash"] += c.flash_bytes
    acc["b.sram"] += c.sram_bytes
    acc["macs_executed"] += c.macs_executed
    # The datasheet run current already includes flash and SRAM accesses.
    acc["e.core"] += p_active * cycles / chip.clock_hz
    acc["busy.core"] += c.compute_cycles
    acc["busy.flash"] += c.stall_cycles


def npu_weight_passes(w: Work, chip: McuChip) -> float:
    """How many times a work item's weights stream: a recurrent cell's weights that cannot stay
    in (half of) SRAM stream again each step."""
    if isinstance(w, GemmWork) and w.b_shared and w.k * w.n * w.dtype_bytes > chip.sram_bytes // 2:
        return float(w.count)
    return 1.0


def _npu_work(acc: dict[str, float], op: OpBase, w: Work, kind: str, chip: McuChip,
              zero_fraction: float, tech: Any, fm: FmPlacement) -> NpuCost:
    """Cost one NPU work item: the structural Ethos-U model where it describes the op
    (:mod:`hwsim.engine.mcu.ethosu_layers`), else the fitted per-kind regression."""
    npu = chip.npu
    assert npu is not None
    c = structural_npu_cost(op, w, npu, zero_fraction, fm.ifm_on_axi1, fm.ofm_on_axi1)
    if c is None:
        c = npu_cost(w, kind, npu, zero_fraction, npu_weight_passes(w, chip),
                     ifm=ifm_bytes(op, w), fm=fm)
    latency = c.cycles / npu.clock_hz
    acc["npu_cycles"] += c.cycles
    acc["compute_cycles"] += c.compute_cycles * chip.clock_hz / npu.clock_hz
    acc["stall_cycles"] += (c.cycles - c.compute_cycles) * chip.clock_hz / npu.clock_hz
    acc["latency_s"] += latency
    acc["npu_latency_s"] += latency
    acc["b.flash"] += c.axi1_bytes  # the AXI1 memory (flash or DRAM)
    acc["b.sram"] += c.sram_bytes
    macs = float(w.m) * w.n * w.k * w.count if isinstance(w, GemmWork) else 0.0
    acc["macs_executed"] += macs
    acc["e.npu_mac"] += macs * tech.mac_energy_j("int8")
    acc["e.npu_sram"] += c.sram_bytes * float(tech.sram_read_energy_j_per_byte(chip.sram_bytes))
    mem = "flash" if npu.weight_memory == "flash" else "lpddr4"
    acc["e.weight_memory"] += c.axi1_bytes * tech.offchip_energy_j_per_byte(mem)
    acc["busy.npu"] += c.compute_cycles
    acc["busy.weight_memory"] += c.weight_cycles
    acc["busy.sram_port"] += c.sram_cycles
    return c


def op_row(op: OpBase, batch: int, chip: McuChip, cost: OpCost, fit: dict[str, Any]) -> OpResult:
    """The result row of one costed op (latency and cycles from ``cost.acc``)."""
    acc, kinds, density = cost.acc, cost.kinds, cost.density
    latency = acc["latency_s"]
    cycles = latency * chip.clock_hz
    breakdown = {c: acc.get("e." + c, 0.0) for c in ENERGY_COMPONENTS}
    units_used = {w.unit for w in cost.works}
    on_npu = "npu" in units_used
    if on_npu and not chip.npu_only:
        # The host core waits (WFI) while the NPU runs.
        breakdown["sleep"] = sleep_power_w(chip) * acc.get("npu_latency_s", 0.0)
    units = (("npu", "weight_memory", "sram_port", "core", "flash") if on_npu
             else ("core", "flash"))
    bottleneck = max(units, key=lambda u: acc.get("busy." + u, 0.0))
    macs = int(op.macs * batch)
    peak = (chip.npu.macs_per_cycle * chip.npu.clock_hz / chip.clock_hz if on_npu and chip.npu
            else _core_macs_per_cycle(chip, op.dtype))
    unit = "+".join(sorted(units_used)) if units_used else ("npu" if chip.npu else "core")
    mapping: dict[str, Any] = {
        "unit": unit, "kernels": sorted(kinds),
        "macs_executed": acc["macs_executed"], "fit": fit}
    if on_npu:
        mapping["npu_cycles"] = acc["npu_cycles"]
    if "core" in units_used:
        mapping["kernel_library"] = chip.kernel_library
    if density < 1.0:
        mapping["sparsity"] = {"density": density, "zero_skip": "software check per element"}
    return OpResult(
        name=op.name, kind=op.kind, macs=macs,  # type: ignore[attr-defined]
        compute_cycles=acc["compute_cycles"], stall_cycles=acc["stall_cycles"], cycles=cycles,
        latency_s=latency, energy_j=sum(breakdown.values()), energy_breakdown_j=breakdown,
        utilization=macs / (cycles * peak) if cycles else 0.0,
        mapping_efficiency=1.0, bytes={lvl: acc.get("b." + lvl, 0.0) for lvl in BYTE_LEVELS},
        bottleneck=bottleneck, mapping=mapping)


def mcu_total(rows: list[OpResult], chip: McuChip) -> Total:
    return build_total(rows, energy_components=ENERGY_COMPONENTS, byte_levels=BYTE_LEVELS,
                       clock_hz=chip.clock_hz,
                       peak_macs_per_cycle=peak_macs_per_cycle(chip), area_mm2={},
                       static_power_w=sleep_power_w(chip))


def peak_macs_per_cycle(chip: McuChip) -> float:
    """MACs per (host) clock cycle: the NPU's array scaled to the host clock, else the core's
    int8 SIMD rate."""
    if chip.npu is not None:
        return chip.npu.macs_per_cycle * chip.npu.clock_hz / chip.clock_hz
    return _core_macs_per_cycle(chip, "int8")


def duty_cycled_power_w(total: Total, chip: McuChip, inferences_per_s: float) -> float:
    """Average power when running ``inferences_per_s`` inferences and sleeping in between."""
    busy_s = min(1.0, total.latency_s * inferences_per_s)
    return total.energy_j * inferences_per_s + sleep_power_w(chip) * (1.0 - busy_s)


def _core_macs_per_cycle(chip: McuChip, dtype: str) -> float:
    rates = chip.macs_per_cycle or {}
    return float(rates.get(dtype, rates.get("int8", 1.0)))  # type: ignore[call-overload]
