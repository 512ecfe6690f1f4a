"""A point's derived metrics and its constraint verdict.

Accuracy is taken from the simulation result with its provenance and never guessed: a point
without a known accuracy stores NULL with provenance "unknown", and a constraint that cannot be
decided leaves the point's feasibility unknown (NULL), not true.
"""

from __future__ import annotations

from typing import Any

from hwsim.config.study import Constraint

OBJECTIVE_COLUMNS = ("latency_s", "energy_j", "area_mm2", "edp", "power_w", "accuracy")


def derived(latency_s: float, energy_j: float) -> dict[str, float]:
    """EDP (J*s) and mean power over the inference (W)."""
    return {"edp": energy_j * latency_s,
            "power_w": energy_j / latency_s if latency_s > 0 else float("nan")}


def accuracy_fields(result: Any) -> dict[str, Any]:
    """Accuracy columns from a Result (``Result.accuracy`` when the provider gave one)."""
    acc = getattr(result, "accuracy", None) if result is not None else None
    if acc is None or getattr(acc, "value", None) is None:
        reason = getattr(acc, "source", "") or "no accuracy source for this model and sparsity"
        return {"accuracy": None, "accuracy_metric": None, "accuracy_provenance": "unknown",
                "accuracy_source": reason, "accuracy_ci_low": None, "accuracy_ci_high": None,
                "accuracy_dense": None, "accuracy_loss_vs_dense": None,
                "accuracy_dense_source": None}
    ci = getattr(acc, "ci", None)
    dense = getattr(acc, "dense_value", None)
    return {"accuracy": float(acc.value), "accuracy_metric": str(acc.metric),
            "accuracy_provenance": str(acc.provenance), "accuracy_source": str(acc.source),
            "accuracy_ci_low": float(ci[0]) if ci else None,
            "accuracy_ci_high": float(ci[1]) if ci else None,
            # the dense twin's accuracy (same network without sparsity) and the loss to it
            "accuracy_dense": float(dense) if dense is not None else None,
            "accuracy_loss_vs_dense": float(dense) - float(acc.value) if dense is not None
            else None,
            "accuracy_dense_source": str(getattr(acc, "dense_source", "")) or None}


def verdict(row: dict[str, Any], constraints: list[Constraint]) -> tuple[bool | None, str]:
    """(feasible, violations): False if any bound is broken, None if one cannot be decided."""
    broken: list[str] = []
    unknown: list[str] = []
    if row.get("error"):
        return False, "error: " + str(row["error"])
    for c in constraints:
        if c.metric == "fits":
            fits = row.get("fits")
            if fits is None:
                unknown.append("fits unknown (" + str(row.get("fit_detail") or "no capacity")
                               + ")")
            elif not fits:
                broken.append("does not fit (" + str(row.get("fit_detail") or "") + ")")
            continue
        value = row.get(c.metric)
        if value is None or value != value:  # None or NaN
            unknown.append(f"{c.metric} unknown")
            continue
        if c.max is not None and value > c.max:
            broken.append(f"{c.metric} {value:.4g} > {c.max:.4g}")
        if c.min is not None and value < c.min:
            broken.append(f"{c.metric} {value:.4g} < {c.min:.4g}")
    text = "; ".join(broken + unknown)
    if broken:
        return False, text
    return (None if unknown else True), text
