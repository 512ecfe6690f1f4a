"""User accuracy curves: a small CSV of (density, metric) the user measured or found.

Format (UTF-8 text, at most 1 MiB)::

    # source: our eval of model X on dataset Y, 2026-03   <- optional, becomes the provenance
    density,accuracy
    1.0,0.912
    0.5,0.905
    0.1,0.861

Lines starting with ``#`` are comments. The header names a ``density`` column and the metric
column (the one other column, or the one named by ``metric``). Densities are fractions of active
elements in (0, 1], each at most once; at least two rows. Every problem is reported with the
file, the line and the fix.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from hwsim.accuracy.base import Accuracy, unknown
from hwsim.accuracy.density import effective_density
from hwsim.accuracy.interp import read_at
from hwsim.config.loading import read_small_text
from hwsim.errors import input_error
from hwsim.workload.model import Model

MAX_CURVE_BYTES = 1024 * 1024  # a curve is a few dozen rows; a bigger file is a mistake
MAX_POINTS = 10_000
# A user curve's x axis is the density of whatever the model sparsifies, of any kind whose
# density a spec states.
USER_KINDS = ("topk", "relu", "attention_gate", "nm")
ROW_HINT = "each data row is DENSITY,VALUE, e.g. 0.5,0.91 (density = fraction active, in (0, 1])"


@dataclass(frozen=True)
class UserCurve:
    path: str
    metric: str
    densities: tuple[float, ...]
    values: tuple[float, ...]
    source: str  # from the model YAML, the file's '# source:' line, or the file name


def load_user_curve(path: str | Path, *, metric: str | None = None,
                    source: str | None = None) -> UserCurve:
    """Read and validate a user curve CSV (errors: :class:`hwsim.errors.HwsimError`)."""
    src = str(path)
    text = read_small_text(
        path, max_bytes=MAX_CURVE_BYTES, limited="curve files", not_found="curve file not found",
        not_found_hint="check the path (a model YAML's accuracy.csv is relative to the YAML "
        "file)", hint="a curve is a few dozen density,value rows in a plain-text CSV")
    comment_source: str | None = None
    rows: list[tuple[int, list[str]]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            body = stripped.lstrip("#").strip()
            if body.lower().startswith("source:") and comment_source is None:
                comment_source = body.split(":", 1)[1].strip() or None
            continue
        fields = next(csv.reader(io.StringIO(line)))
        rows.append((lineno, [f.strip() for f in fields]))
    if not rows:
        raise input_error(src, "no header and no data rows", hint="start with a header line "
                          "'density,accuracy' (or density,perplexity), then " + ROW_HINT)
    header_line, header = rows[0]
    density_col, metric_col, metric_name = _columns(header, header_line, metric, src)
    densities: list[float] = []
    values: list[float] = []
    seen: dict[float, int] = {}
    for lineno, fields in rows[1:]:
        if len(fields) != len(header):
            raise input_error(src, f"line {lineno} has {len(fields)} fields; the header has "
                              f"{len(header)}", field=f"line {lineno}", given=",".join(fields),
                              hint=ROW_HINT)
        d = _number(fields[density_col], src, lineno, "density")
        v = _number(fields[metric_col], src, lineno, metric_name)
        if not 0.0 < d <= 1.0:
            raise input_error(src, f"density on line {lineno} is outside (0, 1]",
                              field=f"line {lineno}, density", given=d,
                              hint="density is the fraction of active elements: 0.25 for 75 % "
                              "sparsity; 1 is dense")
        if d in seen:
            raise input_error(src, f"density {d:g} appears on lines {seen[d]} and {lineno}",
                              field=f"line {lineno}, density",
                              hint="give one value per density (average repeated runs first)")
        if _is_perplexity(metric_name) and v <= 0:
            raise input_error(src, f"perplexity on line {lineno} must be > 0",
                              field=f"line {lineno}, {metric_name}", given=v)
        seen[d] = lineno
        densities.append(d)
        values.append(v)
        if len(densities) > MAX_POINTS:
            raise input_error(src, f"more than {MAX_POINTS} data rows",
                              hint="a curve needs a few dozen points at most")
    if len(densities) < 2:
        raise input_error(src, f"{len(densities)} data row(s); a curve needs at least 2",
                          hint="add rows at other densities, e.g. the dense model at 1.0")
    origin = source if source and source != "user-supplied" else comment_source
    return UserCurve(path=src, metric=metric_name, densities=tuple(densities),
                     values=tuple(values), source=origin or f"user curve {Path(path).name}")


def _columns(header: list[str], lineno: int, metric: str | None,
             src: str) -> tuple[int, int, str]:
    names = [h.lower() for h in header]
    if "density" not in names:
        raise input_error(src, f"the header on line {lineno} has no 'density' column",
                          field=f"line {lineno}", given=",".join(header),
                          hint="the first non-comment line is the header, e.g. density,accuracy")
    if len(set(names)) != len(names):
        raise input_error(src, "repeated column names in the header", field=f"line {lineno}",
                          given=",".join(header))
    density_col = names.index("density")
    others = [i for i in range(len(header)) if i != density_col]
    if metric is not None:
        if metric.lower() not in names or metric.lower() == "density":
            raise input_error(src, f"no column named '{metric}' (the metric the model YAML "
                              "names)", field=f"line {lineno}", given=",".join(header),
                              hint="rename the column or set accuracy.metric to one of: "
                              + ", ".join(header[i] for i in others))
        col = names.index(metric.lower())
        return density_col, col, header[col]
    if len(others) != 1:
        raise input_error(src, f"expected 2 columns (density and one metric), got "
                          f"{len(header)}", field=f"line {lineno}", given=",".join(header),
                          hint="keep density and one metric column, e.g. density,perplexity")
    if not header[others[0]]:
        raise input_error(src, "the metric column has no name", field=f"line {lineno}",
                          hint="name it, e.g. density,accuracy")
    return density_col, others[0], header[others[0]]


def _number(text: str, src: str, lineno: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise input_error(src, f"{column} on line {lineno} is not a number",
                          field=f"line {lineno}, {column}", given=text, hint=ROW_HINT) from None
    if not math.isfinite(value):
        raise input_error(src, f"{column} on line {lineno} is not finite",
                          field=f"line {lineno}, {column}", given=text, hint=ROW_HINT)
    return value


def _is_perplexity(metric: str) -> bool:
    m = metric.lower()
    return "perplexity" in m or m == "ppl"


def user_curve_accuracy(model: Model, curve: UserCurve) -> Accuracy:
    """``model``'s accuracy read on a user curve at the MAC-weighted density of its sparse ops
    (1.0 for a dense model); unknown when that density cannot be known (a trace spec)."""
    cov = effective_density(model, kinds=USER_KINDS, sparse_only=True)
    if cov.density is None:
        return unknown(f"user curve {curve.path} cannot be read for {model.name}: {cov.reason}")
    reading = read_at(curve.densities, curve.values, cov.density)
    return Accuracy(value=reading.value, metric=curve.metric, provenance="user",
                    source=f"{curve.source} ({curve.path})", ci=None,
                    extrapolated=reading.extrapolated, density=cov.density,
                    notes=" | ".join([reading.note, *cov.notes]))
