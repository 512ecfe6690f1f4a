"""The accelerator backend: systolic/PE arrays with SRAM buffers and off-chip DRAM."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from hwsim.config.chip import AcceleratorChip
from hwsim.engine.accelerator.analytic import (
    BYTE_LEVELS,
    ENERGY_COMPONENTS,
    area_and_static,
    prepare,
    simulate_accelerator,
)
from hwsim.engine.fit import MemoryFit, offchip_fit
from hwsim.engine.roofline import Roofline

if TYPE_CHECKING:
    from hwsim.engine.result import OpResult, Result, Total
    from hwsim.engine.timeline import CycleRun
    from hwsim.hardware.tech import Tech
    from hwsim.workload.model import Model


class AcceleratorBackend:
    kind = "accelerator"
    energy_components = ENERGY_COMPONENTS
    byte_levels = BYTE_LEVELS
    weight_level = "offchip"

    def tech(self, chip: AcceleratorChip) -> Tech:
        return prepare(chip).tech

    def analytic(self, model: Model, chip: AcceleratorChip,
                 batch: int) -> tuple[list[OpResult], Total]:
        return simulate_accelerator(model, chip, batch)

    def cycle(self, model: Model, chip: AcceleratorChip, batch: int, *, seed: int = 0,
              z: float = 0.0, record: bool = False) -> CycleRun:
        from hwsim.engine.accelerator.cycle import simulate_cycle

        return simulate_cycle(model, chip, batch, seed=seed, z=z, record=record)

    def sample_rows(self, model: Model, chip: AcceleratorChip, batch: int,
                    jobs: list[tuple[int, float]]) -> np.ndarray:
        from hwsim.engine.accelerator.cycle import sample_rows

        return sample_rows(model, chip, batch, jobs)

    def memory_fit(self, model: Model, chip: AcceleratorChip, batch: int, *,
                   resident: str = "all", result: Result | None = None) -> MemoryFit:
        read = None if result is None else float(result.total.bytes.get("offchip", 0.0))
        return offchip_fit(model, chip, batch, resident=resident, read_bytes=read)

    def roofline(self, chip: AcceleratorChip, dtype: str = "int8") -> Roofline:
        # One MAC per PE per cycle, whatever the op's dtype: the array computes in its own.
        pes = chip.array.rows * chip.array.cols
        return Roofline(pes * chip.clock_hz, chip.offchip.bw_bytes_per_s, "offchip",
                        f"{chip.array.rows}x{chip.array.cols} PEs x {chip.clock_hz / 1e6:g} MHz",
                        f"off-chip {chip.offchip.kind} {chip.offchip.bw_bytes_per_s / 1e9:g} GB/s")

    def area_mm2(self, chip: AcceleratorChip) -> dict[str, float]:
        return dict(prepare(chip).area_mm2)

    def static_power_w(self, chip: AcceleratorChip) -> float:
        return prepare(chip).static_power_w

    # Chip fields the vectorised sweep varies -> keyword of sweep.designs_like.
    sweepable_fields: Mapping[str, str] = MappingProxyType({
        "array.rows": "rows", "array.cols": "cols",
        "buffers.ifmap.size_bytes": "ifmap_bytes", "buffers.filter.size_bytes": "filter_bytes",
        "buffers.ofmap.size_bytes": "ofmap_bytes", "offchip.bw_bytes_per_s": "bw_bytes_per_s",
        "clock_hz": "clock_hz", "vector_unit.lanes": "vector_lanes",
    })

    def sweep_designs(self, model: Model, chip: AcceleratorChip, values: Mapping[str, Any],
                      batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(latency_s, energy_j, area_mm2) per design, ``values`` mapping swept field paths to
        one array each; None where the sweep does not apply (router unit, sparse GEMMs)."""
        from hwsim.engine.accelerator.sweep import designs_like, sweep_accelerator
        from hwsim.errors import HwsimError

        if chip.router_unit is not None:  # the sweep would run router GEMMs on the array
            return None
        designs, clock = designs_like(chip, **{self.sweepable_fields[k]: np.asarray(v)
                                               for k, v in values.items()})
        try:
            res = sweep_accelerator(model, chip, designs, clock, batch=batch)
        except (ValueError, HwsimError):  # sparse GEMMs: the sweep costs dense work only
            return None
        area, static_w = area_and_static(chip, prepare(chip).tech, designs)
        energy = res.dynamic_energy_j + static_w * res.latency_s
        return res.latency_s, energy, sum(area.values())  # type: ignore[return-value]


BACKEND = AcceleratorBackend()
