"""Models and simulations for claim scenarios, each built or simulated once per run.

Every number comes from :func:`hwsim.simulate`; the cache only avoids asking twice (claims share
baselines, and a sensitivity re-simulates mostly unchanged points).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import hwsim
from hwsim.config.claims import DensityAxis, SparsityItem, SparsityOverride, Workload
from hwsim.config.loading import validate
from hwsim.config.sparsity import SparsitySpec
from hwsim.engine.result import Result
from hwsim.hardware.chips import AnyChip
from hwsim.sparsity.overrides import apply_sparsity, dense_twin
from hwsim.workload.load import load_model
from hwsim.workload.model import Model
from hwsim.workload.training import training_step

Overrides = tuple[tuple[str, Any], ...]


def density_item(axis: DensityAxis, value: float) -> list[tuple[str, object]]:
    """The (glob, spec) overrides that set the axis to ``value``."""
    doc = {"kind": axis.kind, **axis.extra, axis.key: value}
    globs = [axis.glob] if isinstance(axis.glob, str) else axis.glob
    spec = validate(doc, SparsitySpec, f"density axis {','.join(globs)}:{axis.kind}")
    return [(g, spec) for g in globs]


def sparsity_item(item: SparsityItem) -> str | tuple[str, object]:
    return (item.glob, item.spec) if isinstance(item, SparsityOverride) else item


class Sim:
    """One claims run's models, chips and results, keyed by what determines them."""

    def __init__(self, fidelity: str = "analytic") -> None:
        self.fidelity = fidelity
        self._bases: dict[str, Model] = {}
        self._models: dict[str, Model] = {}
        # Results are keyed by how a model was built: apply_sparsity's content hash names a
        # (glob, spec) override by glob and kind only, so two densities would share it.
        self._keys: dict[int, str] = {}
        self._chips: dict[tuple[str, Overrides], AnyChip] = {}
        self._results: dict[tuple[str, str, Overrides, int], Result] = {}
        self.calls = 0  # simulate calls actually made (cache misses)

    def model(self, w: Workload, *, seq: int | None = None,
              density: Sequence[tuple[str, object]] = (), extra: Sequence[SparsityItem] = (),
              dense: bool = False) -> Model:
        """The workload at ``seq`` with its sparsity, the density override and ``extra``
        applied in that order; ``dense`` gives its dense twin. Training expands last, so the
        backward pass follows the forward masks."""
        items = [sparsity_item(i) for i in (*w.sparsity, *extra)]
        items += density
        if dense:  # the twin drops all sparsity: one twin serves every density
            items = []
        key = json.dumps([w.model_dump(mode="json"), seq, [_item_key(i) for i in items], dense],
                         sort_keys=True, default=str)
        if key not in self._models:
            m = self._base(w, seq if seq is not None else w.seq)
            if items:
                m = apply_sparsity(m, items)
            if dense:
                m = dense_twin(m)
            self._models[key] = training_step(m) if w.mode == "training" else m
            self._keys[id(self._models[key])] = key
        return self._models[key]

    def _base(self, w: Workload, seq: int | None) -> Model:
        """The preset as loaded (parsing YAML is the slow part of a claims run)."""
        key = json.dumps([w.model, seq, w.phase, w.builder], sort_keys=True, default=str)
        if key not in self._bases:
            self._bases[key] = load_model(w.model, seq=seq, phase=w.phase, overrides={
                f"builder.{k}": v for k, v in w.builder.items()} or None)
        return self._bases[key]

    def chip(self, name: str, overrides: Mapping[str, Any] | None = None) -> AnyChip:
        key = (name, _freeze(overrides))
        if key not in self._chips:
            self._chips[key] = hwsim.load_chip(name, dict(overrides) if overrides else None)
        return self._chips[key]

    def run(self, model: Model, chip: str, batch: int,
            overrides: Mapping[str, Any] | None = None) -> Result:
        key = (self._keys.get(id(model), model.content_hash), chip, _freeze(overrides), batch)
        if key not in self._results:
            self.calls += 1
            self._results[key] = hwsim.simulate(model, self.chip(chip, overrides), batch=batch,
                                                fidelity=self.fidelity)
        return self._results[key]


def _freeze(overrides: Mapping[str, Any] | None) -> Overrides:
    return tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in (overrides or {}).items()))


def _item_key(item: str | tuple[str, object]) -> Any:
    if isinstance(item, str):
        return item
    glob, spec = item
    dump = getattr(spec, "model_dump", None)
    return [glob, dump(mode="json") if dump else str(spec)]
