"""Finding and validating claim files: clean errors (file, field, expected) for bad ones."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hwsim.config.claims import ClaimDoc
from hwsim.config.loading import read_yaml_file, validate
from hwsim.errors import input_error
from hwsim.presets import claims_dir

CLAIMS_DIR = claims_dir()


def claim_files(paths: Sequence[str | Path] = ()) -> list[Path]:
    """The given files, the YAML files of given folders, or the shipped claim studies."""
    roots = [Path(p) for p in paths] or [CLAIMS_DIR]
    files: list[Path] = []
    for root in roots:
        if root.is_dir():
            found = sorted(root.glob("*.yaml"))
            if not found:
                raise input_error(str(root), "no claim files (*.yaml) in this folder")
            files += found
        elif root.is_file():
            files.append(root)
        else:
            raise input_error(str(root), "no such claim file or folder")
    return files


def load_claims(paths: Sequence[str | Path] = (), only: Sequence[str] = ()) -> list[ClaimDoc]:
    """Validated claim documents, in file order; ``only`` keeps the given ids."""
    docs: list[ClaimDoc] = []
    seen: dict[str, str] = {}
    for f in claim_files(paths):
        doc: ClaimDoc = validate(read_yaml_file(f), ClaimDoc, str(f))
        if doc.id in seen:
            raise input_error(str(f), f"claim id '{doc.id}' is also used by {seen[doc.id]}",
                              field="id")
        seen[doc.id] = str(f)
        docs.append(doc)
    if only:
        unknown = sorted(set(only) - set(seen))
        if unknown:
            raise input_error("--only", "unknown claim id", given=", ".join(unknown),
                              hint="claims: " + ", ".join(seen))
        docs = [d for d in docs if d.id in only]
    return docs
