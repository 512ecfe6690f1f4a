"""Presets: YAML files under the repository's configs/ and models/ folders, found by file stem.

Anywhere a chip, model or tech table is expected, either a preset name or a path works.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

from hwsim.config.loading import safe_load
from hwsim.errors import input_error

REPO_ROOT = Path(__file__).resolve().parents[2]
PresetKind = Literal["chips", "models", "tech", "studies"]
PRESET_DIRS: dict[str, Path] = {
    "chips": REPO_ROOT / "configs" / "hardware",
    "models": REPO_ROOT / "models",
    "tech": REPO_ROOT / "configs" / "tech",
    "studies": REPO_ROOT / "configs" / "studies",
}
CALIBRATION_DIR = REPO_ROOT / "configs" / "calibration"


def calibration_path(name: str) -> Path:
    """The fitted-constants file ``configs/calibration/<name>.yaml`` (e.g. ``mcu``)."""
    return CALIBRATION_DIR / f"{name}.yaml"


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    path: Path
    group: str  # sub-folder (accelerators, gpus, mcus) or ""


def _preset_files(kind: str) -> list[Path]:
    root = PRESET_DIRS[kind]
    if not root.is_dir():
        return []
    # configs/studies/claims holds claim studies (hwsim claims), a different schema.
    skip = root / "claims" if kind == "studies" else None
    return sorted(p for p in root.rglob("*.yaml") if p.is_file()
                  and (skip is None or skip not in p.parents))


@lru_cache(maxsize=8)
def _presets_cached(kind: str, stamp: tuple[tuple[str, float], ...]) -> tuple[Preset, ...]:
    out: list[Preset] = []
    root = PRESET_DIRS[kind]
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


def list_presets(kind: PresetKind) -> list[Preset]:
    """Presets of one kind, with their one-line descriptions."""
    files = _preset_files(kind)
    stamp = tuple((str(p), p.stat().st_mtime) for p in files)
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
    # A preset's name is its file stem: no YAML is parsed to find it (that costs ~0.1 s).
    presets = {p.stem: p for p in _preset_files(kind)}
    if text in presets:
        return presets[text]
    close = difflib.get_close_matches(text, list(presets), n=4, cutoff=0.5)
    hint = ("did you mean " + " or ".join(repr(c) for c in close) + "?") if close else (
        f"available: {', '.join(sorted(presets))}" if presets else None)
    singular = {"chips": "chip", "models": "model", "tech": "tech table", "studies": "study"}[kind]
    raise input_error(text, f"unknown {singular} preset (and no such file)", hint=hint)
