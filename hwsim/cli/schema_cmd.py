"""``hwsim schema KIND``: the JSON Schema of a config file kind, for editor completion."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from hwsim.cli.options import choice_error

SCHEMA_KINDS = ("chip", "model", "study", "tech")


def schema_cmd(kind: Annotated[str, typer.Argument(help="chip | model | study | tech")],
               informational: Annotated[bool, typer.Option(
                   "--informational", help="chip: list the fields that cannot change "
                   "results, with the reason")] = False) -> None:
    """Print the JSON Schema of a config file kind (for editor completion in YAML)."""
    if informational:
        from hwsim.cli.sensitivity_cmd import print_informational

        print_informational(kind)
        return
    from pydantic import TypeAdapter

    from hwsim.config.chip import Chip
    from hwsim.config.model import ModelDoc
    from hwsim.config.study import StudyDoc
    from hwsim.config.tech import TechDoc

    schemas: dict[str, Any] = {"chip": Chip, "model": ModelDoc, "study": StudyDoc,
                               "tech": TechDoc}
    if kind not in schemas:
        raise choice_error("kind", kind, SCHEMA_KINDS)
    doc = TypeAdapter(schemas[kind]).json_schema()
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc.setdefault("title", f"hwsim {kind}")
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")
