"""GPU energy per action, calibrated so a large dense GEMM draws the board's TDP.

Per-byte energies come from the chip's technology table (``configs/tech``, each entry cited
there): shared memory as an SRAM of one SM's size, L2 as an SRAM of the L2's size, DRAM/HBM per
bit by memory kind. The per-FLOP energy is not typed in: it is derived so that a large dense
8192^3 GEMM in fp16/bf16, costed by this model at the boost clock (``boost_clock_hz``), draws
exactly ``tdp_w`` (idle power plus memory power plus math power) - vendors size a board's power
limit to its tensor cores' peak, which is why GEMM-heavy jobs run at the power limit. The
energies per action do not depend on ``clock_hz`` ([assumption]: one supply voltage, no DVFS):
a lower clock draws proportionally less math power, a clock above the boost clock hits the
power limit and is throttled back to it. Other dtypes and the CUDA cores get the same math
power at their own peak rate ([assumption]: each pipe is sized to the same power budget).
"""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.kernels import KernelCost, cuda_peak, gemm_cost, tensor_peak
from hwsim.errors import input_error
from hwsim.hardware.memo import per_object
from hwsim.hardware.tech import load_tech
from hwsim.mapping.primitives import GemmWork

ENERGY_COMPONENTS = ("tensor", "cuda", "smem", "l2", "offchip", "static")
# The calibration GEMM: big enough that tile and wave quantisation vanish (8192 = 64 tiles of 128).
CALIBRATION_GEMM = 8192


@dataclass(frozen=True)
class GpuEnergy:
    """Energies per action (J) and the power limits (W) of one GPU."""

    tensor_j_per_flop: float  # fp16/bf16 tensor-core FLOP at the calibration point
    math_power_w: float  # dynamic math power of the calibration GEMM
    smem_j_per_byte: float
    l2_j_per_byte: float
    dram_j_per_byte: float
    idle_w: float
    tdp_w: float

    def tensor_j(self, chip: GpuChip, dtype: str) -> float:
        """Energy per tensor FLOP of ``dtype``: the same math power at that dtype's peak."""
        return self.tensor_j_per_flop * tensor_peak(chip, "bf16") / tensor_peak(chip, dtype)

    def cuda_j(self, chip: GpuChip) -> float:
        """Energy per CUDA-core FLOP: the calibration's math power at the CUDA-core peak."""
        full_w = self.tensor_j_per_flop * tensor_peak(chip, "bf16") * chip.gemm_efficiency
        return full_w / cuda_peak(chip)

    def breakdown(self, chip: GpuChip, cost: KernelCost, dtype: str) -> dict[str, float]:
        """Dynamic energy of one kernel by component (static added by the caller)."""
        return {
            "tensor": cost.tensor_flops * self.tensor_j(chip, cost.math_dtype or dtype),
            "cuda": cost.cuda_flops * self.cuda_j(chip),
            "smem": cost.smem_bytes * self.smem_j_per_byte,
            "l2": cost.l2_bytes * self.l2_j_per_byte,
            "offchip": cost.dram_bytes * self.dram_j_per_byte,
        }


@per_object
def gpu_energy(chip: GpuChip) -> GpuEnergy:
    """Per-action energies of ``chip``, calibrated to its TDP (see the module docstring)."""
    tech = load_tech(chip.tech)
    smem = float(tech.sram_read_energy_j_per_byte(max(chip.smem_bytes_per_sm, 64)))
    l2 = float(tech.sram_read_energy_j_per_byte(max(chip.l2_bytes, 64)))
    dram = float(tech.offchip_energy_j_per_byte(chip.offchip.kind))
    n = CALIBRATION_GEMM
    boost = chip.boost_clock_hz or chip.clock_hz
    at_boost = chip if boost == chip.clock_hz else chip.model_copy(update={"clock_hz": boost})
    cost = gemm_cost(GemmWork(n, n, n, 1, 2, True), at_boost, "bf16")
    t = cost.time_s - cost.launch_s
    mem_w = (cost.smem_bytes * smem + cost.l2_bytes * l2 + cost.dram_bytes * dram) / t
    math_w = chip.tdp_w - chip.idle_power_w - mem_w
    if math_w <= 0:
        raise input_error(chip.name, "idle plus memory power of a large GEMM exceeds the TDP, "
                          "so no per-FLOP energy can be calibrated", field="tdp_w",
                          given=chip.tdp_w)
    return GpuEnergy(tensor_j_per_flop=math_w * t / cost.tensor_flops, math_power_w=math_w,
                     smem_j_per_byte=smem, l2_j_per_byte=l2, dram_j_per_byte=dram,
                     idle_w=chip.idle_power_w, tdp_w=chip.tdp_w)
