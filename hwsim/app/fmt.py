"""Friendly units at the edge (DESIGN.md §5): SI values in, short strings out. The tests format
the API's numbers with these same functions and compare the strings the page shows."""

from __future__ import annotations

import math

_PREFIXES = ((1e0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"))


def si(value: float, unit: str, digits: int = 4) -> str:
    """``0.004669 J`` -> ``"4.669 mJ"`` (``digits`` significant digits)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if value == 0:
        return f"0 {unit}"
    mag = abs(value)
    if mag >= 1e3:
        for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
            if mag >= scale:
                return f"{value / scale:.{digits}g} {prefix}{unit}"
    for scale, prefix in _PREFIXES:
        if mag >= scale:
            return f"{value / scale:.{digits}g} {prefix}{unit}"
    return f"{value:.{digits}g} {unit}"


def seconds(value: float) -> str:
    return si(value, "s")


def joules(value: float) -> str:
    return si(value, "J")


def area(value_mm2: float) -> str:
    return "n/a" if not value_mm2 else f"{value_mm2:.4g} mm²"


def ratio(value: float) -> str:
    """A sparse/dense ratio: ``0.6787`` -> ``"0.679×"``."""
    return f"{value:.3g}×"


def delta_pct(value: float, baseline: float) -> str | None:
    """Relative change vs the first chip, for ``st.metric``'s delta."""
    if not baseline or not math.isfinite(value) or not math.isfinite(baseline):
        return None
    r = value / baseline
    if r >= 2.0:
        return f"+{(r - 1.0) * 100:.0f} % ({r:.3g}× the first chip)"
    if r <= 0.5:
        return f"-{(1.0 - r) * 100:.1f} % ({1.0 / r:.3g}× below the first chip)"
    return f"{(r - 1.0) * 100:+.1f} % vs first chip"


def accuracy_value(value: float | None, metric: str) -> str:
    if value is None:
        return "unknown"
    if metric.endswith("_pct"):
        return f"{value:.2f} %"
    if metric.endswith("perplexity"):
        return f"{value:.4g} ppl"
    return f"{value * 100:.2f} %" if 0.0 <= value <= 1.0 else f"{value:.4g}"
