"""A per-user cache of ``hwsim validate gpu``'s slow sections (the held-out simulations, the
leave-one-GPU-out refits, the power leave-one-model-out refits), so a second run takes seconds
instead of most of a minute.

Why a cache keyed by content and not precomputed results shipped in the package: the sections
depend on every constant, preset, reference row and line of engine code, and several people change
those at once; a shipped result file goes stale silently (or conflicts on every merge) unless each
change remembers to regenerate it. A cache keyed by a digest of those inputs (:func:`inputs_digest`)
cannot serve a stale answer: any edit to a ``.py``, ``.yaml``, ``.csv`` or ``.json`` file the
package reads, or a different Python/numpy/scipy (whose solver results may differ), gives a new
key, and the next run recomputes. This is what build tools and type checkers do (pytest's
``.pytest_cache``, mypy's ``.mypy_cache``, pip's wheel cache).

Where: ``$HWSIM_CACHE_DIR`` if set, else the platform's user cache folder (``$XDG_CACHE_HOME`` or
``~/.cache`` on Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows) under
``hwsim/validate-gpu``; never inside the installed package, so a wheel in a read-only
site-packages works. A folder that cannot be written is not an error: the section is computed and
returned uncached. Entries are JSON, written atomically (temporary file, then rename); a result
always goes through the same JSON round trip whether it was computed or read, so the printed
figures are identical with and without the cache (JSON writes floats with ``repr``, which reads
back to the same float).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable, Iterator
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from hwsim.presets import preset_dir

__all__ = ["CACHE_ENV", "cache_dir", "cached", "inputs_digest"]

CACHE_ENV = "HWSIM_CACHE_DIR"
# Bump when the entry layout changes (old entries are then ignored and pruned).
FORMAT = 1
SUBDIR = "validate-gpu"
# File kinds the model reads (code, presets, calibrations, models, measured rows); binaries such as
# the weight .npz files and numba's own caches are not inputs of `validate gpu`.
HASHED_SUFFIXES = (".py", ".yaml", ".yml", ".csv", ".json")
# Libraries whose numerical results the sections depend on (least_squares, linear algebra).
RUNTIME_PACKAGES = ("numpy", "scipy", "numba", "pydantic")


def cache_dir() -> Path:
    """The folder holding the entries (module docstring)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
    return base / "hwsim" / SUBDIR


def _input_roots() -> tuple[Path, ...]:
    """The hwsim package (code and reference data) and its data packages (presets, calibration,
    models), wherever they are installed."""
    package = Path(__file__).resolve().parents[1]
    return (package, preset_dir("chips").parent, preset_dir("models"))


def _input_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.suffix in HASHED_SUFFIXES and "__pycache__" not in path.parts and path.is_file():
            yield path


def _runtime() -> str:
    parts = [f"python {platform.python_version()}"]
    for name in RUNTIME_PACKAGES:
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} absent")
    return "; ".join(parts)


@lru_cache(maxsize=1)
def inputs_digest() -> str:
    """SHA-256 (hex, first 20 characters) over every input file's path and bytes plus the
    runtime's versions. About 3 MB of files: a few tens of milliseconds."""
    h = hashlib.sha256(f"format {FORMAT}; {_runtime()}\n".encode())
    for i, root in enumerate(_input_roots()):
        for path in _input_files(root):
            h.update(f"{i}:{path.relative_to(root).as_posix()}\n".encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:20]


def _roundtrip(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _write(folder: Path, section: str, name: str, value: Any) -> None:
    """Atomically store ``value``; drop the section's entries for other digests. OSError (a
    read-only or missing home) leaves the cache as it was."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump({"format": FORMAT, "section": section, "value": value}, fh)
        os.replace(tmp, folder / name)
        for old in folder.glob(f"{section}-*.json"):
            if old.name != name:
                old.unlink(missing_ok=True)
    except OSError:
        return


def _read(path: Path, section: str) -> tuple[bool, Any]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return False, None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("section") != section:
        return False, None
    return True, doc.get("value")


def cached(section: str, compute: Callable[[], Any], *, use_cache: bool = True) -> Any:
    """``compute()``'s JSON-able result for ``section``, from the cache when an entry for today's
    :func:`inputs_digest` exists; otherwise computed (and stored unless ``use_cache`` is false,
    which neither reads nor writes). Always the JSON round trip of the result."""
    if not section.isidentifier():
        raise ValueError(f"cache section {section!r}: use a Python identifier")
    if not use_cache:
        return _roundtrip(compute())
    folder = cache_dir()
    name = f"{section}-{inputs_digest()}.json"
    hit, value = _read(folder / name, section)
    if hit:
        return value
    value = _roundtrip(compute())
    _write(folder, section, name, value)
    return value
