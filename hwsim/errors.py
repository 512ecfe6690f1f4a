"""Errors that reach a user: each names the file, the field, what was given and what was expected.

The CLI turns any :class:`HwsimError` into a message and exit status 2, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Problem:
    """One thing wrong with an input."""

    field: str  # dotted path inside the document ("array.rows"), "" for the whole document
    message: str  # what is wrong, what was expected
    given: str | None = None  # repr of the offending value, shortened
    hint: str | None = None  # "did you mean ..." or how to fix it


@dataclass
class HwsimError(Exception):
    """An input error the user can fix. ``source`` is a file path, preset name or CLI flag."""

    source: str
    problems: list[Problem] = field(default_factory=list)
    summary: str = "invalid input"

    def __post_init__(self) -> None:
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"error: {self.source}: {self.summary}"]
        if len(self.problems) == 1 and self.problems[0].message == self.summary:
            # A single problem already named by the summary: show only what it adds.
            p = self.problems[0]
            if p.field:
                lines.append(f"  field: {p.field}")
            if p.given is not None:
                lines.append(f"  given: {p.given}")
            if p.hint:
                lines.append(f"  hint: {p.hint}")
            return "\n".join(lines)
        for p in self.problems:
            where = p.field or "(document)"
            line = f"  - {where}: {p.message}"
            if p.given is not None:
                line += f" (given: {p.given})"
            lines.append(line)
            if p.hint:
                lines.append(f"    hint: {p.hint}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def input_error(source: str, message: str, *, field: str = "", given: object = None,
                hint: str | None = None) -> HwsimError:
    """Shortcut for an error with a single problem."""
    g = None if given is None else short_repr(given)
    return HwsimError(source, [Problem(field, message, g, hint)], summary=message)


def short_repr(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
