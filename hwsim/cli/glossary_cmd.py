"""``hwsim glossary``: what every field of the ``--json`` document means."""

from __future__ import annotations

from hwsim.cli.render import out, table


def glossary_cmd() -> None:
    """Explain every field of the --json document."""
    from hwsim.report.glossary import glossary_lines

    rows = table(["field", "meaning"], fold=["meaning"])
    for k, v in glossary_lines():
        rows.add_row(k, v)
    out().print(rows)
