"""Request trace files for token-level serving: ``arrival_s,prompt_tokens,output_tokens``.

One request per line, comma separated; an optional header line (any non-numeric first line),
blank lines and ``#`` comments are skipped. Arrival times are seconds, finite, >= 0 and
non-decreasing; token counts are whole numbers >= 1.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from hwsim.errors import input_error
from hwsim.serving.config import MAX_REQUESTS
from hwsim.serving.lengths import MAX_TOKENS

MAX_TRACE_BYTES = 64 * 2**20
FORMAT_HINT = "give a CSV with columns arrival_s,prompt_tokens,output_tokens"


def read_token_trace(path: str, flag: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(arrival_s float64, prompt_tokens int64, output_tokens int64), each (n,)."""
    source = f"{flag} trace:{path}"
    p = Path(path)
    if not p.is_file():
        raise input_error(source, "trace file not found", given=path, hint=FORMAT_HINT)
    if p.stat().st_size > MAX_TRACE_BYTES:
        raise input_error(source, f"trace file is over {MAX_TRACE_BYTES // 2**20} MiB",
                          given=path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise input_error(source, f"cannot read the trace as UTF-8 text: {exc}",
                          given=path) from None
    rows: list[tuple[float, int, int]] = []
    seen_data = False
    for line_no, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        first = not seen_data
        seen_data = True
        parsed = _row(row)
        if parsed is None:
            if first:
                continue  # a header
            raise input_error(source, "expected arrival_s,prompt_tokens,output_tokens",
                              field=f"line {line_no}", given=",".join(row), hint=FORMAT_HINT)
        t, prompt, output = parsed
        if not math.isfinite(t) or t < 0.0:
            raise input_error(source, "arrival_s must be finite and >= 0",
                              field=f"line {line_no}", given=row[0])
        if rows and t < rows[-1][0]:
            raise input_error(source, "arrival times must be non-decreasing",
                              field=f"line {line_no}", given=row[0], hint="sort the file")
        if not (1 <= prompt <= MAX_TOKENS and 1 <= output <= MAX_TOKENS):
            raise input_error(source, f"token counts must be whole numbers in [1, {MAX_TOKENS:,}]",
                              field=f"line {line_no}", given=",".join(row))
        rows.append((t, prompt, output))
        if len(rows) > MAX_REQUESTS:
            raise input_error(source, f"more than {MAX_REQUESTS:,} requests", given=path)
    if not rows:
        raise input_error(source, "the trace holds no requests", given=path, hint=FORMAT_HINT)
    arr = np.asarray(rows, dtype=np.float64)
    return arr[:, 0].copy(), arr[:, 1].astype(np.int64), arr[:, 2].astype(np.int64)


def _row(row: list[str]) -> tuple[float, int, int] | None:
    if len(row) != 3:
        return None
    try:
        t = float(row[0])
        prompt, output = (int(x.strip()) for x in row[1:])
    except ValueError:
        return None
    return t, prompt, output
