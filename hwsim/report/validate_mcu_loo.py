"""Leave one library or one round out: re-fit the runtime libraries without it, predict it.

A fold drops the fitted latency rows of one library (runtime) or one MLPerf Tiny round, re-fits
every runtime library's three factors (:func:`hwsim.calibration.mcu_runtimes.fit_runtime`) on
what is left, and predicts every compared row of the left-out group. A library left with no
fitting rows is priced as an *unknown runtime*: factors fitted on the pooled remaining rows of
all runtime libraries, unless an earlier version of it is left (:data:`PREVIOUS`), whose
factors it then takes. The two base libraries (``tflm-reference``, v0.5; ``plumerai-2022``,
v1.0: five constants and the M7/M33 core scales) are not re-fitted in their folds; their rows
are reported as in-sample there (``refit: false``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from hwsim.calibration.mcu_runtimes import BASE, RUNTIMES, fit_runtime, predict_ms
from hwsim.engine.mcu.library import CORE_FIELDS, CORE_KERNELS, KIND_FIELDS
from hwsim.report.mcu_rounds import TinyRow, tiny_rows

REFIT = (*RUNTIMES, "cmsis-nn")  # cmsis-nn's one factor is re-fitted as three in a fold
# The version before each versioned runtime: a fold that leaves a version with no fitting rows
# prices it as its predecessor (what a user of a new release would have), else as unknown.
PREVIOUS = {"x-cube-ai-9": "x-cube-ai-8", "x-cube-ai-8": "x-cube-ai-7",
            "plumerai-2023": BASE}


def _theta(factors: dict[str, float]) -> np.ndarray:
    base = np.array([getattr(CORE_KERNELS[BASE], f) for f in CORE_FIELDS])
    per_field = {f: factors[k] for k, fs in KIND_FIELDS.items() for f in fs}
    return base * np.array([per_field[f] for f in CORE_FIELDS])


@lru_cache(maxsize=64)
def _fit(keys: tuple[str, ...]) -> dict[str, float]:
    rows = [r for r in tiny_rows() if r.key in keys]
    return fit_runtime(rows)


def _priced(library: str, fitted: list[TinyRow],
            pooled: tuple[str, ...]) -> tuple[np.ndarray, str]:
    """Constants for ``library`` from the fold's fitting rows, and how they were obtained."""
    lib: str | None = library
    while lib is not None:
        if lib == BASE:
            return np.array([getattr(CORE_KERNELS[BASE], f) for f in CORE_FIELDS]), \
                f"previous version ({BASE})"
        own = tuple(x.key for x in fitted if x.library == lib)
        if own:
            return _theta(_fit(own)), ("own rows left" if lib == library
                                       else f"previous version ({lib})")
        lib = PREVIOUS.get(lib)
    return _theta(_fit(pooled)), "unknown runtime (pooled)"


def _fold(left_out: list[TinyRow], dropped: set[str]) -> list[dict[str, Any]]:
    fitted = [r for r in tiny_rows() if r.latency_role == "fitted" and r.key not in dropped]
    pooled = tuple(r.key for r in fitted if r.library in REFIT)
    out = []
    for r in left_out:
        if r.library not in REFIT:
            t = np.array([getattr(CORE_KERNELS[r.library], f) for f in CORE_FIELDS])
            how, refit = "stored (base library)", False
        else:
            t, how = _priced(r.library, fitted, pooled)
            refit = True
        pred = predict_ms(r, t)
        out.append({"key": r.key, "board": r.board, "library": r.library,
                    "measured": r.latency_ms, "predicted": pred,
                    "error": pred / r.latency_ms - 1, "priced_as": how, "refit": refit})
    return out


def leave_one_out() -> list[dict[str, Any]]:
    """Per fold (library or round): the left-out rows' median |error| and share within 25 %."""
    rows = [r for r in tiny_rows() if r.latency_role != "excluded"]
    folds: list[tuple[str, str, list[TinyRow]]] = (
        [("library", lib, [r for r in rows if r.library == lib])
         for lib in sorted({r.library for r in rows})]
        + [("round", rnd, [r for r in rows if r.round == rnd])
           for rnd in sorted({r.round for r in rows})])
    out = []
    for by, group, left in folds:
        dropped = {r.key for r in left}
        preds = [p for p in _fold(left, dropped) if p["refit"]]
        if not preds:
            out.append({"by": by, "group": group, "rows": 0, "note": "base library: not "
                        "re-fitted"})
            continue
        e = np.abs([p["error"] for p in preds])
        worst = max(preds, key=lambda p: abs(p["error"]))
        out.append({"by": by, "group": group, "rows": len(preds),
                    "median_abs_error": float(np.median(e)),
                    "within_25pct": float(np.mean(e <= 0.25)),
                    "worst": f"{worst['key']} ({100 * worst['error']:+.0f} %)",
                    "note": ", ".join(sorted({p["priced_as"] for p in preds}))})
    return out
