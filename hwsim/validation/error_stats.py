"""The one summary every validation table prints for a group of relative errors: how many,
median |error|, signed median, optionally mean |error|, and the target with its verdict."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

NO_TARGET = object()  # the group has no target column at all (not "target: None")


def error_stats(errors: Sequence[float], *, target: float | object | None = NO_TARGET,
                mean: bool = False) -> dict[str, Any]:
    """``rows``, ``median_abs_error``, ``median_error`` (negative: hwsim below the measurement),
    ``mean_abs_error`` when ``mean``, then ``target`` and ``met`` unless ``target`` is left out
    (``met`` is None for a group whose target is None: a diagnostic)."""
    if not errors:
        raise ValueError("no errors to summarise")
    median = statistics.median(abs(e) for e in errors)
    out: dict[str, Any] = {"rows": len(errors), "median_abs_error": median,
                           "median_error": statistics.median(errors)}
    if mean:
        out["mean_abs_error"] = statistics.fmean(abs(e) for e in errors)
    if target is not NO_TARGET:
        out["target"] = target
        out["met"] = None if target is None else median <= target  # type: ignore[operator]
    return out
