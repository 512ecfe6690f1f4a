"""How the command line prints: the two consoles, tables, numbers with units, the progress bar.

Every command prints through this module, so the tables look alike and a number in a unit is
formatted one way everywhere. rich is imported on first print, not at start: ``hwsim simulate
--json`` never needs it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

OUT_WIDTH = 160  # wide enough for the per-op table without wrapping in a log file


@cache
def out() -> Console:
    """Standard output: tables and results."""
    from rich.console import Console

    return Console(soft_wrap=False, width=OUT_WIDTH)


@cache
def err() -> Console:
    """Standard error: 'wrote FILE', progress and error messages."""
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


def say(text: str) -> None:
    """A plain line on stdout (no rich markup or highlighting applied)."""
    out().print(text, markup=False, highlight=False)


def note(text: str) -> None:
    """A plain line on stderr, e.g. ``wrote runs/x.html``."""
    err().print(text, markup=False, highlight=False)


def table(columns: Iterable[str], *, title: str | None = None, right: Collection[str] = (),
          fold: Collection[str] = ()) -> Table:
    """A table with a bold header; columns named in ``right`` are right-aligned (numbers),
    those in ``fold`` wrap long text instead of cropping it."""
    from rich.table import Table

    t = Table(title=title, show_header=True, header_style="bold")
    for col in columns:
        t.add_column(col, justify="right" if col in right else "left",
                     overflow="fold" if col in fold else "ellipsis")
    return t


# ---------------------------------------------------------------- numbers with units


def micro(x: float) -> str:
    """Seconds or joules as µs / µJ: ``1,234.57``."""
    return f"{x * 1e6:,.2f}"


def milli(x: float) -> str:
    """Seconds or joules as ms / mJ: ``12.345``."""
    return f"{x * 1e3:.3f}"


def mega(x: float) -> str:
    """Bytes as MB: ``1.234``."""
    return f"{x / 1e6:,.3f}"


def count(x: float) -> str:
    """A whole count with thousands separators: cycles, MACs, bytes."""
    return f"{x:,.0f}"


def sig4(x: float) -> str:
    """Four significant figures, for measured-vs-model tables."""
    return f"{x:.4g}"


def ratio(x: float) -> str:
    return f"{x:.3f}"


def percent(fraction: float, digits: int = 1) -> str:
    """A fraction as a percentage: ``12.5%``."""
    return f"{100 * fraction:.{digits}f}%"


def signed_percent(fraction: float) -> str:
    """A relative error as a signed percentage: ``+3.2%``."""
    return f"{100 * fraction:+.1f}%"


def cell(value: Any) -> str:
    """A table cell from a data frame: floats to four significant figures, the rest as text."""
    return sig4(value) if isinstance(value, float) else str(value)


# ---------------------------------------------------------------- progress


def study_progress(label: str) -> Progress:
    """The bar ``hwsim study run`` draws on stderr: done/total, points per second, ETA."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Points per second since the start of this run."""

        def render(self, task: Any) -> Text:
            elapsed = task.elapsed or 0.0
            done = task.completed - task.fields.get("start", 0)
            rate = done / elapsed if elapsed > 0 else 0.0
            return Text(f"{rate:,.1f} pts/s", style="progress.data.speed")

    return Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(),
                    RateColumn(), TimeElapsedColumn(), TextColumn("ETA"),
                    TimeRemainingColumn(), console=err(), transient=False)
