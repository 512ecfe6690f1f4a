"""What the sidebar describes: chips (preset + edited key parameters), a model, sparsity, batch
and fidelity. Plain data, no Streamlit, so the pages, the exports and the tests share it.

The sparsity a page simulates is always a list of ``--sparsity`` strings (the CLI's syntax), so
every view can be reproduced with ``hwsim simulate`` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

from hwsim.config.chip import KernelLibrary

DEFAULT_MODEL = "selective-llama2-7b"  # has a literature accuracy curve to show
DEFAULT_CHIPS = ("sparseflow-accel", "a100-sxm-80gb")
MAX_CHIPS = 4
AS_DEFINED = "as defined"  # keep the model's own sparsity
SPARSITY_KINDS = (AS_DEFINED, "dense", "topk", "relu", "attention_gate", "nm", "moe")
# Log-spaced so the 1-3 %-active regime of liquid networks is as easy to reach as 50 %.
DENSITY_STEPS = (0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2,
                 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@dataclass(frozen=True)
class ParamSpec:
    """One editable chip field: its dotted path and how it is shown (SI value = shown x scale)."""

    path: str
    label: str
    scale: float = 1.0
    integer: bool = False
    boolean: bool = False
    choices: tuple[str, ...] | None = None
    kind: str = "number"

    def to_display(self, si_value: Any) -> Any:
        if self.boolean or self.choices is not None:
            return si_value
        value = si_value / self.scale
        return round(value) if self.integer else float(value)

    def to_si(self, shown: Any) -> Any:
        if self.boolean:
            return bool(shown)
        if self.choices is not None:
            return str(shown)
        value = shown * self.scale
        return round(value) if self.integer else float(value)


def _num(path: str, label: str, scale: float = 1.0, integer: bool = False) -> ParamSpec:
    return ParamSpec(path, label, scale=scale, integer=integer)


def _flag(path: str, label: str) -> ParamSpec:
    return ParamSpec(path, label, boolean=True)


def _choice(path: str, label: str, choices: tuple[str, ...]) -> ParamSpec:
    return ParamSpec(path, label, choices=choices)


TECH_NODES = ("65nm", "45nm", "28nm", "16nm", "7nm", "5nm")  # the tables in configs/tech
_KIB, _GBPS, _MHZ = 1024.0, 1e9, 1e6
KEY_PARAMS: dict[str, tuple[ParamSpec, ...]] = {
    "accelerator": (
        _num("array.rows", "array rows (PEs)", integer=True),
        _num("array.cols", "array cols (PEs)", integer=True),
        # rs (row-stationary) needs PE scratchpads: offered on chips that have them (eyeriss-like)
        _choice("dataflow", "dataflow", ("os", "ws", "is")),
        _choice("mapping_objective", "mapper objective", ("energy", "latency", "edp")),
        _num("buffers.ifmap.size_bytes", "ifmap buffer (KiB)", _KIB, integer=True),
        _num("buffers.filter.size_bytes", "weight buffer (KiB)", _KIB, integer=True),
        _num("buffers.ofmap.size_bytes", "ofmap buffer (KiB)", _KIB, integer=True),
        _num("offchip.bw_bytes_per_s", "off-chip bandwidth (GB/s)", _GBPS),
        _num("clock_hz", "clock (MHz)", _MHZ),
        _choice("tech", "technology node", TECH_NODES),
        _flag("sparse_features.zero_gating", "zero gating"),
        _flag("sparse_features.zero_skipping", "zero skipping"),
        _flag("sparse_features.gather", "gather active weights"),
    ),
    "gpu": (
        _num("sms", "SMs", integer=True),
        _num("clock_hz", "clock (MHz)", _MHZ),
        _num("offchip.bw_bytes_per_s", "HBM/DRAM bandwidth (GB/s)", _GBPS),
        _choice("tech", "technology node", TECH_NODES),
        _flag("sparse_features.gather", "gather-GEMM kernels"),
    ),
    "mcu": (
        _num("clock_hz", "clock (MHz)", _MHZ),
        _choice("kernel_library", "kernel library",
                get_args(KernelLibrary)),
        _num("flash_wait_states", "flash wait states", integer=True),
        _choice("tech", "technology node", TECH_NODES),
    ),
}


def get_path(doc: dict[str, Any], path: str) -> Any:
    """``doc["a"]["b"]`` for ``"a.b"``; None when a level is missing."""
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


@dataclass(frozen=True)
class ChipChoice:
    """A chip preset plus the fields the sidebar changed (dotted path -> SI value)."""

    preset: str
    overrides: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        return self.preset + (" (edited)" if self.overrides else "")

    def overrides_dict(self) -> dict[str, Any]:
        return dict(self.overrides)


@dataclass(frozen=True)
class Design:
    """Everything one comparison needs; hashable, so it keys the simulation cache."""

    model: str  # preset name or the path of an uploaded file
    model_label: str
    chips: tuple[ChipChoice, ...]
    sparsity: tuple[str, ...] = ()
    batch: int = 1
    fidelity: str = "analytic"


@dataclass(frozen=True)
class SparseOp:
    name: str
    op_kind: str
    spec: dict[str, Any]  # the op's SparsitySpec as a document


def default_kind(sparse_ops: list[SparseOp]) -> str:
    """The sparsity kind the model mostly uses, or "as defined" for a dense model."""
    kinds = [op.spec["kind"] for op in sparse_ops if op.spec.get("kind") != "dense"]
    return max(set(kinds), key=kinds.count) if kinds else AS_DEFINED


def default_globs(sparse_ops: list[SparseOp], kind: str) -> str:
    """Op globs covering the ops that already carry ``kind`` ("*.ffn_up, *.ffn_down"), or "*"
    (every op the kind applies to) when none does."""
    out: list[str] = []
    for op in sparse_ops:
        if op.spec.get("kind") != kind:
            continue
        glob = "*." + op.name.rsplit(".", 1)[1] if "." in op.name else op.name
        if glob not in out:
            out.append(glob)
    return ", ".join(out) if out else "*"


def base_spec(sparse_ops: list[SparseOp], kind: str) -> dict[str, Any]:
    """The model's own spec of ``kind`` (its first op of that kind), so an override changes only
    what the sidebar moves, not the model's other settings."""
    for op in sparse_ops:
        if op.spec.get("kind") == kind:
            return {k: v for k, v in op.spec.items() if k != "kind"}
    return {}


def _spec_defaults(kind: str) -> dict[str, Any]:
    from pydantic import TypeAdapter

    from hwsim.config.sparsity import SparsitySpec

    required = {"topk": {"density": 1.0}, "relu": {"density": 1.0},
                "attention_gate": {"keep_ratio": 1.0}}.get(kind, {})
    spec = TypeAdapter(SparsitySpec).validate_python({"kind": kind, **required})
    return {k: v for k, v in spec.model_dump(mode="json").items() if k not in ("kind",)}


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_yaml_scalar(v) for v in value) + "]"
    return str(value)


def sparsity_strings(globs: str, kind: str, fields: dict[str, Any]) -> tuple[str, ...]:
    """``--sparsity`` strings for each glob: only the fields that differ from the kind's defaults
    (``parse_sparsity`` splits on commas, so a per-input spread is written as
    ``variability={std: X}`` and the spread's seed stays at its default)."""
    if kind == AS_DEFINED:
        return ()
    patterns = [g.strip() for g in globs.split(",") if g.strip()] or ["*"]
    if kind == "dense":
        return tuple(f"{g}:dense" for g in patterns)
    defaults = _spec_defaults(kind)
    items: list[str] = []
    for key, value in fields.items():
        if key == "variability":
            std = float((value or {}).get("std", 0.0))
            if std > 0:
                items.append(f"variability={{std: {std!r}}}")
            continue
        if key in defaults and defaults[key] == value and key not in ("density", "keep_ratio"):
            continue
        items.append(f"{key}={_yaml_scalar(value)}")
    tail = ",".join(items)
    return tuple(f"{g}:{kind}" + (f":{tail}" if tail else "") for g in patterns)
