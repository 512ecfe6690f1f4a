"""Does a workload fit a chip's memory, and how many chips would it take?

MCUs: hwsim's own fit (``mapping["fit"]`` of every MCU row: weights vs flash, activation arena
vs SRAM). GPUs and accelerators have no fit check in their engines, so this one compares the
bytes that must stay resident against the off-chip memory's ``size_bytes`` (the GPU preset's
DRAM/HBM capacity): all weights plus the KV cache (``resident="all"``), or only the bytes one
inference reads (``resident="active"``: the what-if in which inactive weights live elsewhere,
e.g. host memory, which hwsim does not model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hwsim.config.chip import McuChip
from hwsim.engine.result import Result
from hwsim.errors import input_error
from hwsim.hardware.chips import AnyChip
from hwsim.workload.model import Model
from hwsim.workload.ops import AttentionOp, MatmulOp


@dataclass(frozen=True)
class MemoryFit:
    resident_bytes: float
    capacity_bytes: float
    fits: bool
    devices_needed: int
    detail: dict[str, Any]


def kv_cache_bytes(model: Model, batch: int) -> float:
    """Keys and values of every attention op for ``batch`` sequences of ``seq_kv`` tokens.

    The K/V width comes from the layer's fused ``<layer>.qkv`` projection (N = d_model +
    2 kv_dim, K = d_model), which knows grouped-query attention; without one, all heads."""
    qkv = {op.name.removesuffix(".qkv"): op for op in model.ops
           if isinstance(op, MatmulOp) and op.name.endswith(".qkv")}
    total = 0.0
    for op in model.ops:
        if not isinstance(op, AttentionOp):
            continue
        proj = qkv.get(op.name.removesuffix(".attn"))
        kv_dim = (proj.n - proj.k) / 2 if proj is not None else op.heads * op.head_dim
        total += 2.0 * op.seq_kv * kv_dim * op.dtype_bytes * batch
    return total


def memory_fit(model: Model, chip: AnyChip, result: Result, batch: int,
               resident: str) -> MemoryFit:
    if isinstance(chip, McuChip):
        return _mcu_fit(model, chip, result, resident)
    capacity = getattr(getattr(chip, "offchip", None), "size_bytes", None)
    if not capacity:
        raise input_error(chip.name, "the chip's off-chip memory has no size_bytes, so a fit "
                          "cannot be checked", field="offchip.size_bytes",
                          hint="set it with chip_overrides or pick a chip with a capacity")
    weights = float(model.weight_bytes)
    kv = kv_cache_bytes(model, batch)
    read = float(result.total.bytes.get("offchip", 0.0))
    need = weights + kv if resident == "all" else read
    return MemoryFit(need, float(capacity), need <= capacity, max(1, math.ceil(need / capacity)),
                     {"weights_bytes": weights, "kv_cache_bytes": kv,
                      "read_per_inference_bytes": read,
                      "resident": resident})


def _mcu_fit(model: Model, chip: McuChip, result: Result, resident: str) -> MemoryFit:
    fit = next((op.mapping["fit"] for op in result.ops if "fit" in op.mapping), None)
    if fit is None:
        raise input_error(chip.name, "the MCU result carries no memory-fit information")
    weights = float(fit["weights_bytes"]) if resident == "all" else float(
        result.total.bytes.get("flash", 0.0))
    weights_fit = weights <= fit["flash_bytes"]
    fits = weights_fit and bool(fit["arena_fit"])
    need = max(weights / fit["flash_bytes"], fit["arena_bytes"] / fit["sram_bytes"])
    return MemoryFit(weights, float(fit["flash_bytes"]), fits, max(1, math.ceil(need)),
                     dict(fit) | {"resident": resident, "model_weight_bytes": model.weight_bytes})
