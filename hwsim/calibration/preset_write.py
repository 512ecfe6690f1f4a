"""Writes a fitted value into shipped GPU preset files, in place, keeping every other line (and
the preset's comments and sources) as it is. Used by the streaming fits that own a preset field
(:mod:`hwsim.calibration.gddr_stream`, :mod:`hwsim.calibration.hbm_stream`,
:mod:`hwsim.calibration.power_limit_slowdown`, :mod:`hwsim.calibration.offchip_energy_fit`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from hwsim.presets import resolve


def write_preset_field(values: Mapping[str, float], field: str) -> None:
    """Set the top-level ``field`` of each shipped chip preset named in ``values`` to its value;
    a preset without exactly one such line is an error (nothing is appended)."""
    for preset, value in values.items():
        path = resolve("chips", preset)
        text, n = re.subn(rf"(?m)^{re.escape(field)}: .*$", f"{field}: {value}",
                          path.read_text())
        if n != 1:
            raise ValueError(f"{path}: expected one top-level {field} line, found {n}")
        path.write_text(text)


def write_preset_mapping_key(values: Mapping[str, float], mapping: str, key: str) -> None:
    """Set ``key`` inside the one-line flow mapping ``mapping: {...}`` of each shipped chip
    preset named in ``values`` (replacing it if present, else appending it); a preset without
    exactly one such line is an error."""
    for preset, value in values.items():
        path = resolve("chips", preset)
        text = path.read_text()
        lines = list(re.finditer(rf"(?m)^{re.escape(mapping)}: \{{(.*)\}}$", text))
        if len(lines) != 1:
            raise ValueError(f"{path}: expected one top-level flow-style {mapping} line")
        line = lines[0]
        items = [i.strip() for i in line.group(1).split(",")
                 if not i.strip().startswith(f"{key}:")]
        items.append(f"{key}: {value}")
        path.write_text(text[:line.start()] + f"{mapping}: {{" + ", ".join(items) + "}"
                        + text[line.end():])


def write_dram_efficiency(presets: Iterable[str], value: float) -> None:
    """Set the top-level ``dram_efficiency`` of each shipped chip preset to ``value``."""
    write_preset_field(dict.fromkeys(presets, value), "dram_efficiency")
