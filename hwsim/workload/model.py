"""The Model domain object: an immutable, hashed op list with its provenance."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from hwsim.workload.ops import OpBase


@dataclass(frozen=True)
class Model:
    """A workload: ops in execution order, plus where its shapes come from."""

    name: str
    ops: tuple[OpBase, ...]
    source: str = ""
    description: str = ""
    origin: str = ""  # preset path, imported file, or "shortcut"
    content_hash: str = ""
    # The model document's accuracy source (hwsim.config.model.AccuracySource), or None: the
    # accuracy providers in hwsim.accuracy read it.
    accuracy: Any = None

    @property
    def macs(self) -> int:
        """MACs of one input (batch 1)."""
        return sum(op.macs for op in self.ops)

    @property
    def weight_bytes(self) -> int:
        return sum(op.weight_bytes for op in self.ops)

    @property
    def kv_cache_bytes(self) -> int:
        """Keys and values the attention ops keep for one input: cached tokens (a sliding
        window's rolling cache) x K/V heads x head_dim x 2, at each op's dtype."""
        return sum(getattr(op, "kv_cache_bytes", 0) for op in self.ops)


def content_hash(document: Any) -> str:
    """sha256 of a canonical JSON rendering: equal inputs, equal hash, on any machine."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def model_from_ops(name: str, ops: list[OpBase], *, source: str, description: str = "",
                   origin: str = "") -> Model:
    doc = [op.model_dump(mode="json") for op in ops]
    return Model(name=name, ops=tuple(ops), source=source, description=description,
                 origin=origin, content_hash=content_hash({"name": name, "ops": doc}))
