"""Every field of the system schema acts on a parallel run or is marked informational (the
system presets' counterpart of tests/test_knob_audit.py, walking the schema the same way)."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

import hwsim
from hwsim.config.knobs import knobs
from hwsim.config.loading import set_dotted
from hwsim.config.system import SystemConfig
from hwsim.errors import HwsimError
from hwsim.parallel import load_system

SYSTEM = "4x-rtx-4090-pcie"
# keys of dicts the walker does not descend (algorithms is keyed by algorithm name)
EXTRA = ["interconnect.algorithms.ring.alpha_s", "interconnect.algorithms.ring.bus_bw_bytes_per_s",
         "interconnect.algorithms.tree.alpha_s", "interconnect.algorithms.tree.bus_bw_bytes_per_s"]


@cache
def _model() -> Any:
    return hwsim.load_model("llama2-7b", overrides={"builder.layers": 2, "builder.seq": 256,
                                                    "builder.phase": "decode"})


def _signature(system: SystemConfig) -> tuple[Any, ...]:
    try:
        r = hwsim.simulate(_model(), system, batch=4, parallel={"tp": 4})
    except HwsimError as e:
        return ("error", e.source)
    return (round(r.total.latency_s, 15), round(r.total.energy_j, 15))


def _changed(path: str, value: Any, base: dict[str, Any] | None = None) -> SystemConfig:
    doc = base or load_system(SYSTEM).model_dump(mode="json")
    set_dotted(doc, path, value, "test")
    return SystemConfig.model_validate(doc)


def _base(path: str) -> dict[str, Any]:
    """The preset, using the tree for all-reduce when the field is a tree constant (they act
    only when the tree is the algorithm used)."""
    doc = load_system(SYSTEM).model_dump(mode="json")
    if ".tree." in path:
        set_dotted(doc, "interconnect.default_algorithm", "tree", "test")
    return doc


def _get(path: str) -> Any:
    node: Any = load_system(SYSTEM).model_dump(mode="json")
    for part in path.split("."):
        node = node[part]
    return node


def _alternatives(path: str, kind: str, choices: tuple[Any, ...]) -> list[Any]:
    value = _get(path)
    if kind == "choice":
        return [c for c in choices if c != value]
    if kind == "bool":
        return [not value]
    return [1 if path == "devices" else value * 4, value / 4]


PATHS = [(k.path, k.type, k.choices, k.informational) for k in knobs(SystemConfig)
         if k.path not in ("schema_version", "kind")] + [(p, "float", (), None) for p in EXTRA]


@pytest.mark.parametrize(("path", "kind", "choices", "informational"), PATHS,
                         ids=[p[0] for p in PATHS])
def test_system_field_acts_or_is_informational(path: str, kind: str, choices: tuple[Any, ...],
                                               informational: str | None) -> None:
    base = _signature(SystemConfig.model_validate(_base(path)))
    moved = {_signature(_changed(path, v, _base(path))) != base
             for v in _alternatives(path, kind, choices)}
    if informational:
        assert moved == {False}, f"{path} is marked informational but changes results"
    else:
        assert True in moved, f"{path} changes nothing: make it act or mark it informational"
