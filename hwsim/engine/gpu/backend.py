"""The GPU backend: SMs with tensor and CUDA cores, shared memory, L2 and DRAM/HBM."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hwsim.config.chip import GpuChip
from hwsim.engine.backend import sample_rows_by_cycle
from hwsim.engine.fit import MemoryFit, offchip_fit
from hwsim.engine.gpu.energy import ENERGY_COMPONENTS
from hwsim.engine.gpu.rows import BYTE_LEVELS, gpu_area_mm2
from hwsim.engine.roofline import Roofline

if TYPE_CHECKING:
    from hwsim.engine.result import OpResult, Result, Total
    from hwsim.engine.timeline import CycleRun
    from hwsim.hardware.tech import Tech
    from hwsim.workload.model import Model


class GpuBackend:
    kind = "gpu"
    energy_components = ENERGY_COMPONENTS
    byte_levels = BYTE_LEVELS
    weight_level = "offchip"

    def tech(self, chip: GpuChip) -> Tech:
        from hwsim.hardware.tech import load_tech

        return load_tech(chip.tech)

    def analytic(self, model: Model, chip: GpuChip, batch: int) -> tuple[list[OpResult], Total]:
        from hwsim.engine.gpu.analytic import simulate_gpu

        return simulate_gpu(model, chip, batch)

    def cycle(self, model: Model, chip: GpuChip, batch: int, *, seed: int = 0, z: float = 0.0,
              record: bool = False) -> CycleRun:
        from hwsim.engine.gpu.cycle import simulate_gpu_cycle

        return simulate_gpu_cycle(model, chip, batch, seed=seed, z=z, record=record)

    def sample_rows(self, model: Model, chip: GpuChip, batch: int,
                    jobs: list[tuple[int, float]]) -> np.ndarray:
        return sample_rows_by_cycle(self, model, chip, batch, jobs)

    def memory_fit(self, model: Model, chip: GpuChip, batch: int, *, resident: str = "all",
                   result: Result | None = None) -> MemoryFit:
        read = None if result is None else float(result.total.bytes.get("offchip", 0.0))
        return offchip_fit(model, chip, batch, resident=resident, read_bytes=read)

    def roofline(self, chip: GpuChip, dtype: str = "int8") -> Roofline:
        from hwsim.engine.gpu.kernels import tensor_peak

        flops = tensor_peak(chip, dtype)
        return Roofline(flops / 2.0, chip.offchip.bw_bytes_per_s, "offchip",
                        f"tensor cores {flops / 1e12:g} T{dtype} FLOP/s / 2",
                        f"{chip.offchip.kind} {chip.offchip.bw_bytes_per_s / 1e9:g} GB/s")

    def area_mm2(self, chip: GpuChip) -> dict[str, float]:
        return gpu_area_mm2(chip)

    def static_power_w(self, chip: GpuChip) -> float:
        return chip.idle_power_w


BACKEND = GpuBackend()
