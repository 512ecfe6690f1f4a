"""``design_of``: the full chip configuration behind a stored point ("load this design")."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hwsim.config.study_serving import is_run_param
from hwsim.errors import input_error
from hwsim.study.spec import Study


def design_of(study: Study, point_row: Mapping[str, Any]) -> dict[str, Any]:
    """The validated chip document (as from a YAML file) of a point of ``study``.

    ``point_row`` is a row of :func:`hwsim.study.read_points` (a dict or pandas Series)."""
    from hwsim.hardware.chips import load_chip

    chip = point_row.get("chip")
    if chip not in study.doc.chips:
        raise input_error("point", "the point's chip is not a base chip of this study",
                          given=chip)
    from hwsim.parallel import is_system, load_system

    if is_system(chip):  # a serving study's system preset: its document (chip + network)
        return load_system(chip).model_dump(mode="json")
    params = json.loads(point_row.get("params_json") or "{}")
    overrides: dict[str, Any] = {}
    for p in study.params_for(chip):
        if p.path in params:
            for path in p.paths:
                if not is_run_param(path):  # parallel.* / serving.* are not chip fields
                    overrides[path] = params[p.path]
    return load_chip(chip, overrides).model_dump(mode="json")
