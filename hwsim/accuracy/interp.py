"""Reading a published (or user) curve at a density: monotone PCHIP between points, never beyond.

Between published points the value is scipy's ``PchipInterpolator`` (Fritsch-Carlson piecewise
cubic Hermite): it passes through every point and is monotone wherever the data are, so it never
invents a dip or bump between two measurements. Outside the published range there is no data:
the value of the nearest published end point is returned, flagged ``extrapolated`` with a note --
never a silently extended polynomial.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy.interpolate import PchipInterpolator

EXACT_ATOL = 1e-12  # a density this close to a published one reads that point itself


@dataclass(frozen=True)
class Reading:
    value: float
    extrapolated: bool
    used: tuple[int, ...]  # indices (into the sorted points) the value comes from
    note: str


def sorted_points(densities: Sequence[float], values: Sequence[float]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(densities ascending, values, original index of each) -- PCHIP needs increasing x."""
    x = np.asarray(densities, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    return x[order], np.asarray(values, dtype=np.float64)[order], order


def interpolator(x: np.ndarray, y: np.ndarray) -> PchipInterpolator:
    from scipy.interpolate import PchipInterpolator  # here: scipy is slow to import

    return PchipInterpolator(x, y, extrapolate=False)


def read_at(densities: Sequence[float], values: Sequence[float], density: float) -> Reading:
    """The curve's value at ``density`` (``used`` indexes the points as given)."""
    x, y, order = sorted_points(densities, values)
    if len(x) < 2 or np.any(np.diff(x) <= 0):
        raise ValueError("a curve needs at least two points with distinct densities")
    hit = np.flatnonzero(np.abs(x - density) <= EXACT_ATOL)
    if hit.size:
        i = int(hit[0])
        return Reading(float(y[i]), False, (int(order[i]),),
                       f"published point at density {x[i]:.4g}")
    if density < x[0] or density > x[-1]:
        i = 0 if density < x[0] else len(x) - 1
        return Reading(float(y[i]), True, (int(order[i]),),
                       f"density {density:.4g} is outside the published range "
                       f"[{x[0]:.4g}, {x[-1]:.4g}]: this is the nearest published point's "
                       f"value (density {x[i]:.4g}), not an extrapolation")
    value = float(interpolator(x, y)(density))
    hi = int(np.searchsorted(x, density))
    return Reading(value, False, (int(order[hi - 1]), int(order[hi])),
                   f"monotone PCHIP between published densities {x[hi - 1]:.4g} and "
                   f"{x[hi]:.4g}")
