"""How a model is spread over devices: tensor, pipeline and expert parallel degrees.

``devices = tp * pp * ep``. ``tp`` shards every layer's attention heads and FFN GEMMs
(Megatron-LM: column- then row-parallel, one all-reduce after attention and one after the FFN);
``pp`` cuts the layers into stages that pass activations on (send/recv) and overlap
micro-batches; ``ep`` is expert parallelism with data-parallel attention (DeepSeek-V3 inference,
SGLang's "DP attention"): the batch is split over ``ep`` groups of ``tp`` devices for the dense
parts, each device holds ``experts / ep`` experts, and an all-to-all dispatches every token to
its experts' devices and another combines the outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hwsim.errors import input_error

MAX_DEGREE = 4096  # no published deployment comes near; a bigger number is a typo
KEYS = ("tp", "pp", "ep", "microbatches")


@dataclass(frozen=True)
class ParallelSpec:
    """Parallel degrees. ``microbatches`` (pipeline only): how many micro-batches the batch is
    cut into; None: ``min(batch, pp)``, the fewest that keep every stage busy in steady state."""

    tp: int = 1
    pp: int = 1
    ep: int = 1
    microbatches: int | None = None

    def __post_init__(self) -> None:
        for name in ("tp", "pp", "ep"):
            _check_degree(name, getattr(self, name))
        if self.microbatches is not None:
            _check_degree("microbatches", self.microbatches)

    @property
    def devices(self) -> int:
        """Devices the spec occupies: one per (tp rank, pp stage, ep group)."""
        return self.tp * self.pp * self.ep

    @property
    def single(self) -> bool:
        return self.devices == 1

    def to_dict(self) -> dict[str, Any]:
        return {"tp": self.tp, "pp": self.pp, "ep": self.ep, "microbatches": self.microbatches,
                "devices": self.devices}

    def microbatches_for(self, batch: int) -> int:
        """Micro-batches of a ``batch``: the spec's (at most ``batch``) or ``min(batch, pp)``."""
        m = self.microbatches if self.microbatches is not None else min(batch, self.pp)
        if m > batch:
            raise input_error("microbatches", f"{m} micro-batches need a batch of at least {m}",
                              given=m, hint=f"use at most {batch} (the batch)")
        return m


def _check_degree(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise input_error(name, f"{name} must be a whole number >= 1", given=value)
    if value > MAX_DEGREE:
        raise input_error(name, f"{name} is at most {MAX_DEGREE}", given=value)


def parse_parallel(obj: ParallelSpec | Mapping[str, Any] | None) -> ParallelSpec:
    """A ParallelSpec from a spec, a mapping ``{"tp": 8, "pp": 1, "ep": 1}`` or None (one
    device). Unknown keys and bad values are input errors naming the key."""
    if obj is None:
        return ParallelSpec()
    if isinstance(obj, ParallelSpec):
        return obj
    if not isinstance(obj, Mapping):
        raise input_error("parallel", "parallel must be a mapping like {'tp': 8, 'pp': 1, "
                          "'ep': 1}", given=obj)
    unknown = [k for k in obj if k not in KEYS]
    if unknown:
        raise input_error("parallel", f"unknown key {unknown[0]!r}", given=dict(obj),
                          hint="keys: " + ", ".join(KEYS))
    return ParallelSpec(**{k: obj[k] for k in KEYS if k in obj and obj[k] is not None})


def resolve_devices(spec: ParallelSpec, devices: int | None) -> ParallelSpec:
    """Reconcile ``devices`` with the spec: alone it means ``tp = devices``; with a spec that
    sets degrees it must equal ``tp * pp * ep``."""
    if devices is None:
        return spec
    _check_degree("devices", devices)
    if spec.single and devices > 1:
        return ParallelSpec(tp=devices, microbatches=spec.microbatches)
    if devices != spec.devices:
        raise input_error("devices", f"devices={devices} does not match tp*pp*ep = "
                          f"{spec.tp}*{spec.pp}*{spec.ep} = {spec.devices}", given=devices,
                          hint=f"use --devices {spec.devices}, or change --tp/--pp/--ep")
    return spec
