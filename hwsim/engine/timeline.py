"""What every kind's cycle fidelity returns: per-op event timelines and the run they make up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hwsim.engine.result import OpResult, Total


@dataclass
class OpTimeline:
    cycles: float = 0.0
    busy: dict[str, float] = field(default_factory=dict)  # engine -> busy cycles
    slices: list[tuple[str, str, float, float]] = field(default_factory=list)  # track, name,
    # start, end (cycles from the op's start)


@dataclass(frozen=True)
class CycleRun:
    ops: list[OpResult]
    total: Total
    timelines: dict[int, Any]  # op index -> its event timeline (an OpTimeline)
