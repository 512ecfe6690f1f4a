"""The one resolver of preset names, and the one place that knows where shipped data lives.

Presets are YAML files found by file stem in the package data: ``hwsim.data.models`` (the
repository's top-level ``models/``) and ``hwsim.data.configs`` (``configs/``), mapped by
``[tool.setuptools.package-dir]`` in pyproject.toml; the reference measurements ``hwsim
validate`` reads are in ``hwsim/data/reference``. Every path comes from
:func:`importlib.resources.files`, so an installed wheel, an editable install and a checkout
all find the same files, from any working directory. Anywhere a chip, model or tech table is
expected, either a preset name or a path works.
"""

from __future__ import annotations

import csv
import difflib
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

import yaml

from hwsim.config.loading import safe_load
from hwsim.errors import input_error

PresetKind = Literal["chips", "models", "tech", "studies", "systems"]
ReferenceKind = Literal["gpu", "mcu", "accelerator/eyeriss", "serving", "interconnect"]
# Each preset kind: (data package, folder inside it).
_PRESET_HOMES: dict[str, tuple[str, str]] = {
    "chips": ("hwsim.data.configs", "hardware"),
    "models": ("hwsim.data.models", ""),
    "tech": ("hwsim.data.configs", "tech"),
    "studies": ("hwsim.data.configs", "studies"),
    # Many-device systems (a chip preset x devices + an interconnect; hwsim.parallel): kept
    # under hardware/ with the chips, but a different schema, so not listed as chips.
    "systems": ("hwsim.data.configs", "hardware/systems"),
}


@lru_cache(maxsize=8)
def _package_dir(package: str) -> Path:
    try:
        root = files(package)
    except ModuleNotFoundError as e:
        # An editable install made before the data packages existed maps only hwsim/ itself.
        raise RuntimeError(f"hwsim's data package {package} is not importable: reinstall hwsim "
                           "(`make setup`, or `pip install -e .` in the checkout)") from e
    # A wheel installs unpacked, so the resources are plain files; a zipped import is not
    # supported (numba's cache and DuckDB need real paths anyway).
    if not isinstance(root, Path):
        raise RuntimeError(f"{package} is not on the file system ({root!r}); "
                           "install hwsim with pip instead of importing it from an archive")
    return root


def preset_dir(kind: PresetKind) -> Path:
    """The folder holding the presets of ``kind`` (searched recursively)."""
    package, sub = _PRESET_HOMES[kind]
    return _package_dir(package) / sub if sub else _package_dir(package)


def claims_dir() -> Path:
    """The shipped claim studies (``configs/studies/claims``; ``hwsim claims``)."""
    return preset_dir("studies") / "claims"


def accuracy_curve_dir() -> Path:
    """The shipped literature accuracy curves (``configs/accuracy``)."""
    return _package_dir("hwsim.data.configs") / "accuracy"


def calibration_path(name: str) -> Path:
    """A shipped file of fitted constants, ``configs/calibration/<name>.yaml`` (e.g. ``mcu``)."""
    return _package_dir("hwsim.data.configs") / "calibration" / f"{name}.yaml"


def weights_dir() -> Path:
    """The trained weights of the measured accuracy models (``models/weights``)."""
    return _package_dir("hwsim.data.models") / "weights"


def tflite_dir() -> Path:
    """The shipped TFLite files (``models/tflite``, origins in SOURCES.csv there)."""
    return _package_dir("hwsim.data.models") / "tflite"


def reference_dir(kind: ReferenceKind) -> Path:
    """The reference measurements of ``hwsim validate <kind>``, with their SOURCES.md."""
    return _package_dir("hwsim.data") / "reference" / kind


def reference_rows(ref_dir: Path, name: str) -> list[dict[str, str]]:
    """The rows of the reference CSV ``name`` in ``ref_dir`` (a :func:`reference_dir`, or a
    test's copy of one), as strings keyed by its header."""
    with open(ref_dir / name, newline="") as fh:
        return list(csv.DictReader(fh))


def onnx_dir() -> Path:
    """The shipped ONNX workloads (``models/onnx``, origins in SOURCES.csv there)."""
    return _package_dir("hwsim.data.models") / "onnx"


def zigzag_reference_dir() -> Path:
    """The cached ZigZag peer results (``reference/accelerator/zigzag``, with SOURCES.md)."""
    return _package_dir("hwsim.data") / "reference" / "accelerator" / "zigzag"


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    path: Path
    group: str  # sub-folder (accelerators, gpus, mcus) or ""


def _preset_files(kind: PresetKind) -> list[Path]:
    root = preset_dir(kind)
    if not root.is_dir():
        return []
    # configs/studies/claims holds claim studies (hwsim claims) and configs/hardware/systems
    # many-device systems: different schemas from the presets around them.
    skip = {"studies": claims_dir(), "chips": preset_dir("systems")}.get(kind)
    return sorted(p for p in root.rglob("*.yaml") if p.is_file()
                  and (skip is None or skip not in p.parents))


@lru_cache(maxsize=16)
def _stem_index(kind: PresetKind) -> dict[str, Path]:
    """File stem -> preset file of one kind (the last in sorted order wins, as before)."""
    return {p.stem: p for p in _preset_files(kind)}


@lru_cache(maxsize=8)
def _presets_cached(kind: PresetKind, stamp: tuple[tuple[str, float], ...]
                    ) -> tuple[Preset, ...]:
    out: list[Preset] = []
    root = preset_dir(kind)
    for path_str, _ in stamp:
        path = Path(path_str)
        try:
            doc = safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            doc = None
        desc = str(doc.get("description", "")) if isinstance(doc, dict) else "(unreadable file)"
        group = path.parent.relative_to(root).as_posix() if path.parent != root else ""
        out.append(Preset(path.stem, desc, path, group))
    return tuple(out)


def _folder_stamp(root: Path) -> tuple[tuple[str, int], ...]:
    """(folder, mtime) of ``root`` and every folder below it: a folder's mtime changes when an
    entry is added, removed or renamed in it, so this changes whenever the set of files does,
    at one stat per folder instead of one per file."""
    out: list[tuple[str, int]] = []
    todo = [str(root)]
    while todo:
        folder = todo.pop()
        try:
            out.append((folder, os.stat(folder).st_mtime_ns))
            with os.scandir(folder) as entries:
                todo.extend(e.path for e in entries if e.is_dir())
        except OSError:
            out.append((folder, -1))
    return tuple(sorted(out))


@lru_cache(maxsize=16)
def _names_cached(kind: PresetKind, stamp: tuple[tuple[str, int], ...]) -> frozenset[str]:
    return frozenset(p.stem for p in _preset_files(kind))


def preset_names(kind: PresetKind) -> frozenset[str]:
    """The names of the presets of one kind, re-listed only when a file is added, removed or
    renamed (what a membership test needs: no file is read)."""
    return _names_cached(kind, _folder_stamp(preset_dir(kind)))


def list_presets(kind: PresetKind) -> list[Preset]:
    """Presets of one kind, with their one-line descriptions."""
    files_ = _preset_files(kind)
    stamp = tuple((str(p), p.stat().st_mtime) for p in files_)
    return list(_presets_cached(kind, stamp))


def resolve(kind: PresetKind, name_or_path: str | Path) -> Path:
    """A preset name or a file path -> the YAML file. Unknown names list close matches."""
    text = str(name_or_path)
    candidate = Path(text).expanduser()
    looks_like_path = candidate.suffix in (".yaml", ".yml") or "/" in text or "\\" in text
    if looks_like_path:
        if not candidate.exists():
            raise input_error(text, "file not found", hint="check the path; preset names are "
                              f"listed by `hwsim list {kind}`")
        return candidate
    # A preset's name is its file stem: no YAML is parsed to find it (that costs ~0.1 s), and the
    # folder walk is remembered (~2 ms a call). A remembered file that is gone, or a name not
    # found, walks the folders again, so presets added or removed while running are seen.
    hit = _stem_index(kind).get(text)
    if hit is not None and hit.is_file():
        return hit
    _stem_index.cache_clear()
    presets = _stem_index(kind)
    if text in presets:
        return presets[text]
    close = difflib.get_close_matches(text, list(presets), n=4, cutoff=0.5)
    hint = ("did you mean " + " or ".join(repr(c) for c in close) + "?") if close else (
        f"available: {', '.join(sorted(presets))}" if presets else None)
    singular = {"chips": "chip", "models": "model", "tech": "tech table", "studies": "study",
                "systems": "system"}[kind]
    raise input_error(text, f"unknown {singular} preset (and no such file)", hint=hint)
