"""Verdicts from hwsim's numbers, by explicit rules.

A check's scenarios (points) each meet the claimed figure or not:

- ``holds``: met at every point simulated;
- ``holds_only_if``: met at some points; the conditions name the subset (one axis that
  separates met from unmet points - a chip kind, a batch or sequence threshold, a density
  threshold - or the conjunction of two, else the list of points where it is met);
- ``does_not_hold``: met nowhere;
- ``unverified``: no point could be scored (an accuracy figure with no honest source).

A claim's verdict is its weakest scored check (a claim is as strong as its weakest figure).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

VERDICTS = ("holds", "holds_only_if", "does_not_hold")
RANK = {"holds": 2, "holds_only_if": 1, "does_not_hold": 0}
AXES = ("chip_kind", "batch", "seq", "density", "chip")  # most general first
NUMERIC = ("batch", "seq", "density")


@dataclass(frozen=True)
class Point:
    """One scenario's outcome: where (attrs), the metric's value, and whether it meets the
    claim (None: not scorable)."""

    attrs: dict[str, Any]
    value: float | None
    met: bool | None
    detail: dict[str, Any] = field(default_factory=dict)


def meets(value: float, claimed: float, rule: str) -> bool:
    if rule == "at_least":
        return value >= claimed
    if rule == "at_most":
        return value <= claimed
    raise ValueError(f"unknown rule {rule!r}")


def check_verdict(points: Sequence[Point]) -> tuple[str, list[str]]:
    """(verdict, conditions) for one check's points."""
    scored = [p for p in points if p.met is not None]
    if not scored:
        return "unverified", ["no point could be scored (no honest source for this figure)"]
    met = [bool(p.met) for p in scored]
    if all(met):
        return "holds", []
    if not any(met):
        return "does_not_hold", []
    return "holds_only_if", explain([p.attrs for p in scored], met)


def claim_verdict(check_verdicts: Sequence[str]) -> str:
    """The weakest scored check; a claim with no scored check cannot hold."""
    scored = [v for v in check_verdicts if v in RANK]
    if not scored:
        return "does_not_hold"
    return min(scored, key=lambda v: RANK[v])


def explain(attrs: Sequence[dict[str, Any]], met: Sequence[bool]) -> list[str]:
    """Conditions under which exactly the met points are met."""
    axes = [a for a in AXES if len({_key(x.get(a)) for x in attrs}) > 1]
    for axis in axes:
        cond = _single(axis, attrs, met)
        if cond is not None:
            return [cond]
    for a, b in itertools.combinations(axes, 2):
        pa, pb = _members(a, attrs, met), _members(b, attrs, met)
        both = [_key(x.get(a)) in pa and _key(x.get(b)) in pb for x in attrs]
        if both == list(met):
            return [f"{_describe(a, attrs, met)} and {_describe(b, attrs, met)}"]
    listed = [", ".join(f"{k}={x[k]}" for k in AXES if k in x and len(
        {_key(y.get(k)) for y in attrs}) > 1) for x, m in zip(attrs, met, strict=True) if m]
    return ["met only at: " + "; ".join(listed)]


def _key(v: Any) -> Any:
    return "none" if v is None else v


def _members(axis: str, attrs: Sequence[dict[str, Any]], met: Sequence[bool]) -> set[Any]:
    return {_key(x.get(axis)) for x, m in zip(attrs, met, strict=True) if m}


def _single(axis: str, attrs: Sequence[dict[str, Any]], met: Sequence[bool]) -> str | None:
    yes = _members(axis, attrs, met)
    no = {_key(x.get(axis)) for x, m in zip(attrs, met, strict=True) if not m}
    return _describe(axis, attrs, met) if yes.isdisjoint(no) else None


def _describe(axis: str, attrs: Sequence[dict[str, Any]], met: Sequence[bool]) -> str:
    yes = _members(axis, attrs, met)
    no = {_key(x.get(axis)) for x, m in zip(attrs, met, strict=True) if not m} - yes
    numeric = axis in NUMERIC and all(isinstance(v, int | float) for v in yes | no)
    if len(yes) == 1:
        return f"{axis} = {_fmt(next(iter(yes)))}"
    if numeric and no:
        if min(yes) > max(no):
            return f"{axis} >= {_fmt(min(yes))}"
        if max(yes) < min(no):
            return f"{axis} <= {_fmt(max(yes))}"
    values = sorted(yes, key=str)
    return f"{axis} in {{{', '.join(_fmt(v) for v in values)}}}"


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)
