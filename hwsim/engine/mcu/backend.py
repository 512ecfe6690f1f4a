"""The MCU backend: Cortex-M class cores with flash and SRAM, optionally an Ethos-U NPU."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from hwsim.config.chip import McuChip
from hwsim.engine.backend import sample_rows_by_cycle
from hwsim.engine.fit import MemoryFit, check_residency
from hwsim.engine.mcu.analytic import BYTE_LEVELS, ENERGY_COMPONENTS
from hwsim.engine.mcu.fit import memory_fit
from hwsim.engine.roofline import Roofline
from hwsim.errors import input_error

if TYPE_CHECKING:
    from hwsim.engine.result import OpResult, Result, Total
    from hwsim.engine.timeline import CycleRun
    from hwsim.hardware.tech import Tech
    from hwsim.workload.model import Model


class McuBackend:
    kind = "mcu"
    energy_components = ENERGY_COMPONENTS
    byte_levels = BYTE_LEVELS
    weight_level = "flash"  # MCUs have no off-chip level: weights stream from flash

    def tech(self, chip: McuChip) -> Tech:
        from hwsim.hardware.tech import load_tech

        return load_tech(chip.tech)

    def analytic(self, model: Model, chip: McuChip, batch: int) -> tuple[list[OpResult], Total]:
        from hwsim.engine.mcu.analytic import simulate_mcu

        return simulate_mcu(model, chip, batch)

    def cycle(self, model: Model, chip: McuChip, batch: int, *, seed: int = 0, z: float = 0.0,
              record: bool = False) -> CycleRun:
        from hwsim.engine.mcu.cycle import simulate_mcu_cycle

        return simulate_mcu_cycle(model, chip, batch, seed=seed, z=z, record=record)

    def sample_rows(self, model: Model, chip: McuChip, batch: int,
                    jobs: list[tuple[int, float]]) -> np.ndarray:
        return sample_rows_by_cycle(self, model, chip, batch, jobs)

    def memory_fit(self, model: Model, chip: McuChip, batch: int, *, resident: str = "all",
                   result: Result | None = None) -> MemoryFit:
        """Weights (int8) in flash and the activation arena (K/V included) in SRAM; the
        devices needed is the larger of the two ratios. ``resident="active"``: the flash bytes
        one inference reads instead of all weights."""
        check_residency(resident)
        fit = memory_fit(model, chip, batch)
        weights = float(fit.weights_bytes)
        if resident == "active":
            if result is None:
                raise input_error("resident", "'active' residency needs a simulated result",
                                  given=resident)
            weights = float(result.total.bytes.get("flash", 0.0))
        weights_fit = weights <= fit.flash_bytes
        fits = weights_fit and fit.arena_fit
        need = max(weights / fit.flash_bytes, fit.arena_bytes / fit.sram_bytes)
        summary = (f"weights {weights:,.0f} B of {fit.flash_bytes:,} B flash, arena "
                   f"{fit.arena_bytes:,} B of {fit.sram_bytes:,} B SRAM")
        return MemoryFit(fits, weights, float(fit.flash_bytes), max(1, math.ceil(need)), summary,
                         fit.to_dict() | {"resident": resident,
                                          "model_weight_bytes": model.weight_bytes})

    def roofline(self, chip: McuChip, dtype: str = "int8") -> Roofline:
        """NPU: MACs/cycle x NPU clock, weight stream over the AXI port; core: int8 SIMD
        MACs/cycle x clock, one flash line per (wait states + 1) cycles."""
        if chip.npu is not None:
            npu = chip.npu
            scale = (npu.sram_clock_scale if npu.memory_mode == "Sram_Only"
                     else npu.weight_clock_scale)  # the port the weights stream over
            bw = npu.axi_bytes_per_cycle * npu.clock_hz * scale
            return Roofline(npu.macs_per_cycle * npu.clock_hz, bw, "flash",
                            f"NPU {npu.macs_per_cycle} MACs/cycle x {npu.clock_hz / 1e6:g} MHz",
                            f"NPU AXI {npu.axi_bytes_per_cycle} B/cycle x "
                            f"{scale:g} weight-port clock scale ({npu.memory_mode})")
        bw = chip.flash_line_bytes * chip.clock_hz / (chip.flash_wait_states + 1)
        return Roofline(chip.macs_per_cycle["int8"] * chip.clock_hz, bw, "flash",
                        f"core {chip.macs_per_cycle['int8']:g} int8 MACs/cycle x "
                        f"{chip.clock_hz / 1e6:g} MHz",
                        f"flash {chip.flash_line_bytes} B line / ({chip.flash_wait_states} wait "
                        "states + 1) per cycle")

    def area_mm2(self, chip: McuChip) -> dict[str, float]:
        return {}  # MCU presets give no die area

    def static_power_w(self, chip: McuChip) -> float:
        return chip.sleep_power_w or 0.0  # an NPU-only preset has no host core to sleep


BACKEND = McuBackend()
