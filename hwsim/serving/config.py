"""Serving settings: the ``hwsim serve`` strings parsed and validated into one frozen object.

Every bad value raises :func:`hwsim.errors.input_error` naming the flag (or API keyword), the
value given and what was expected; the CLI turns it into exit status 2.

Accepted forms (SI units inside, friendly units only here):

* ``--rate``: ``200/s``, ``200`` (per second), ``12/ms``, ``50/us``, ``3000/min``, ``10/h``.
* ``--duration``: ``10s``, ``10`` (seconds), ``500ms``, ``200us``, ``2min``, ``1h``.
* ``--batching``: ``none`` (batch 1, FIFO) or ``max_batch=8,timeout_ms=2`` (``timeout_ms``
  defaults to 0: dispatch whatever waits when the chip frees).
* ``--arrivals``: ``poisson`` (default), ``deterministic`` (evenly spaced) or ``trace:FILE``
  (arrival times in seconds, see :mod:`hwsim.serving.arrivals`).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass

from hwsim.errors import input_error

# Per-second factors of the time units a user may write.
_TIME_UNITS_S = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "min": 60.0, "h": 3600.0}
_NUMBER = r"([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)"
_RATE_RE = re.compile(rf"^\s*{_NUMBER}\s*(?:/\s*([a-z]+))?\s*$")
_DURATION_RE = re.compile(rf"^\s*{_NUMBER}\s*([a-z]*)\s*$")

ARRIVAL_KINDS = ("poisson", "deterministic", "trace:FILE")
BATCHING_KEYS = ("max_batch", "timeout_ms")
# Requests are simulated one by one (~50k per wall-second) and kept in memory (~80 B each):
# beyond this a run takes minutes and hundreds of MB, almost surely a typo in rate or duration.
MAX_REQUESTS = 5_000_000
# Each batch size is one engine evaluation per density grid point.
MAX_BATCH = 1024


@dataclass(frozen=True)
class ServeConfig:
    """One serving experiment, in SI units.

    ``rate_per_s`` is the mean arrival rate (requests/s; ignored for trace arrivals, whose file
    sets the times); requests arriving in ``[0, duration_s)`` are admitted and all are served
    (the queue drains after ``duration_s``). A batch is dispatched when ``max_batch`` requests
    wait or when the oldest has waited ``timeout_s``, whichever comes first, and only when the
    chip is free. ``slo_s`` is the end-to-end latency objective (None: no SLO).
    """

    rate_per_s: float | None  # None only for trace arrivals
    duration_s: float
    max_batch: int = 1
    timeout_s: float = 0.0
    slo_s: float | None = None
    arrivals: str = "poisson"  # "poisson" | "deterministic" | "trace"
    trace_path: str | None = None
    seed: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"rate_per_s": self.rate_per_s, "duration_s": self.duration_s,
                "max_batch": self.max_batch, "timeout_s": self.timeout_s, "slo_s": self.slo_s,
                "arrivals": self.arrivals, "trace_path": self.trace_path, "seed": self.seed}


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_rate(text: str, flag: str = "--rate") -> float:
    """``'200/s'`` -> 200.0 requests per second."""
    expected = "expected REQUESTS/s like 200/s (also 12/ms, 3000/min; a plain number is per s)"
    m = _RATE_RE.match(str(text).lower())
    unit = m.group(2) if m else None
    if m is None or (unit is not None and unit not in _TIME_UNITS_S):
        raise input_error(flag, expected, given=text,
                          hint=_unit_hint(unit) if unit else None)
    value = _number(m.group(1))
    if value is None or value <= 0.0:
        raise input_error(flag, "the rate must be a finite number > 0; " + expected, given=text)
    return check_rate(value / _TIME_UNITS_S[unit or "s"], flag)


def parse_duration(text: str, flag: str = "--duration") -> float:
    """``'10s'`` -> 10.0 seconds; ``'500ms'`` -> 0.5; ``'2min'`` -> 120.0."""
    expected = "expected a duration like 10s, 500ms or 2min (a plain number is seconds)"
    m = _DURATION_RE.match(str(text).lower())
    unit = (m.group(2) or "s") if m else None
    if m is None or unit not in _TIME_UNITS_S:
        raise input_error(flag, expected, given=text, hint=_unit_hint(unit) if unit else None)
    value = _number(m.group(1))
    if value is None or value <= 0.0:
        raise input_error(flag, "the duration must be a finite number > 0; " + expected,
                          given=text)
    return check_duration(value * _TIME_UNITS_S[unit], flag)


def parse_batching(text: str, flag: str = "--batching") -> tuple[int, float]:
    """``'max_batch=8,timeout_ms=2'`` -> (8, 0.002); ``'none'`` -> (1, 0.0)."""
    expected = "expected 'none' or max_batch=N[,timeout_ms=T] like max_batch=8,timeout_ms=2"
    text = str(text).strip()
    if text.lower() in ("none", "off"):
        return 1, 0.0
    values: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not key or not value:
            raise input_error(flag, expected, given=text)
        if key not in BATCHING_KEYS:
            close = difflib.get_close_matches(key, BATCHING_KEYS, n=1)
            raise input_error(flag, f"unknown batching key '{key}'; {expected}", given=text,
                              hint=f"did you mean '{close[0]}'?" if close else None)
        values[key] = value
    if "max_batch" not in values:
        raise input_error(flag, "max_batch is required; " + expected, given=text)
    size = values["max_batch"]
    if not re.fullmatch(r"[0-9]+", size):
        raise input_error(flag, "max_batch must be a whole number >= 1", given=size)
    timeout_ms = _number(values.get("timeout_ms", "0"))
    if timeout_ms is None:
        raise input_error(flag, "timeout_ms must be a number of milliseconds >= 0",
                          given=values["timeout_ms"])
    return check_batching(int(size), timeout_ms * 1e-3, flag)


def parse_arrivals(text: str, flag: str = "--arrivals") -> tuple[str, str | None]:
    """``'poisson'`` -> ("poisson", None); ``'trace:arrivals.csv'`` -> ("trace", path)."""
    text = str(text).strip()
    if text.startswith("trace:"):
        path = text[len("trace:"):].strip()
        if not path:
            raise input_error(flag, "trace: needs a file, like trace:arrivals.csv", given=text)
        return "trace", path
    if text not in ("poisson", "deterministic"):
        close = difflib.get_close_matches(text, ("poisson", "deterministic", "trace:"), n=1)
        raise input_error(flag, "expected one of: " + ", ".join(ARRIVAL_KINDS), given=text,
                          hint=f"did you mean '{close[0]}'?" if close else None)
    return text, None


def check_rate(rate_per_s: object, flag: str = "rate_per_s") -> float:
    if not _positive(rate_per_s):
        raise input_error(flag, "expected a rate in requests/s > 0", given=rate_per_s)
    return float(rate_per_s)  # type: ignore[arg-type]


def check_duration(duration_s: object, flag: str = "duration_s") -> float:
    if not _positive(duration_s):
        raise input_error(flag, "expected a duration in seconds > 0", given=duration_s)
    return float(duration_s)  # type: ignore[arg-type]


def check_batching(max_batch: object, timeout_s: object,
                   flag: str = "max_batch/timeout_s") -> tuple[int, float]:
    if (isinstance(max_batch, bool) or not isinstance(max_batch, int)
            or not 1 <= max_batch <= MAX_BATCH):
        raise input_error(flag, f"max_batch must be a whole number in 1..{MAX_BATCH}",
                          given=max_batch)
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or not (
            math.isfinite(timeout_s) and timeout_s >= 0.0):
        raise input_error(flag, "the batching timeout must be a finite time >= 0",
                          given=timeout_s)
    return max_batch, float(timeout_s)


def check_slo(slo_s: object, flag: str = "slo_s") -> float | None:
    if slo_s is None:
        return None
    if not _positive(slo_s):
        raise input_error(flag, "expected a latency objective > 0", given=slo_s)
    return float(slo_s)  # type: ignore[arg-type]


def check_seed(seed: object, flag: str = "seed") -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise input_error(flag, "expected a whole number >= 0", given=seed)
    return seed


def make_config(*, rate_per_s: float | None, duration_s: float, max_batch: int = 1,
                timeout_s: float = 0.0, slo_s: float | None = None, arrivals: str = "poisson",
                seed: int = 0, flags: dict[str, str] | None = None) -> ServeConfig:
    """Validate API values into a :class:`ServeConfig`; ``flags`` renames fields in errors
    (the CLI passes ``{"rate_per_s": "--rate", ...}``)."""
    name = {k: k for k in ("rate_per_s", "duration_s", "max_batch", "slo_s", "arrivals",
                           "seed")} | (flags or {})
    kind, path = parse_arrivals(arrivals, name["arrivals"])
    duration = check_duration(duration_s, name["duration_s"])
    rate: float | None = None  # a trace sets the times; the offered rate is reported from it
    if rate_per_s is not None:
        rate = check_rate(rate_per_s, name["rate_per_s"])
    elif kind != "trace":
        raise input_error(name["rate_per_s"], "a rate is required unless arrivals come from a "
                          "trace", hint="e.g. 200/s")
    size, timeout = check_batching(max_batch, timeout_s, name["max_batch"])
    if kind != "trace" and rate is not None and rate * duration > MAX_REQUESTS:
        raise input_error(name["rate_per_s"], f"rate x duration = {rate * duration:.3g} "
                          f"requests; hwsim serve simulates at most {MAX_REQUESTS:,}",
                          given=rate_per_s, hint="lower the rate or the duration")
    return ServeConfig(rate_per_s=rate, duration_s=duration, max_batch=size, timeout_s=timeout,
                       slo_s=check_slo(slo_s, name["slo_s"]), arrivals=kind, trace_path=path,
                       seed=check_seed(seed, name["seed"]))


def _positive(value: object) -> bool:
    return (not isinstance(value, bool) and isinstance(value, int | float)
            and math.isfinite(value) and value > 0)


def _unit_hint(unit: str | None) -> str:
    close = difflib.get_close_matches(unit or "", _TIME_UNITS_S, n=1)
    return (f"did you mean '{close[0]}'? " if close else "") + "time units: " + ", ".join(
        _TIME_UNITS_S)
