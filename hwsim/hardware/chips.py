"""Loading chips: preset or file -> validated, immutable Chip, with dotted-path overrides."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hwsim.config.chip import AcceleratorChip, Chip, ChipBase, GpuChip, McuChip
from hwsim.config.loading import apply_overrides, read_yaml_file, validate
from hwsim.errors import HwsimError, Problem
from hwsim.hardware.memo import per_object
from hwsim.presets import resolve
from hwsim.workload.model import content_hash

AnyChip = AcceleratorChip | GpuChip | McuChip


def load_chip(name_or_path: str | Path | AnyChip,
              overrides: Mapping[str, Any] | None = None) -> AnyChip:
    """Load a chip preset (``hwsim list chips``) or YAML file, applying ``overrides``.

    ``overrides`` maps dotted field paths to values, e.g. ``{"array.rows": 32, "dataflow": "ws"}``;
    the result is validated exactly like a file, so a bad override gets the same clear error.
    """
    if isinstance(name_or_path, ChipBase):
        doc = name_or_path.to_doc()
        source = f"chip {name_or_path.name}"
    else:
        path = resolve("chips", name_or_path)
        doc = read_yaml_file(path)
        source = str(path)
    if overrides:
        doc = apply_overrides(doc, overrides, source)
        source += " (with overrides " + ", ".join(f"{k}={v}" for k, v in overrides.items()) + ")"
    chip = validate(doc, Chip, source)
    _check_tech(chip, source)
    return chip


def chip_from_dict(doc: Mapping[str, Any], source: str = "chip document") -> AnyChip:
    chip = validate(doc, Chip, source)
    _check_tech(chip, source)
    return chip


def _check_tech(chip: AnyChip, source: str) -> None:
    from hwsim.hardware.tech import load_tech

    try:
        load_tech(chip.tech)
    except HwsimError as exc:
        hint = exc.problems[0].hint if exc.problems else None
        raise HwsimError(source, [Problem("tech", "unknown technology node table", chip.tech,
                                          hint)], summary="invalid config") from None


@per_object
def chip_hash(chip: AnyChip) -> str:
    return content_hash(chip.model_dump(mode="json"))
