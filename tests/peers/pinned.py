"""What every peer runner and reference generator shares: the pinned peer version, and writing
(or checking) the cached reference files it produces."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path


def require_pinned(dist: str, version: str, unavailable: type[Exception]) -> None:
    """Raise ``unavailable`` unless distribution ``dist`` is installed at ``version`` (the
    version the cached references were made with)."""
    try:
        installed = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError as e:
        raise unavailable(f"{dist} is not installed (dev extra)") from e
    if installed != version:
        raise unavailable(f"{dist} {installed} installed, the references are {version}")


def write_or_check(files: dict[Path, str], check: bool) -> int:
    """Write each file's text; with ``check``, write nothing and return 1 if any is stale."""
    if check:
        stale = [p.name for p, text in files.items()
                 if not p.exists() or p.read_text(encoding="utf-8") != text]
        print("stale: " + ", ".join(stale) if stale else "up to date")
        return 1 if stale else 0
    for p, text in files.items():
        p.write_text(text, encoding="utf-8")
    return 0
