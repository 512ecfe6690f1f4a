"""Memory fit, one rule for every kind: what must stay resident (weights, the KV cache and the
live activations) against the memory that holds it. Each backend says which memories those are:
an MCU's flash and SRAM, a GPU's or accelerator's off-chip DRAM/HBM.

``resident="all"`` keeps every weight resident; ``resident="active"`` counts only the weight
bytes one inference reads (the what-if in which inactive weights live elsewhere, e.g. host
memory, which hwsim does not model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hwsim.errors import input_error
from hwsim.workload.memory import kv_cache_bytes, peak_activation_bytes
from hwsim.workload.model import Model

RESIDENCY = ("all", "active")


@dataclass(frozen=True)
class MemoryFit:
    fits: bool | None  # None: the chip gives no capacity to check against
    resident_bytes: float
    capacity_bytes: float | None
    # chips needed to hold the bytes (memory only); hwsim.parallel.fit.devices_needed is the
    # count with the parallel model (tp dividing the heads, per-device shards), which the
    # claims use; this byte count is kept as its ``bytes_devices_needed`` detail
    devices_needed: int | None
    summary: str  # one line for tables and study rows
    detail: dict[str, Any]


def check_residency(resident: str) -> None:
    if resident not in RESIDENCY:
        raise input_error("resident", "unknown residency", given=resident,
                          hint="use one of: " + ", ".join(RESIDENCY))


def offchip_fit(model: Model, chip: Any, batch: int, *, resident: str,
                read_bytes: float | None) -> MemoryFit:
    """Weights + KV cache + peak live activations against ``chip.offchip.size_bytes``.

    ``read_bytes`` (the off-chip bytes one inference reads) replaces the weights when
    ``resident="active"``."""
    check_residency(resident)
    weights = float(model.weight_bytes)
    if resident == "active":
        if read_bytes is None:
            raise input_error("resident", "'active' residency needs a simulated result",
                              given=resident)
        weights = float(read_bytes)
    kv = kv_cache_bytes(model, batch)
    act, act_op = peak_activation_bytes(model, batch)
    need = weights + kv + act
    detail = {"weights_bytes": weights, "kv_cache_bytes": kv, "activation_bytes": float(act),
              "activation_peak_op": act_op, "resident": resident}
    if read_bytes is not None:
        detail["read_per_inference_bytes"] = float(read_bytes)
    capacity = chip.offchip.size_bytes
    parts = f"weights {weights:,.0f} B + KV cache {kv:,.0f} B + activations {act:,.0f} B"
    if not capacity:
        return MemoryFit(None, need, None, None,
                         f"{parts}; chip gives no off-chip capacity", detail)
    return MemoryFit(need <= capacity, need, float(capacity), max(1, math.ceil(need / capacity)),
                     f"{parts} of {capacity:,.0f} B off-chip", detail)
