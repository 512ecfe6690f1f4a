"""The roofline chart's data: the chip's ceilings from its backend
(:meth:`hwsim.engine.backend.Backend.roofline`, read from spec fields, no cost model) and the
ops placed under them.

An op sits at x = MACs per byte at the roof's level (its ``bytes`` there, from the Result) and
y = MACs / latency_s. The roofs are peaks: an op below them is held back by something the
simulator names in its ``bottleneck`` column (launch overhead, vector unit, mapping).
"""

from __future__ import annotations

from typing import Any

from hwsim.engine.roofline import Roofline


def roofline(chip: Any, dtype: str = "int8") -> Roofline:
    """Roofs of ``chip`` (any kind), from its backend."""
    from hwsim.engine.backend import backend_for

    return backend_for(chip).roofline(chip, dtype)


def op_points(result: Any, level: str) -> list[dict[str, Any]]:
    """Ops with MACs placed on the roofline: intensity (MACs/byte at ``level``) and achieved
    MAC/s, both from the Result's per-op rows."""
    out = []
    for op in result.ops:
        moved = op.bytes.get(level, 0.0)
        if op.macs <= 0 or op.latency_s <= 0 or moved <= 0:
            continue
        out.append({"name": op.name, "kind": op.kind, "bottleneck": op.bottleneck,
                    "intensity_macs_per_byte": op.macs / moved,
                    "achieved_macs_per_s": op.macs / op.latency_s, "latency_s": op.latency_s})
    return out
