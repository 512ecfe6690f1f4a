"""Writes a fitted value into shipped GPU preset files, in place, keeping every other line (and
the preset's comments and sources) as it is. Used by the streaming fits that own a preset field
(:mod:`hwsim.calibration.gddr_stream`, :mod:`hwsim.calibration.hbm_stream`)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from hwsim.presets import resolve


def write_dram_efficiency(presets: Iterable[str], value: float) -> None:
    """Set the top-level ``dram_efficiency`` of each shipped chip preset to ``value``."""
    for preset in presets:
        path = resolve("chips", preset)
        path.write_text(re.sub(r"(?m)^dram_efficiency: .*$", f"dram_efficiency: {value}",
                               path.read_text()))
