"""Prompt and output lengths of token-level requests: a number, a distribution, or a trace.

Spec strings (``--prompt-tokens`` / ``--output-tokens``, or the API's ``prompt_tokens`` /
``output_tokens``):

* ``512`` (or the int 512): every request has 512 tokens;
* ``uniform:LO-HI``: integers uniform on [LO, HI];
* ``lognormal:median=M,sigma=S``: ``round(M * exp(S * z))``, z standard normal, at least 1;
* ``azure-conv-2023`` / ``azure-code-2023``: the public Azure LLM inference trace's length
  distribution (:mod:`hwsim.serving.public_lengths`, with its source);
* ``trace:FILE.csv``: arrivals and both lengths from a file (:mod:`hwsim.serving.token_trace`).

Every draw comes from the generator passed in (seeded by the caller).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from hwsim.errors import input_error
from hwsim.serving.public_lengths import NAMES, draw_public

MAX_TOKENS = 1_000_000  # one request's prompt or output; far beyond any model's context
_FORMS = ("a token count like 512, uniform:LO-HI, lognormal:median=M,sigma=S, "
          + ", ".join(NAMES) + ", or trace:FILE.csv")


@dataclass(frozen=True)
class LengthSpec:
    """A length law: ``kind`` in fixed | uniform | lognormal | public."""

    kind: str
    low: float = 0.0  # fixed: the count; uniform: LO; lognormal: median
    high: float = 0.0  # uniform: HI; lognormal: sigma
    name: str = ""  # public: the distribution's name

    def draw(self, n: int, which: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` lengths (tokens, int64 >= 1); ``which`` 0 = prompt, 1 = output."""
        if self.kind == "fixed":
            return np.full(n, int(self.low), dtype=np.int64)
        if self.kind == "uniform":
            return rng.integers(int(self.low), int(self.high) + 1, n).astype(np.int64)
        if self.kind == "lognormal":
            values = np.rint(self.low * np.exp(self.high * rng.standard_normal(n)))
            return np.clip(values, 1, MAX_TOKENS).astype(np.int64)
        return draw_public(self.name, which, n, rng)

    @property
    def label(self) -> str:
        if self.kind == "fixed":
            return str(int(self.low))
        if self.kind == "uniform":
            return f"uniform:{int(self.low)}-{int(self.high)}"
        if self.kind == "lognormal":
            return f"lognormal:median={self.low:g},sigma={self.high:g}"
        return self.name


def parse_lengths(spec: object, flag: str) -> LengthSpec | str:
    """A :class:`LengthSpec`, or the trace path (str) for ``trace:FILE``; errors name ``flag``."""
    if isinstance(spec, bool):
        raise input_error(flag, "expected " + _FORMS, given=spec)
    if isinstance(spec, int | np.integer):
        return _fixed(int(spec), flag)
    text = str(spec).strip()
    if text.startswith("trace:"):
        path = text[len("trace:"):].strip()
        if not path:
            raise input_error(flag, "trace: needs a file name", given=spec, hint=_FORMS)
        return path
    if text.isdigit():
        return _fixed(int(text), flag)
    if text in NAMES:
        return LengthSpec("public", name=text)
    m = re.fullmatch(r"uniform:(\d+)-(\d+)", text)
    if m:
        low, high = int(m.group(1)), int(m.group(2))
        if not 1 <= low <= high <= MAX_TOKENS:
            raise input_error(flag, f"uniform needs 1 <= LO <= HI <= {MAX_TOKENS:,}",
                              given=spec)
        return LengthSpec("uniform", low, high)
    m = re.fullmatch(r"lognormal:median=([0-9.eE+-]+),sigma=([0-9.eE+-]+)", text)
    if m:
        median, sigma = _float(m.group(1)), _float(m.group(2))
        if median is None or sigma is None or not (1.0 <= median <= MAX_TOKENS
                                                   and 0.0 <= sigma <= 5.0):
            raise input_error(flag, "lognormal needs median in [1, 1e6] tokens and sigma in "
                              "[0, 5]", given=spec)
        return LengthSpec("lognormal", median, sigma)
    raise input_error(flag, "expected " + _FORMS, given=spec)


def _fixed(count: int, flag: str) -> LengthSpec:
    if not 1 <= count <= MAX_TOKENS:
        raise input_error(flag, f"a token count must be in [1, {MAX_TOKENS:,}]", given=count)
    return LengthSpec("fixed", float(count))


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
