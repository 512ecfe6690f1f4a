"""Request arrival times: Poisson, evenly spaced, or read from a trace file.

All times are seconds from the start of the run, float64, non-decreasing, and only those in
``[0, duration_s)`` are admitted. Draws take a seeded ``numpy.random.Generator``.

Trace format: a text/CSV file, one request per line, its arrival time in seconds in the first
column. An optional header line (first field not a number), blank lines and lines starting
with ``#`` are skipped; extra columns are ignored. Times must be finite, >= 0 and
non-decreasing. Files are limited to :data:`MAX_TRACE_BYTES`.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from hwsim.errors import input_error
from hwsim.serving.config import MAX_REQUESTS, ServeConfig

MAX_TRACE_BYTES = 64 * 2**20  # ~4 M lines of "123.456789012,..." text


def arrival_times(config: ServeConfig, rng: np.random.Generator) -> np.ndarray:
    """Arrival times (s) of the admitted requests, float64 (n,), for ``config.arrivals``."""
    if config.arrivals == "trace" or config.rate_per_s is None:
        times = read_trace(config.trace_path or "")
        return times[times < config.duration_s]
    if config.arrivals == "deterministic":
        count = math.ceil(config.duration_s * config.rate_per_s)
        times = np.arange(count, dtype=np.float64) / config.rate_per_s
        return times[times < config.duration_s]
    return poisson_times(config.rate_per_s, config.duration_s, rng)


def poisson_times(rate_per_s: float, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson process on ``[0, duration_s)``: cumulative sums of Exp(rate) gaps, seconds.

    Gaps are drawn in chunks sized to the expected count plus six standard deviations, so one
    chunk nearly always suffices; the draws depend only on the generator's state, never on
    the chunking (the same stream is consumed in order).
    """
    expected = rate_per_s * duration_s
    chunk = int(expected + 6.0 * math.sqrt(expected) + 16)
    parts: list[np.ndarray] = []
    last = 0.0
    while last < duration_s:
        times = last + np.cumsum(rng.exponential(1.0 / rate_per_s, chunk))
        parts.append(times)
        last = float(times[-1])
    times = np.concatenate(parts)
    return times[times < duration_s]


def read_trace(path: str) -> np.ndarray:
    """Arrival times (s) from a trace file (format in the module docstring), float64 (n,)."""
    source = f"--arrivals trace:{path}"
    p = Path(path)
    if not p.is_file():
        raise input_error(source, "trace file not found", given=path,
                          hint="give a CSV of arrival times in seconds, one per line")
    size = p.stat().st_size
    if size > MAX_TRACE_BYTES:
        raise input_error(source, f"trace file is {size / 2**20:.1f} MiB; the limit is "
                          f"{MAX_TRACE_BYTES // 2**20} MiB", given=path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise input_error(source, f"cannot read the trace as UTF-8 text: {exc}",
                          given=path) from None
    times: list[float] = []
    for line_no, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
            continue
        field = row[0].strip()
        try:
            value = float(field)
        except ValueError:
            if not times and line_no == _first_data_line(text):
                continue  # a header
            raise input_error(source, "expected an arrival time in seconds",
                              field=f"line {line_no}", given=field) from None
        if not math.isfinite(value) or value < 0.0:
            raise input_error(source, "arrival times must be finite and >= 0",
                              field=f"line {line_no}", given=field)
        if times and value < times[-1]:
            raise input_error(source, "arrival times must be non-decreasing",
                              field=f"line {line_no}", given=field,
                              hint=f"the previous time was {times[-1]!r}; sort the file")
        times.append(value)
        if len(times) > MAX_REQUESTS:
            raise input_error(source, f"more than {MAX_REQUESTS:,} requests", given=path)
    if not times:
        raise input_error(source, "the trace holds no arrival times", given=path)
    return np.asarray(times, dtype=np.float64)


def _first_data_line(text: str) -> int:
    """Line number (1-based) of the first line that is not blank or a comment."""
    for line_no, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return line_no
    return 0
