"""System presets: load and validate ``configs/hardware/systems/*.yaml`` like chip presets."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from hwsim.config.loading import read_yaml_file, validate
from hwsim.config.system import SystemConfig
from hwsim.errors import HwsimError
from hwsim.presets import list_presets, preset_names, resolve


def load_system(name_or_path: str | Path | SystemConfig) -> SystemConfig:
    """A system preset (``hwsim list systems``) or YAML file, validated."""
    if isinstance(name_or_path, SystemConfig):
        return name_or_path
    path = resolve("systems", name_or_path)
    return _load(str(path), path.stat().st_mtime)


@lru_cache(maxsize=32)
def _load(path: str, _mtime: float) -> SystemConfig:
    return validate(read_yaml_file(path), SystemConfig, path)


def is_system(name_or_path: object) -> bool:
    """True for a SystemConfig, a system preset name, or a YAML file whose kind is system."""
    if isinstance(name_or_path, SystemConfig):
        return True
    if not isinstance(name_or_path, str | Path):
        return False
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")):
        try:
            return read_yaml_file(text).get("kind") == "system"
        except HwsimError:
            return False
    return text in preset_names("systems")


def system_for_chip(chip_name: str) -> SystemConfig | None:
    """The shipped system built from ``chip_name`` (the interconnect a plain GPU preset gets
    when asked for several devices), or None."""
    for p in list_presets("systems"):
        system = load_system(p.path)
        if system.chip == chip_name:
            return system
    return None
