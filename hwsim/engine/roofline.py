"""Roofline ceilings of a chip, as its backend reads them from the spec fields."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Roofline:
    peak_macs_per_s: float
    bw_bytes_per_s: float
    byte_level: str  # the Result.bytes key the memory roof applies to
    peak_source: str  # the fields the roofs come from, shown under the chart
    bw_source: str

    @property
    def ridge_macs_per_byte(self) -> float:
        return self.peak_macs_per_s / self.bw_bytes_per_s
