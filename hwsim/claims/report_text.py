"""Friendly renderings of claim figures, shared by the terminal table and the HTML report."""

from __future__ import annotations

from typing import Any

VERDICT_TEXT = {"holds": "holds", "holds_only_if": "holds only if", "does_not_hold":
                "does not hold", "unverified": "unverified (no honest source)"}


def verdict_text(verdict: str) -> str:
    return VERDICT_TEXT.get(verdict, verdict)


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "fraction":
        return f"{100 * value:.1f} %"
    if unit == "x":
        return f"{value:.3g}x"
    if unit == "bool":
        return "yes" if value >= 1 else "no"
    return f"{value:.3g}"


def claimed_text(f: dict[str, Any]) -> str:
    op = ">=" if f["rule"] == "at_least" else "<="
    text = f"{op} {fmt_value(f['claimed'], f['unit'])}"
    return text + (" (claimed, not verified)" if f.get("claimed_status", "").startswith(
        "claimed") else "")


def simulated_text(f: dict[str, Any]) -> str:
    lo, hi, unit = f["simulated_min"], f["simulated_max"], f["unit"]
    if lo is None:
        return "no honest source"
    if unit == "bool":
        n = len([p for p in f["points"] if p["value"] is not None])
        yes = sum(1 for p in f["points"] if p["value"] == 1.0)
        return f"fits {yes} of {n}"
    if lo == hi:
        return fmt_value(lo, unit)
    return f"{fmt_value(lo, unit)} .. {fmt_value(hi, unit)}"


def figure_cells(f: dict[str, Any]) -> list[str]:
    verdict = verdict_text(f["verdict"])
    if f["verdict"] == "holds_only_if":
        verdict += " " + "; ".join(f["conditions"])
    return [f["figure"], claimed_text(f), simulated_text(f), verdict]
