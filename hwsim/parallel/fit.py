"""How many devices a model needs when it is really spread over them: the smallest tensor
parallel degree (then pipeline stages) whose per-device shard fits, with its latency.

Dividing the resident bytes by one device's memory (:class:`hwsim.engine.fit.MemoryFit`'s
``devices_needed``) ignores that tensor parallelism must divide the attention heads (and K/V
heads) and that every device also holds activations and its share of the KV cache; the byte
count is kept next to the answer as ``bytes_devices_needed``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from hwsim.errors import HwsimError
from hwsim.parallel.run import StageFit, parallel_fit
from hwsim.parallel.shard import check_spec, model_shape
from hwsim.parallel.spec import ParallelSpec
from hwsim.parallel.systems import system_for_chip
from hwsim.workload.model import Model

MAX_DEVICES = 256  # the search stops here: beyond it the model is reported as not placed


@dataclass(frozen=True)
class DevicesNeeded:
    devices: int | None  # None: no spec up to MAX_DEVICES fits
    spec: ParallelSpec | None
    latency_s: float | None  # of the parallel run (None: no system preset, or too many devices)
    energy_j: float | None
    per_device: StageFit | None  # the fullest stage's device at that spec
    bytes_devices_needed: int | None  # the old count: resident bytes / one device's memory
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {"devices": self.devices, "spec": None if self.spec is None else
                self.spec.to_dict(), "latency_s": self.latency_s, "energy_j": self.energy_j,
                "per_device": None if self.per_device is None else self.per_device.to_dict(),
                "bytes_devices_needed": self.bytes_devices_needed, "note": self.note}


def candidates(model: Model) -> list[ParallelSpec]:
    """Specs in the order a deployment would try them: tensor parallel over the degrees that
    divide the heads, then the largest of those with 2, 3, ... pipeline stages."""
    shape = model_shape(model)
    if shape is None:
        return [ParallelSpec()]
    tps = [t for t in range(1, MAX_DEVICES + 1) if _valid(model, ParallelSpec(tp=t))]
    out = [ParallelSpec(tp=t) for t in tps]
    top = tps[-1]
    out += [ParallelSpec(tp=top, pp=p) for p in range(2, shape.layers + 1)
            if top * p <= MAX_DEVICES]
    return out


def devices_needed(model: Model, chip: Any, batch: int, *, resident: str = "all",
                   read_bytes: float | None = None,
                   bytes_devices_needed: int | None = None) -> DevicesNeeded:
    """The smallest spec whose every device fits, and its latency on the chip's system.

    ``resident="active"`` scales each device's weights by ``read_bytes / weight_bytes`` (only
    what one inference reads stays resident, as in :func:`hwsim.engine.fit.offchip_fit`)."""
    scale = 1.0
    if resident == "active" and read_bytes is not None and model.weight_bytes:
        scale = min(1.0, read_bytes / model.weight_bytes)
    for spec in candidates(model):
        fits = [dataclasses.replace(f, weights_bytes=f.weights_bytes * scale)
                for f in parallel_fit(model, chip, spec, batch)]
        if all(f.fits for f in fits):
            worst = max(fits, key=lambda f: f.weights_bytes + f.kv_cache_bytes
                        + f.activation_bytes)
            lat, energy, note = _latency(model, chip, spec, batch)
            return DevicesNeeded(spec.devices, spec, lat, energy, worst, bytes_devices_needed,
                                 note)
    return DevicesNeeded(None, None, None, None, None, bytes_devices_needed,
                         f"no tensor/pipeline split up to {MAX_DEVICES} devices fits")


def _valid(model: Model, spec: ParallelSpec) -> bool:
    try:
        check_spec(model, spec)
    except HwsimError:
        return False
    return True


def _latency(model: Model, chip: Any, spec: ParallelSpec,
             batch: int) -> tuple[float | None, float | None, str]:
    from hwsim.engine.simulate import simulate

    if spec.single:
        r = simulate(model, chip, batch=batch)
        return r.total.latency_s, r.total.energy_j, "one device"
    system = system_for_chip(chip.name)
    if system is None:
        return None, None, f"no system preset joins {chip.name} devices: no latency"
    if spec.devices > system.devices:
        return None, None, (f"{spec.devices} devices exceed {system.name}'s {system.devices}: "
                            "several systems (not modelled), no latency")
    r = simulate(model, chip, batch=batch, parallel=spec)
    return r.total.latency_s, r.total.energy_j, f"on {system.name}"
