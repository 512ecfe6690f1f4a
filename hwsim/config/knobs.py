"""The knobs of a config schema: every numeric, boolean and choice field, by dotted path.

Discovered from the pydantic models themselves (nested models and dicts keyed by a ``Literal``
included), so a field added to a schema is a knob without a list to update. A field that cannot
change results carries ``json_schema_extra={"informational": "<reason>"}``; the reason shows in
the JSON schema (``hwsim schema chip``), ``hwsim schema chip --informational`` and the audit
(tests/test_knob_audit.py).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

KnobType = Literal["float", "int", "bool", "choice", "pair"]


@dataclass(frozen=True)
class Knob:
    path: str  # dotted, e.g. "buffers.ifmap.size_bytes" or "tensor_flops_per_s.bf16"
    type: KnobType
    choices: tuple[Any, ...] = ()  # for "choice"
    informational: str | None = None  # why the field cannot change results, when it cannot
    optional: bool = False  # None is allowed (unset)
    description: str = ""

    @property
    def numeric(self) -> bool:
        return self.type in ("float", "int")


def _informational(field: Any) -> str | None:
    extra = field.json_schema_extra
    return extra.get("informational") if isinstance(extra, dict) else None


def _alternatives(tp: Any) -> tuple[list[Any], bool]:
    """The non-None types behind Annotated/Optional/Union, and whether None is allowed."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _alternatives(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        optional = False
        for arg in typing.get_args(tp):
            alts, opt = _alternatives(arg)
            out.extend(alts)
            optional = optional or opt or arg is type(None)
        return [t for t in out if t is not type(None)], optional
    return ([] if tp is type(None) else [tp]), tp is type(None)


def _leaf(tp: Any) -> tuple[KnobType, tuple[Any, ...]] | None:
    if tp is bool:
        return "bool", (False, True)
    if tp is int:
        return "int", ()
    if tp is float:
        return "float", ()
    if typing.get_origin(tp) is Literal:
        values = typing.get_args(tp)
        return ("choice", values) if len(values) > 1 else None  # one value is a version tag
    if typing.get_origin(tp) is tuple and all(a is int for a in typing.get_args(tp)):
        return "pair", ()
    return None


def knobs(model: type[BaseModel], prefix: str = "", inherited: str | None = None
          ) -> list[Knob]:
    """Every knob of ``model``, nested models and Literal-keyed dicts expanded."""
    out: list[Knob] = []
    for name, field in model.model_fields.items():
        path = prefix + name
        reason = _informational(field) or inherited
        alts, optional = _alternatives(field.annotation)
        optional = optional or (field.default is None and not field.is_required())
        for tp in alts:
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                out += knobs(tp, path + ".", reason)
            elif typing.get_origin(tp) is dict:
                key_t, value_t = typing.get_args(tp)
                leaf = _leaf(_alternatives(value_t)[0][0])
                if typing.get_origin(key_t) is Literal and leaf is not None:
                    out += [Knob(f"{path}.{k}", leaf[0], leaf[1], reason, True,
                                 field.description or "") for k in typing.get_args(key_t)]
            else:
                leaf = _leaf(tp)
                if leaf is not None:
                    out.append(Knob(path, leaf[0], leaf[1], reason, optional,
                                    field.description or ""))
    return _dedupe(out)


def _dedupe(items: list[Knob]) -> list[Knob]:
    seen: dict[str, Knob] = {}
    for k in items:
        seen.setdefault(k.path, k)
    return list(seen.values())


def chip_schemas() -> dict[str, type[BaseModel]]:
    """The chip schema of each kind."""
    from hwsim.config.chip import AcceleratorChip, GpuChip, McuChip

    return {"accelerator": AcceleratorChip, "gpu": GpuChip, "mcu": McuChip}


def chip_knobs(kind: str) -> list[Knob]:
    return knobs(chip_schemas()[kind])


def informational_fields() -> list[tuple[str, str, str]]:
    """(kind, dotted path, reason) of every informational chip field."""
    return [(kind, k.path, k.informational) for kind in chip_schemas()
            for k in chip_knobs(kind) if k.informational]


def get_path(doc: Any, path: str) -> Any:
    """The value at a dotted path of a model or a plain document; None when absent."""
    node = doc
    for part in path.split("."):
        if node is None:
            return None
        node = node.get(part) if isinstance(node, dict) else getattr(node, part, None)
    return node
