"""Simulation results: per-op rows and totals, exported as one stable JSON document.

Field names carry units; ``to_dict()`` is exactly the CLI's ``--json`` document and the README's
glossary (``hwsim glossary``) documents every field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hwsim import __version__
from hwsim.accuracy.base import Accuracy

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class OpResult:
    name: str
    kind: str
    macs: int
    compute_cycles: float
    stall_cycles: float
    cycles: float
    latency_s: float
    energy_j: float
    energy_breakdown_j: dict[str, float]
    utilization: float
    mapping_efficiency: float
    bytes: dict[str, float]
    bottleneck: str
    mapping: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "macs": self.macs,
            "cycles": self.cycles, "compute_cycles": self.compute_cycles,
            "stall_cycles": self.stall_cycles, "latency_s": self.latency_s,
            "energy_j": self.energy_j, "energy_breakdown_j": dict(self.energy_breakdown_j),
            "utilization": self.utilization, "mapping_efficiency": self.mapping_efficiency,
            "bytes": dict(self.bytes), "bottleneck": self.bottleneck,
            "mapping": dict(self.mapping),
        }


@dataclass(frozen=True)
class Total:
    cycles: float
    compute_cycles: float
    stall_cycles: float
    latency_s: float
    energy_j: float
    energy_breakdown_j: dict[str, float]
    macs: int
    utilization: float
    area_mm2: float
    area_breakdown_mm2: dict[str, float]
    bytes: dict[str, float]
    static_power_w: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "cycles": self.cycles, "compute_cycles": self.compute_cycles,
            "stall_cycles": self.stall_cycles, "latency_s": self.latency_s,
            "energy_j": self.energy_j, "energy_breakdown_j": dict(self.energy_breakdown_j),
            "macs": self.macs, "utilization": self.utilization, "area_mm2": self.area_mm2,
            "area_breakdown_mm2": dict(self.area_breakdown_mm2), "bytes": dict(self.bytes),
            "static_power_w": self.static_power_w,
        }


@dataclass(frozen=True)
class Result:
    """What one ``simulate`` call returns."""

    chip: str
    chip_kind: str
    model: str
    batch: int
    fidelity: str
    clock_hz: float
    total: Total
    ops: tuple[OpResult, ...]
    inputs: dict[str, Any]
    provenance: dict[str, Any]
    vs_dense: dict[str, float] | None = None  # sparse / dense-twin ratios (compare_dense)
    dense_total: Total | None = None
    distribution: dict[str, Any] | None = None  # cycle fidelity with samples: percentiles
    timelines: dict[int, Any] | None = None  # cycle fidelity: per-op event timelines (not JSON)
    accuracy: Accuracy | None = None  # with provenance; "unknown" (and why) when no source
    # Many devices (hwsim.parallel.run): spec, per-device memory fit, stages, bubble and every
    # collective's time and energy; None for a single-device run.
    parallel: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON document (the CLI's ``--json``)."""
        return {
            "hwsim_version": __version__,
            "inputs": self.inputs,
            "fidelity": self.fidelity,
            "batch": self.batch,
            "clock_hz": self.clock_hz,
            "total": self.total.to_dict(),
            "ops": [op.to_dict() for op in self.ops],
            "provenance": self.provenance,
        } | ({"vs_dense": dict(self.vs_dense), "dense_total": self.dense_total.to_dict()}
             if self.vs_dense is not None and self.dense_total is not None else {}) | (
            {"distribution": self.distribution} if self.distribution is not None else {}) | (
            {"accuracy": self.accuracy.to_dict()} if self.accuracy is not None else {}) | (
            {"parallel": self.parallel} if self.parallel is not None else {})

    def to_dataframe(self) -> pd.DataFrame:
        """One row per op; nested dicts flattened to ``energy_j.mac``, ``bytes.offchip``..."""
        import pandas as pd  # here, not at import: pandas is slow to import

        rows = []
        for op in self.ops:
            row: dict[str, Any] = {k: v for k, v in op.to_dict().items()
                                   if not isinstance(v, dict)}
            row.update({f"energy_j.{k}": v for k, v in op.energy_breakdown_j.items()})
            row.update({f"bytes.{k}": v for k, v in op.bytes.items()})
            if self.accuracy is not None:  # model-level: the same on every row, so it travels
                row.update(_accuracy_columns(self.accuracy))
            rows.append(row)
        return pd.DataFrame(rows)


def _accuracy_columns(acc: Accuracy) -> dict[str, Any]:
    ci = acc.ci or (None, None)
    return {"accuracy.value": acc.value, "accuracy.metric": acc.metric,
            "accuracy.provenance": acc.provenance, "accuracy.source": acc.source,
            "accuracy.ci_low": ci[0], "accuracy.ci_high": ci[1],
            "accuracy.extrapolated": acc.extrapolated, "accuracy.density": acc.density}
