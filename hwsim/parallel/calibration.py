"""Fit and check the interconnect constants on the published collective timings.

``hwsim/data/reference/interconnect/busbw.csv`` (sources in its SOURCES.md) marks each row
``fit``, ``heldout`` or ``excluded``. The model time is linear in the two constants,
``t = steps * alpha + factor * size * (1 / bus_bw)``, so the fit is a weighted linear least
squares on the relative error (each row divided by its measured time): small and large
messages count alike. Rows too small to see the bandwidth (every fit row's size term below
1 % of its time at the preset's bandwidth) fit alpha alone; rows too large to see the latency
(every step term below 1 % at the preset's alpha) fit the bandwidth alone.
"""

from __future__ import annotations

import csv
import statistics
from dataclasses import dataclass

import numpy as np

from hwsim.parallel.collectives import bus_factor, collective_time_s, steps
from hwsim.parallel.systems import load_system
from hwsim.presets import reference_dir

REFERENCE = "busbw.csv"


@dataclass(frozen=True)
class Row:
    system: str
    source: str
    collective: str
    algorithm: str
    ranks: int
    size_bytes: float
    time_s: float
    split: str
    note: str


def load_rows() -> list[Row]:
    path = reference_dir("interconnect") / REFERENCE
    with path.open(newline="", encoding="utf-8") as f:
        return [Row(r["system"], r["source"], r["collective"], r["algorithm"], int(r["ranks"]),
                    float(r["size_bytes"]), float(r["time_us"]) * 1e-6, r["split"], r["note"])
                for r in csv.DictReader(f)]


def fit(system: str, algorithm: str) -> tuple[float | None, float | None, list[Row]]:
    """(alpha_s, bus_bw_bytes_per_s, the rows used); None for a constant the rows cannot
    see."""
    rows = [r for r in load_rows() if r.system == system and r.algorithm == algorithm
            and r.split == "fit"]
    if not rows:
        raise ValueError(f"no fit rows for {system} {algorithm}")
    a = np.array([[steps(r.collective, algorithm, r.ranks) / r.time_s,
                   bus_factor(r.collective, r.ranks) * r.size_bytes / r.time_s] for r in rows])
    preset = load_system(system).interconnect.algorithms[algorithm]
    ones = np.ones(len(rows))
    if max(a[:, 1]) / preset.bus_bw_bytes_per_s < 0.01:  # too small to see the bandwidth
        return float(np.linalg.lstsq(a[:, :1], ones, rcond=None)[0][0]), None, rows
    if max(a[:, 0]) * preset.alpha_s < 0.01:  # too large to see the latency
        return None, float(1.0 / np.linalg.lstsq(a[:, 1:], ones, rcond=None)[0][0]), rows
    (alpha, inv_bw), *_ = np.linalg.lstsq(a, np.ones(len(rows)), rcond=None)
    return float(alpha), float(1.0 / inv_bw), rows


def predicted_s(row: Row) -> float:
    """The system preset's time for a reference row."""
    ic = load_system(row.system).interconnect
    cost = ic.algorithms[row.algorithm]
    return collective_time_s(row.collective, row.size_bytes, row.ranks, alpha_s=cost.alpha_s,
                             bus_bw_bytes_per_s=cost.bus_bw_bytes_per_s,
                             algorithm=row.algorithm)


@dataclass(frozen=True)
class Check:
    row: Row
    predicted_s: float

    @property
    def error(self) -> float:
        """Signed relative error of the predicted time, (predicted - measured) / measured."""
        return self.predicted_s / self.row.time_s - 1.0


def checks(split: str) -> list[Check]:
    return [Check(r, predicted_s(r)) for r in load_rows() if r.split == split]


def summary(split: str = "heldout") -> dict[str, dict[str, float]]:
    """Per system: rows, median and worst |error| of the time on ``split`` rows."""
    out: dict[str, dict[str, float]] = {}
    for system in sorted({c.row.system for c in checks(split)}):
        errs = [abs(c.error) for c in checks(split) if c.row.system == system]
        out[system] = {"rows": len(errs), "median_abs_error": statistics.median(errs),
                       "max_abs_error": max(errs)}
    return out
