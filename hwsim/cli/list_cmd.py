"""``hwsim list chips|models|tech|studies|systems``: the presets, one line each."""

from __future__ import annotations

from typing import Annotated

import typer

from hwsim.cli.options import choice_error
from hwsim.cli.render import out, table

LIST_KINDS = ("chips", "models", "tech", "studies", "systems")


def list_cmd(kind: Annotated[str, typer.Argument(
        help="chips | models | tech | studies | systems")]) -> None:
    """List presets with a one-line description each."""
    from hwsim.presets import list_presets

    if kind not in LIST_KINDS:
        raise choice_error("kind", kind, LIST_KINDS)
    chips = kind == "chips"
    rows = table(["name", "group", "description"] if chips else ["name", "description"])
    for p in list_presets(kind):  # type: ignore[arg-type]
        rows.add_row(*([p.name] + ([p.group] if chips else []) + [p.description]))
    out().print(rows)
