"""Loading chips: preset or file -> validated, immutable Chip, with dotted-path overrides."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hwsim.config.chip import AcceleratorChip, Chip, ChipBase, GpuChip, McuChip
from hwsim.config.loading import apply_overrides, parse_yaml_text, read_config_text, validate
from hwsim.errors import HwsimError, Problem
from hwsim.hardware.memo import per_object
from hwsim.presets import resolve
from hwsim.workload.model import content_hash

AnyChip = AcceleratorChip | GpuChip | McuChip

# Validated chips by (file, its content, overrides): a preset loaded again (each
# ``simulate`` by name, a sweep point, a fit row) is the same immutable object, so what is memoised
# per chip object (its per-action energies, its hash, its prepared tables) is computed once per
# process instead of once per call. An edited chip file, or an edited tech table (checked on every
# hit: the tech loader returns a new table per file mtime), gives a new chip. Kept small: each
# chip carries what is memoised on it (a cycle run's kernels among them).
MAX_CACHED_CHIPS = 64
_CHIPS: OrderedDict[tuple[str, str, str], tuple[AnyChip, object]] = OrderedDict()
_CHIPS_LOCK = threading.Lock()


def load_chip(name_or_path: str | Path | AnyChip,
              overrides: Mapping[str, Any] | None = None) -> AnyChip:
    """Load a chip preset (``hwsim list chips``) or YAML file, applying ``overrides``.

    ``overrides`` maps dotted field paths to values, e.g. ``{"array.rows": 32, "dataflow": "ws"}``;
    the result is validated exactly like a file, so a bad override gets the same clear error.
    """
    if isinstance(name_or_path, ChipBase):
        return _load(name_or_path.to_doc(), f"chip {name_or_path.name}", overrides)
    path = resolve("chips", name_or_path)
    # One read per load: the cache key digests the same text that a miss parses.
    text = read_config_text(path)
    key = _cache_key(path, text, overrides)
    if key is not None:
        with _CHIPS_LOCK:
            hit = _CHIPS.get(key)
        if hit is not None and _tech_table(hit[0]) is hit[1]:
            with _CHIPS_LOCK:
                _CHIPS.move_to_end(key)
            return hit[0]
    chip = _load(parse_yaml_text(text, str(path)), str(path), overrides)
    if key is not None:
        with _CHIPS_LOCK:
            _CHIPS[key] = (chip, _tech_table(chip))
            while len(_CHIPS) > MAX_CACHED_CHIPS:
                _CHIPS.popitem(last=False)
    return chip


def _load(doc: dict[str, Any], source: str, overrides: Mapping[str, Any] | None) -> AnyChip:
    if overrides:
        doc = apply_overrides(doc, overrides, source)
        source += " (with overrides " + ", ".join(f"{k}={v}" for k, v in overrides.items()) + ")"
    chip = validate(doc, Chip, source)
    _check_tech(chip, source)
    return chip


def _cache_key(path: Path, text: str, overrides: Mapping[str, Any] | None
               ) -> tuple[str, str, str] | None:
    """The cache key of a chip file with overrides: its path, a digest of its text (not its
    mtime, which a file rewritten within one clock tick keeps) and the overrides; None when an
    override is not plain data (such a load is not cached, and the loader reports any error)."""
    try:
        over = json.dumps(dict(overrides or {}), sort_keys=True)
    except (TypeError, ValueError):
        return None
    return str(path.resolve()), hashlib.sha256(text.encode("utf-8")).hexdigest(), over


def _tech_table(chip: AnyChip) -> object:
    from hwsim.hardware.tech import load_tech

    return load_tech(chip.tech)


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
