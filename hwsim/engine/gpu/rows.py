"""Per-op rows and totals of a GPU run, shared by the analytic and the cycle fidelity: the two
differ in how long each kernel takes, not in how kernels add up to an op or ops to a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.energy import ENERGY_COMPONENTS, GpuEnergy
from hwsim.engine.gpu.kernels import KernelCost
from hwsim.engine.gpu.rates import best_tensor_peak, tensor_peak
from hwsim.engine.result import OpResult, Total
from hwsim.engine.totals import build_total
from hwsim.workload.ops import OpBase

BYTE_LEVELS = ("smem", "l2", "offchip")


@dataclass
class OpTally:
    """Kernels of one op added up: time, energy by component, bytes by level, wave use."""

    mapping: dict[str, Any] = field(default_factory=lambda: {"kernels": 0})
    latency_s: float = 0.0
    compute_s: float = 0.0
    wave_num: float = 0.0
    flops: float = 0.0
    longest: tuple[float, str] = (-1.0, "launch")
    dyn: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ENERGY_COMPONENTS, 0.0))
    byts: dict[str, float] = field(default_factory=lambda: dict.fromkeys(BYTE_LEVELS, 0.0))

    def add(self, cost: KernelCost, parts: dict[str, float], *, time_s: float,
            compute_s: float, bottleneck: str, wave_efficiency: float, kernels: int) -> None:
        """One kernel (or ``kernels`` identical ones) whose energy ``parts`` are already
        counted for all of them."""
        self.latency_s += time_s
        self.compute_s += compute_s
        for c, e in parts.items():
            self.dyn[c] += e
        self.byts["smem"] += cost.smem_bytes
        self.byts["l2"] += cost.l2_bytes
        self.byts["offchip"] += cost.dram_bytes
        self.wave_num += wave_efficiency * cost.tensor_flops
        self.flops += cost.tensor_flops
        self.longest = max(self.longest, (time_s, bottleneck))
        self.mapping["kernels"] += kernels

    def row(self, op: OpBase, batch: int, chip: GpuChip, energy: GpuEnergy) -> OpResult:
        dyn = dict(self.dyn)
        dyn["static"] = energy.idle_w * self.latency_s
        macs = int(op.macs * batch)
        peak_macs = tensor_peak(chip, op.dtype) / 2.0
        cycles = self.latency_s * chip.clock_hz
        compute_cycles = min(self.compute_s * chip.clock_hz, cycles)
        return OpResult(
            name=op.name, kind=op.kind, macs=macs,  # type: ignore[attr-defined]
            compute_cycles=compute_cycles, stall_cycles=cycles - compute_cycles, cycles=cycles,
            latency_s=self.latency_s, energy_j=sum(dyn.values()), energy_breakdown_j=dyn,
            utilization=macs / (self.latency_s * peak_macs) if self.latency_s else 0.0,
            mapping_efficiency=(self.wave_num / self.flops  # type: ignore[arg-type]
                                if self.flops else None),
            bytes=dict(self.byts), bottleneck=self.longest[1], mapping=self.mapping)


def gpu_total(rows: list[OpResult], chip: GpuChip) -> Total:
    """Totals over the ops; utilisation against the chip's highest tensor rate."""
    return build_total(rows, energy_components=ENERGY_COMPONENTS, byte_levels=BYTE_LEVELS,
                       peak_macs_per_s=best_tensor_peak(chip) / 2.0,
                       area_mm2=gpu_area_mm2(chip), static_power_w=chip.idle_power_w)


def gpu_area_mm2(chip: GpuChip) -> dict[str, float]:
    """The die area when the preset gives it (GPU blocks are not costed separately)."""
    return {"die": chip.die_area_mm2} if chip.die_area_mm2 else {}
