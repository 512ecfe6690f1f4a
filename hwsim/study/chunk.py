"""Evaluate a chunk of points into store rows: the vectorised analytic sweep where it applies,
one ``simulate`` call per point otherwise. Pure: same points in, same rows out, on any worker."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hwsim.study.evaluate import evaluate_point, finish
from hwsim.study.points import Point
from hwsim.study.spec import Study, Variant
from hwsim.study.vectorised import try_vectorised


def evaluate_chunk(study: Study, points: list[Point]) -> list[dict[str, Any]]:
    """Rows (one per point, same order) with objectives, constraint verdict and provenance."""
    if study.doc.serving is not None:  # each point is a serving run, never vectorised
        from hwsim.study.serving_eval import evaluate_serving_point

        return [finish(study, p, evaluate_serving_point(study, p)) for p in points]
    groups: dict[tuple[str, Variant], list[int]] = defaultdict(list)
    for i, p in enumerate(points):
        groups[(p.chip, p.variant)].append(i)
    rows: list[dict[str, Any] | None] = [None] * len(points)
    for (chip, variant), idx in groups.items():
        fast = try_vectorised(study, chip, variant, [points[i] for i in idx])
        for j, i in enumerate(idx):
            rows[i] = fast[j] if fast is not None else evaluate_point(study, points[i])
    return [finish(study, points[i], r) for i, r in enumerate(rows) if r is not None]
