"""Sensitivity: change one thing, re-simulate the check, and see whether its verdict flips.

The one thing is a chip feature (``chip_overrides``: zero-skipping, gather, weights on-chip), the
batch, the sequence length, the density, what must stay resident, or an extra sparsity override.
A list of values gives one variant per value; the report names the values at which the verdict
differs from the unchanged check's.
"""

from __future__ import annotations

from typing import Any

from hwsim.claims.scenarios import run_check
from hwsim.claims.sim import Sim
from hwsim.claims.verdict import Point, check_verdict
from hwsim.config.claims import Check, Sensitivity

KINDS = ["accelerator", "gpu", "mcu"]


def variants(check: Check, s: Sensitivity) -> list[tuple[Any, Check]]:
    """(value shown, changed check) for each variant of ``s``."""
    if s.chip_overrides is not None:
        merged = {t: dict(v) for t, v in check.chip_overrides.items()}
        for target, fields in s.chip_overrides.items():
            merged[target] = merged.get(target, {}) | dict(fields)
        return [("changed", check.model_copy(update={"chip_overrides": merged}))]
    if s.batch is not None:
        return [(b, check.model_copy(update={"batch": [b], "batch_kinds": KINDS}))
                for b in s.batch]
    if s.seq is not None:
        return [(q, check.model_copy(update={"seq": [q]})) for q in s.seq]
    if s.density is not None:
        if check.density is None:
            raise ValueError(f"sensitivity '{s.id}' sets density, but check '{check.id}' has "
                             "no density axis")
        return [(d, check.model_copy(update={"density": check.density.model_copy(
            update={"values": [d]})})) for d in s.density]
    if s.resident is not None:
        return [(s.resident, check.model_copy(update={"resident": s.resident}))]
    assert s.sparsity is not None
    cand = check.candidate.model_copy(update={"sparsity": [*check.candidate.sparsity,
                                                           *s.sparsity]})
    return [("changed", check.model_copy(update={"candidate": cand}))]


def run_sensitivity(check: Check, base_verdict: str, s: Sensitivity, sim: Sim) -> dict[str, Any]:
    rows = []
    for value, changed in variants(check, s):
        points = run_check(changed, sim)
        verdict, conditions = check_verdict(points)
        rows.append({"value": value, "verdict": verdict, "conditions": conditions,
                     **_range(points)})
    flips = [r["value"] for r in rows if r["verdict"] != base_verdict]
    return {"id": s.id, "label": s.label, "check": check.id, "base_verdict": base_verdict,
            "variants": rows, "flips": bool(flips), "flips_at": flips}


def _range(points: list[Point]) -> dict[str, float | None]:
    values = [p.value for p in points if p.value is not None]
    return {"min": min(values) if values else None, "max": max(values) if values else None}
