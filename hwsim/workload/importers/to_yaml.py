"""Model -> editable model YAML (schema_version 1, one flow-style line per op, as in
models/resnet18.yaml) that ``hwsim.workload.load.model_from_doc`` reads back to the same ops."""

from __future__ import annotations

import math
from typing import Any

import yaml

from hwsim.workload.importers.common import ImportedModel, WeightStats
from hwsim.workload.model import Model
from hwsim.workload.ops import OpBase

_WIDE = math.inf  # never fold a line: one op per line is the point of the format
# Shown even at their defaults: a reader checks a convolution's stride and padding first.
_ALWAYS: dict[str, tuple[str, ...]] = {"conv2d": ("stride", "padding")}


def model_to_yaml(model: Model, *, header: str | None = None) -> str:
    """The model as YAML text, opening with the comment line ``header`` (default: where it was
    read from). Imported models also get comments: skipped layout ops and, per op, its weight
    bytes and zero fraction (data the op schema does not hold yet)."""
    default = f"hwsim model read from {model.origin or model.name}: an op list to edit freely"
    lines = [f"# {header or default}"]
    by_op: dict[str, list[WeightStats]] = {}
    if isinstance(model, ImportedModel):
        if model.skipped:
            lines.append("# Skipped at no cost: "
                         + ", ".join(f"{t} x{n}" for t, n in model.skipped))
        for w in model.weights:
            by_op.setdefault(w.op, []).append(w)
        zf = model.weight_zero_fraction
        if zf is not None:
            total = sum(w.bytes for w in model.weights if w.role == "weight")
            lines.append(f"# Weights: {total:,} bytes, {100 * zf:.1f} % zero")
    head = {"schema_version": 1, "name": model.name, "description": model.description,
            "source": model.source or model.origin or "unknown"}
    lines.append(yaml.safe_dump(head, sort_keys=False, width=_WIDE, allow_unicode=True).rstrip())
    lines.append("ops:")
    for op in model.ops:
        line = "  - " + _flow(_op_doc(op))
        note = _weights_note(by_op.get(op.name, []))
        lines.append(f"{line}  # {note}" if note else line)
    return "\n".join(lines) + "\n"


def _op_doc(op: OpBase) -> dict[str, Any]:
    """kind, name and dtype first (what a reader looks for), then every non-default field in
    schema order."""
    fields = type(op).model_fields
    kind = fields["kind"].default  # every concrete op has a fixed kind tag
    shown = op.model_dump(mode="json", exclude_defaults=True)
    full = op.model_dump(mode="json")
    doc: dict[str, Any] = {"kind": kind, "name": op.name, "dtype": op.dtype}
    for key in fields:
        if key in doc or (key not in shown and key not in _ALWAYS.get(kind, ())):
            continue
        value = full[key]
        doc[key] = int(value) if isinstance(value, float) and value.is_integer() else value
    return doc


def _flow(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, default_flow_style=True, sort_keys=False, width=_WIDE,
                          allow_unicode=True).strip()


def _weights_note(stats: list[WeightStats]) -> str:
    parts = []
    for w in stats:
        zero = ""
        if w.zero_fraction is not None and w.role != "bias":
            zero = f" ({100 * w.zero_fraction:.1f} % zero)"
        parts.append(f"{w.role} {w.bytes:,} B {w.dtype}{zero}")
    return ", ".join(parts)
