"""What one batch costs the chip: service time and energy per batch, from the engine.

Law. A batch of B requests whose inputs have activation densities d_1..d_B costs what the
analytic engine says a batch of B costs at the batch-mean density::

    latency_s(B, d_eff), dynamic_energy_j(B, d_eff),   d_eff = (d_1 + ... + d_B) / B

The engine itself models the batch union (the weights a batch fetches follow the union of its
tokens' active neurons, 1-(1-d)^B when independent), so the union is priced for that B; the
serving layer only chooses B and d_eff. For each batch size B that occurs the engine is
evaluated once on a density grid, and costs in between are linear interpolations in d.

Per-request density. A model's ``topk``/``relu`` ops with ``variability.std > 0`` (or every
``topk``/``relu`` op when the caller passes ``density_std``) vary per request. One op is the
reference: the one with the largest std (the first among equals). A request draws its
reference density from the spec's law, ``clip(mean + std * z, 0, 1)`` with z standard normal
(:func:`hwsim.sparsity.realise.draw_densities`), and every variable op sits at the same
standard score z: an input is uniformly easy or hard across layers. The grid spans z in
[-4, 4] (9 points); a batch mean outside it (probability ~6e-5 for a single request, less for
a batch) is clamped to the grid's end.

Limits, stated so nobody over-reads the numbers:

* The batch mean stands for the whole batch. On an output-stationary array with zero
  skipping, the slowest lane (the densest request) sets a fold's time; the engine's expected
  lane maximum already includes the population's spread (the spec's std), but not which
  requests happen to share this batch.
* The union law is the engine's (independent or token-correlated tokens); requests are
  treated like tokens, i.e. no cross-request correlation of active neurons beyond that.
* MoE routing, attention gates, N:M and traces are taken at their nominal values: they do not
  vary per request here.
* Interpolating between grid points is linear; the engine's cycle counts are step functions
  (ceil of active rows), so an interpolated cost can sit up to one step off the engine's.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hwsim.config.sparsity import ReluSpec, TopKSpec, Variability
from hwsim.engine.simulate import simulate
from hwsim.errors import input_error
from hwsim.hardware.chips import AnyChip, chip_hash, load_chip
from hwsim.sparsity.overrides import apply_sparsity
from hwsim.sparsity.realise import draw_densities
from hwsim.workload.load import load_model
from hwsim.workload.model import Model, content_hash

GRID_Z = np.linspace(-4.0, 4.0, 9)  # standard scores of the density grid
_CACHE_SIZE = 4096
# (model variant hash, chip hash, batch) -> (latency_s, dynamic_energy_j, static_power_w)
_CACHE: OrderedDict[tuple[str, str, int], tuple[float, float, float]] = OrderedDict()


@dataclasses.dataclass(frozen=True)
class DensityLaw:
    """Per-request density of the reference op: ``clip(mean + std * z, 0, 1)``."""

    mean: float
    std: float
    seed: int = 0  # the spec's variability seed, mixed with the run's seed

    def draw(self, n: int, seed: int | np.random.SeedSequence) -> np.ndarray:
        """``n`` densities (fractions), float64 (n,); the same seed gives the same draws."""
        mixed = np.random.SeedSequence([_entropy(seed), self.seed])
        return draw_densities(n, self.mean, self.std, mixed)


class ServiceModel:
    """Service time (s) and dynamic energy (J) of one batch of ``model`` on ``chip``.

    Build it once per (model, chip, sparsity); :meth:`cost` is then a table lookup. Engine
    evaluations are cached across instances by content hash.
    """

    def __init__(self, model: Model | str | Path, chip: AnyChip | str | Path, *,
                 sparsity: Sequence[str | tuple[str, object]] | None = None,
                 density_std: float | None = None) -> None:
        m = model if isinstance(model, Model) else load_model(model)
        self.model = apply_sparsity(m, sparsity) if sparsity else m
        self.chip = chip if not isinstance(chip, str | Path) else load_chip(chip)
        if density_std is not None and not 0.0 <= density_std <= 1.0:
            raise input_error("density_std", "expected a fraction in [0, 1]", given=density_std)
        self._specs = _variable_specs(self.model, density_std)
        ref = max(self._specs.values(), key=lambda s: s.variability.std, default=None)
        self.law: DensityLaw | None = None if ref is None else DensityLaw(
            ref.density, ref.variability.std, ref.variability.seed)
        self.grid = (np.array([0.0]) if self.law is None else
                     np.unique(np.clip(self.law.mean + self.law.std * GRID_Z, 0.0, 1.0)))
        self._tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._chip_hash = chip_hash(self.chip)
        self.static_power_w = self._evaluate(1, float(self.grid[len(self.grid) // 2]))[2]

    @property
    def variable(self) -> bool:
        """True when requests draw their own density (a non-degenerate density law)."""
        return len(self.grid) > 1

    def draw_densities(self, n: int, seed: int | np.random.SeedSequence) -> np.ndarray:
        """Per-request reference densities, float64 (n,); the grid's single point (the law's
        mean, or 0 when the model has no variable op) for every request when nothing varies."""
        if not self.variable or self.law is None:
            return np.full(n, float(self.grid[0]))
        return self.law.draw(n, seed)

    def cost(self, batch: int, density: float) -> tuple[float, float]:
        """(latency_s, dynamic_energy_j) of one batch of ``batch`` requests at mean density
        ``density`` (ignored when nothing varies). Static energy is not included."""
        latency, energy = self.table(batch)
        if latency.shape[0] == 1:
            return float(latency[0]), float(energy[0])
        return (float(np.interp(density, self.grid, latency)),
                float(np.interp(density, self.grid, energy)))

    def table(self, batch: int) -> tuple[np.ndarray, np.ndarray]:
        """Latency (s) and dynamic energy (J) of a batch of ``batch`` over :attr:`grid`."""
        found = self._tables.get(batch)
        if found is None:
            rows = [self._evaluate(batch, float(d))[:2] for d in self.grid]
            found = (np.array([r[0] for r in rows]), np.array([r[1] for r in rows]))
            self._tables[batch] = found
        return found

    def nominal_cost(self, batch: int) -> tuple[float, float]:
        """Cost of a batch at the law's mean density (the model as written)."""
        mean = self.law.mean if self.law is not None else 0.0
        return self.cost(batch, mean)

    def _evaluate(self, batch: int, density: float) -> tuple[float, float, float]:
        variant = self._variant(density)
        key = (variant.content_hash, self._chip_hash, batch)
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
        total = simulate(variant, self.chip, batch=batch).total
        static_j = total.energy_breakdown_j.get("static", 0.0)
        value = (total.latency_s, total.energy_j - static_j, total.static_power_w)
        _CACHE[key] = value
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
        return value

    def _variant(self, density: float) -> Model:
        """The model with every variable op at the standard score of reference ``density``."""
        if self.law is None or not self.variable:
            return self.model
        z = (density - self.law.mean) / self.law.std
        specs = {i: s.model_copy(update={"density": float(np.clip(
            s.density + s.variability.std * z, 0.0, 1.0))}) for i, s in self._specs.items()}
        ops = tuple(op.model_copy(update={"sparsity": specs[i]}) if i in specs else op
                    for i, op in enumerate(self.model.ops))
        digest = content_hash({"base": self.model.content_hash,
                               "densities": {self.model.ops[i].name: s.density
                                             for i, s in specs.items()}})
        return dataclasses.replace(self.model, ops=ops, content_hash=digest)


def _variable_specs(model: Model, density_std: float | None) -> dict[int, TopKSpec | ReluSpec]:
    """Op index -> its top-k/ReLU spec, for the ops whose density varies per request."""
    out: dict[int, TopKSpec | ReluSpec] = {}
    for i, op in enumerate(model.ops):
        spec = op.sparsity
        if not isinstance(spec, TopKSpec | ReluSpec):
            continue
        if density_std is not None:
            spec = spec.model_copy(update={"variability": Variability(
                std=density_std, seed=spec.variability.seed)})
        if spec.variability.std > 0.0:
            out[i] = spec
    return out


def _entropy(seed: int | np.random.SeedSequence) -> int:
    if isinstance(seed, np.random.SeedSequence):
        return int(seed.generate_state(1, np.uint64)[0])
    return int(seed)
