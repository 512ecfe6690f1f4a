"""Writes a fitted value into shipped GPU preset files, in place, keeping every other line (and
the preset's comments and sources) as it is. Used by the streaming fits that own a preset field
(:mod:`hwsim.calibration.gddr_stream`, :mod:`hwsim.calibration.hbm_stream`,
:mod:`hwsim.calibration.power_limit_slowdown`)."""

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


def write_dram_efficiency(presets: Iterable[str], value: float) -> None:
    """Set the top-level ``dram_efficiency`` of each shipped chip preset to ``value``."""
    write_preset_field(dict.fromkeys(presets, value), "dram_efficiency")
