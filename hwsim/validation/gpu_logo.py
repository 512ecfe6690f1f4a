"""Leave-one-GPU-out for ``hwsim validate gpu``: every registered fit problem
(:mod:`hwsim.calibration.problems`) refitted without GPU X, then scored on X's rows.

For each problem: the all-GPU fit (constants and in-sample median |error|) and, per GPU, the
median |error| on its rows of the constants fitted without it (None, with the constants named,
where only that GPU's rows move a constant). Errors are fractions.
"""

from __future__ import annotations

import statistics
from typing import Any

from hwsim.calibration.fit import FitProblem, fit, leave_one_gpu_out
from hwsim.calibration.problems import PROVIDERS, fit_problems


def problem_report(problem: FitProblem) -> dict[str, Any]:
    """One problem's all-GPU fit and its leave-one-GPU-out rows."""
    full = fit(problem)
    logo = leave_one_gpu_out(problem)
    per_gpu = [{"preset": preset, "rows": r.rows, "median_abs_error": r.median_abs_error,
                "values": r.values, "unfitted": list(r.unfitted)} for preset, r in logo.items()]
    scored = [g["median_abs_error"] for g in per_gpu if g["median_abs_error"] is not None]
    return {"problem": problem.name, "rows": len(problem.rows),
            "params": [{"name": p.name, "unit": p.unit, "description": p.description,
                        "lower": p.lower, "upper": p.upper} for p in problem.params],
            "fit": {"values": full.values, "median_abs_error": full.median_abs_error,
                    "rows": full.rows, "sources": len(full.fitted_on)},
            "per_gpu": per_gpu,
            "median_abs_error_over_gpus": statistics.median(scored) if scored else None}


def logo_report(providers: tuple[str, ...] = PROVIDERS) -> dict[str, Any]:
    """The ``leave_one_gpu_out`` section: one entry per registered problem."""
    return {"problems": [problem_report(p) for p in fit_problems(providers)],
            "note": "each GPU's rows predicted with constants fitted on the other GPUs' rows "
                    "of the same problem (fitting data, not the held-out files)"}
