"""The fitting protocol every GPU constant goes through: a problem, a fit, a leave-one-GPU-out.

A :class:`FitProblem` names its free constants (:class:`Param`, with bounds and units), its
measured rows (each names the GPU preset, the measured value in seconds or watts, and its
source) and a ``predict(values, row)`` callable. :func:`fit` minimises the residuals
``log(predicted / measured)`` with :func:`scipy.optimize.least_squares` under a robust
``soft_l1`` loss, so one odd measurement bends the constants less than a squared loss would,
and ratios (not absolute seconds) are what count, so a 10 µs kernel weighs as much as a 10 ms
one. The start is each parameter's ``initial`` value and the solver has no random element, so a
refit returns the same constants. :func:`leave_one_gpu_out` refits without each GPU in turn and
predicts that GPU's rows with the constants it never saw, the protocol issue 17 asks
``hwsim validate gpu`` to report.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

__all__ = ["FitProblem", "FitResult", "LogoResult", "Param", "fit", "leave_one_gpu_out",
           "unfitted_params", "wants_write"]

# Residuals are log ratios; soft_l1 is quadratic below f_scale and linear above it, so rows
# off by more than ~10 % pull with a bounded weight instead of dominating the fit.
LOSS = "soft_l1"
F_SCALE = 0.1


@dataclass(frozen=True)
class Param:
    """One fitted constant: its starting value, bounds and unit."""

    name: str
    initial: float
    lower: float
    upper: float
    unit: str
    description: str

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("Param needs a name")
        if any(math.isnan(v) for v in (self.initial, self.lower, self.upper)):
            raise ValueError(f"Param {self.name!r}: initial/lower/upper must not be NaN")
        if not self.lower < self.upper:
            raise ValueError(f"Param {self.name!r}: lower ({self.lower}) must be below "
                             f"upper ({self.upper})")
        if not self.lower <= self.initial <= self.upper:
            raise ValueError(f"Param {self.name!r}: initial {self.initial} outside "
                             f"[{self.lower}, {self.upper}]")
        if not math.isfinite(self.initial):
            raise ValueError(f"Param {self.name!r}: initial must be finite")


Predict = Callable[[Mapping[str, float], Mapping[str, object]], float]
Depends = Callable[[Mapping[str, object]], frozenset[str]]


@dataclass(frozen=True)
class FitProblem:
    """Constants to fit, the measured rows to fit them on, and the model that predicts a row.

    Every row is a mapping with at least ``"preset"`` (GPU preset name), ``"measured"`` (a
    positive finite float, seconds or watts) and ``"source"`` (file and row, or a citation);
    anything else in it is for ``predict``.
    """

    name: str
    params: tuple[Param, ...]
    rows: tuple[Mapping[str, object], ...]
    predict: Predict
    # The parameters a row's prediction depends on (None: every one). A fit then recomputes a
    # row only when one of them moves, so a finite-difference step in a constant that only
    # some rows feel costs only those rows (checked per problem by a test that moves the others).
    depends: Depends | None = None

    def __post_init__(self) -> None:
        if not self.params:
            raise ValueError(f"fit problem {self.name!r} has no parameters")
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"fit problem {self.name!r}: duplicate parameter names {names}")
        check_rows(self.name, self.rows)


@dataclass(frozen=True)
class FitResult:
    """Fitted constants, their median |predicted/measured - 1| (a fraction) on the fitted rows,
    how many rows, and the distinct sources of those rows (so the constants name their data)."""

    values: dict[str, float]
    median_abs_error: float
    rows: int
    fitted_on: tuple[str, ...]


@dataclass(frozen=True)
class LogoResult:
    """Constants fitted without one GPU, and the median |error| (a fraction) they give on that
    GPU's ``rows`` rows. ``unfitted`` names the constants no other GPU's row moves (only this
    GPU's rows fit them): then nothing is fitted or scored (``values`` empty,
    ``median_abs_error`` None), since the prediction would rest on their arbitrary start."""

    values: dict[str, float]
    median_abs_error: float | None
    rows: int
    unfitted: tuple[str, ...] = ()


def _row_name(problem: str, index: int, row: Mapping[str, object]) -> str:
    source = row.get("source") if isinstance(row, Mapping) else None
    return f"fit problem {problem!r} row {index}" + (f" ({source})" if source else "")


def check_rows(problem: str, rows: Sequence[Mapping[str, object]]) -> None:
    """Raise ValueError naming the first row without a preset, a positive finite measured value
    or a source."""
    for i, row in enumerate(rows):
        where = _row_name(problem, i, row)
        if not isinstance(row, Mapping):
            raise ValueError(f"{where}: a row must be a mapping, got {type(row).__name__}")
        preset = row.get("preset")
        if not isinstance(preset, str) or not preset:
            raise ValueError(f"{where}: needs a 'preset' (GPU preset name), got {preset!r}")
        source = row.get("source")
        if not isinstance(source, str) or not source:
            raise ValueError(f"{where}: needs a 'source' naming where the measurement is from")
        measured = row.get("measured")
        if (isinstance(measured, bool) or not isinstance(measured, (int, float))
                or not math.isfinite(measured) or measured <= 0):
            raise ValueError(f"{where}: 'measured' must be a positive finite number "
                             f"(seconds or watts), got {measured!r}")


def _values(problem: FitProblem, x: Sequence[float]) -> dict[str, float]:
    return {p.name: float(v) for p, v in zip(problem.params, x, strict=True)}


def _predict_one(problem: FitProblem, values: Mapping[str, float], index: int,
                 row: Mapping[str, object]) -> float:
    pred = problem.predict(values, row)
    if not isinstance(pred, (int, float, np.floating)) or not math.isfinite(pred) or pred <= 0:
        raise ValueError(f"{_row_name(problem.name, index, row)}: predict returned {pred!r} "
                         f"(needs a positive finite value) with {dict(values)}")
    return float(pred)


def _predictions(problem: FitProblem, values: Mapping[str, float],
                 rows: Sequence[Mapping[str, object]]) -> np.ndarray:
    return np.array([_predict_one(problem, values, i, row) for i, row in enumerate(rows)])


def _measured(rows: Sequence[Mapping[str, object]]) -> np.ndarray:
    return np.array([float(r["measured"]) for r in rows])  # type: ignore[arg-type]


def median_abs_error(problem: FitProblem, values: Mapping[str, float],
                     rows: Sequence[Mapping[str, object]]) -> float:
    """Median |predicted/measured - 1| of ``rows`` under ``values`` (a fraction)."""
    if not rows:
        raise ValueError(f"fit problem {problem.name!r}: no rows to score")
    ratio = _predictions(problem, values, rows) / _measured(rows)
    return float(np.median(np.abs(ratio - 1.0)))


def _dependencies(problem: FitProblem,
                  rows: Sequence[Mapping[str, object]]) -> list[tuple[str, ...]]:
    """Per row, the names of the parameters its prediction depends on, in parameter order."""
    names = tuple(p.name for p in problem.params)
    if problem.depends is None:
        return [names] * len(rows)
    out = []
    for i, row in enumerate(rows):
        wanted = problem.depends(row)
        unknown = set(wanted) - set(names)
        if unknown:
            raise ValueError(f"{_row_name(problem.name, i, row)}: depends on unknown "
                             f"parameters {sorted(unknown)} (parameters: {list(names)})")
        out.append(tuple(n for n in names if n in wanted))
    return out


def fit(problem: FitProblem, rows: Sequence[Mapping[str, object]] | None = None) -> FitResult:
    """Fit ``problem``'s constants on ``rows`` (default: all of the problem's rows)."""
    use = tuple(problem.rows if rows is None else rows)
    if not use:
        raise ValueError(f"fit problem {problem.name!r}: no rows to fit on")
    check_rows(problem.name, use)
    log_measured = np.log(_measured(use))
    deps = _dependencies(problem, use)
    # Predictions by (row, the values of the parameters it depends on): a step in one
    # parameter recomputes only the rows that depend on it.
    known: dict[tuple[int, tuple[float, ...]], float] = {}
    lower = np.array([p.lower for p in problem.params])
    upper = np.array([p.upper for p in problem.params])
    x0 = np.array([p.initial for p in problem.params])
    # Scale each step to the parameter's own magnitude so a 1e-6 s launch cost and a 0.8
    # efficiency move alike; fall back to the bound range (or 1) for a zero start.
    span = np.where(np.isfinite(upper - lower), upper - lower, 1.0)
    x_scale = np.where(x0 != 0, np.abs(x0), np.maximum(span * 1e-3, 1e-12))

    def residuals(x: np.ndarray) -> np.ndarray:
        values = _values(problem, x)
        pred = np.empty(len(use))
        for i, row in enumerate(use):
            key = (i, tuple(values[n] for n in deps[i]))
            if key not in known:
                known[key] = _predict_one(problem, values, i, row)
            pred[i] = known[key]
        return np.log(pred) - log_measured

    sol = least_squares(residuals, x0, bounds=(lower, upper), loss=LOSS, f_scale=F_SCALE,
                        x_scale=x_scale, method="trf")
    values = _values(problem, sol.x)
    sources = tuple(dict.fromkeys(str(r["source"]) for r in use))
    return FitResult(values=values, median_abs_error=median_abs_error(problem, values, use),
                     rows=len(use), fitted_on=sources)


def unfitted_params(problem: FitProblem, rows: Sequence[Mapping[str, object]]) -> tuple[str, ...]:
    """The parameters no row of ``rows`` responds to: moving one from its start halfway to
    either bound (the others at their starts) leaves every prediction unchanged. A fit on these
    rows cannot set them (a GPU-family constant whose family has no row here). Both directions,
    since a row can sit on another limit on one side (a compute efficiency above the point where
    memory binds)."""
    start = {p.name: p.initial for p in problem.params}
    base: dict[int, float] = {}  # predictions at the start, computed as the rows are reached

    def moves(values: Mapping[str, float]) -> bool:
        # Stops at the first row that responds, so a constant most rows move costs a few rows.
        for i, row in enumerate(rows):
            if i not in base:
                base[i] = float(_predictions(problem, start, (row,))[0])
            moved = float(_predictions(problem, values, (row,))[0])
            if not math.isclose(moved, base[i], rel_tol=1e-9, abs_tol=0.0):
                return True
        return False

    return tuple(p.name for p in problem.params
                 if not any(moves(start | {p.name: (p.initial + bound) / 2.0})
                            for bound in (p.lower, p.upper)))


def leave_one_gpu_out(problem: FitProblem) -> dict[str, LogoResult]:
    """For every GPU preset in the rows: fit on the other GPUs' rows, score on this GPU's (not
    possible, and reported as such, where only this GPU's rows move a constant)."""
    presets = sorted({str(r["preset"]) for r in problem.rows})
    if len(presets) < 2:
        raise ValueError(f"fit problem {problem.name!r}: leave-one-GPU-out needs rows from at "
                         f"least two GPU presets, has {presets}")
    out: dict[str, LogoResult] = {}
    for preset in presets:
        held = [r for r in problem.rows if r["preset"] == preset]
        train = [r for r in problem.rows if r["preset"] != preset]
        unfitted = unfitted_params(problem, train)
        if unfitted:
            out[preset] = LogoResult(values={}, median_abs_error=None, rows=len(held),
                                     unfitted=unfitted)
            continue
        fitted = fit(problem, train)
        out[preset] = LogoResult(values=fitted.values,
                                 median_abs_error=median_abs_error(problem, fitted.values, held),
                                 rows=len(held))
    return out


def wants_write(doc: str | None, argv: list[str] | None, target: str) -> bool:
    """A fit module's command line: ``--write`` puts the fitted values into ``target``."""
    ap = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help=f"write the values into {target}")
    return bool(ap.parse_args(argv).write)
