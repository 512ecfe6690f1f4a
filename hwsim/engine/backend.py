"""The one interface every chip kind implements, and the registry that picks it by ``chip.kind``.

Per-kind knowledge lives behind this protocol and nowhere else: ``simulate``, studies, claims,
the app and the CLI ask ``backend_for(chip)`` for costs, memory fit, roofline ceilings, area and
static power, never ``isinstance`` on a chip. Backends are imported on first use, so asking for
the accelerator never imports the GPU or MCU models.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from hwsim.engine.fit import MemoryFit
    from hwsim.engine.result import OpResult, Result, Total
    from hwsim.engine.roofline import Roofline
    from hwsim.engine.timeline import CycleRun
    from hwsim.hardware.tech import Tech
    from hwsim.workload.model import Model


class Backend(Protocol):
    """One chip kind's machine model."""

    kind: str
    energy_components: tuple[str, ...]  # keys of energy_breakdown_j, in report order
    byte_levels: tuple[str, ...]  # keys of bytes
    weight_level: str  # the level weights stream from (compare_dense's byte ratio)

    def tech(self, chip: Any) -> Tech:
        """The technology table the chip's energies and areas come from."""
        ...

    def analytic(self, model: Model, chip: Any, batch: int) -> tuple[list[OpResult], Total]:
        """Expected per-op rows and totals in closed form."""
        ...

    def cycle(self, model: Model, chip: Any, batch: int, *, seed: int = 0, z: float = 0.0,
              record: bool = False) -> CycleRun:
        """One input at cycle fidelity: realised sparsity (seeded), event-level timing.
        ``z`` shifts every op's density by z standard deviations of its variability."""
        ...

    def sample_rows(self, model: Model, chip: Any, batch: int,
                    jobs: list[tuple[int, float]]) -> np.ndarray:
        """(latency_s, energy_j) at cycle fidelity for each (seed, z) job, shape (jobs, 2)."""
        ...

    def memory_fit(self, model: Model, chip: Any, batch: int, *, resident: str = "all",
                   result: Result | None = None) -> MemoryFit:
        """Does the model fit the chip's memories: weights, KV cache and activations."""
        ...

    def roofline(self, chip: Any, dtype: str = "int8") -> Roofline:
        """Compute and memory ceilings from the chip's spec fields (no cost model)."""
        ...

    def area_mm2(self, chip: Any) -> dict[str, float]:
        """Area by block (empty when the preset gives none)."""
        ...

    def static_power_w(self, chip: Any) -> float:
        """Power drawn while idle (leakage, idle or sleep power)."""
        ...


# chip.kind -> module whose BACKEND implements it.
_MODULES: Mapping[str, str] = {
    "accelerator": "hwsim.engine.accelerator.backend",
    "gpu": "hwsim.engine.gpu.backend",
    "mcu": "hwsim.engine.mcu.backend",
}
KINDS: tuple[str, ...] = tuple(_MODULES)


def backend_for(chip_or_kind: Any) -> Backend:
    """The backend of a chip (any object with ``kind``) or of a kind name."""
    kind = chip_or_kind if isinstance(chip_or_kind, str) else chip_or_kind.kind
    try:
        module = _MODULES[kind]
    except KeyError:
        raise ValueError(f"no backend for chip kind {kind!r}; known: {', '.join(KINDS)}") from None
    return importlib.import_module(module).BACKEND  # type: ignore[no-any-return]


def sample_rows_by_cycle(backend: Backend, model: Model, chip: Any, batch: int,
                         jobs: list[tuple[int, float]]) -> np.ndarray:
    """``sample_rows`` for a backend without a faster replay: one cycle run per (seed, z)."""
    import numpy as np

    out = np.empty((len(jobs), 2))
    for j, (s, z) in enumerate(jobs):
        run = backend.cycle(model, chip, batch, seed=s, z=z)
        out[j] = run.total.latency_s, run.total.energy_j
    return out
