"""Local sensitivity of one design point: the elasticity of latency, energy and area to every
numeric chip field and to the workload's density, batch and sequence length.

The elasticity of metric y to field x is d ln y / d ln x, taken by central difference at
x (1 ± step): +1 means "1 % more x, 1 % more y", -1 "1 % more x, 1 % less y", 0 "no effect".
Integer fields move by at least one unit; when one side is not a valid chip (a fraction above 1,
a count below 1) the other side alone gives a one-sided difference; a field that cannot be
perturbed (unset, zero, informational) is listed with the reason it was skipped.

This is the one-point, every-field view. ``hwsim.study.sensitivity`` ranks parameters over the
points a study sampled, and ``hwsim.claims.sensitivity`` checks whether a claim's verdict flips.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwsim.config.knobs import Knob, chip_knobs, get_path
from hwsim.errors import HwsimError, input_error

METRICS = ("latency_s", "energy_j", "area_mm2")
WORKLOAD_FIELDS = ("density", "batch", "seq")


@dataclass(frozen=True)
class Elasticity:
    field: str  # dotted chip path, or a workload parameter (density, batch, seq)
    value: float  # the point's value
    low: float  # the values simulated on either side (low == value: one-sided)
    high: float
    elasticity: dict[str, float | None]  # metric -> d ln metric / d ln field (None: metric 0)

    @property
    def magnitude(self) -> float:
        return max((abs(v) for v in self.elasticity.values() if v is not None), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "value": self.value, "low": self.low, "high": self.high,
                "elasticity": dict(self.elasticity)}


@dataclass(frozen=True)
class SensitivityResult:
    chip: str
    model: str
    step: float
    rows: list[Elasticity]  # sorted by magnitude, largest first
    skipped: dict[str, str] = field(default_factory=dict)  # field -> why
    simulations: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"chip": self.chip, "model": self.model, "step": self.step,
                "sensitivity": [r.to_dict() for r in self.rows],
                "skipped": [{"field": k, "reason": v} for k, v in self.skipped.items()]}


def numeric_fields(chip: Any) -> list[Knob]:
    """The chip's numeric knobs (dotted paths), in schema order."""
    return [k for k in chip_knobs(chip.kind) if k.numeric]


def sensitivity(chip: Any, model: Any, *, fields: Sequence[str] | None = None,
                step: float = 0.1, batch: int = 1, seq: int | None = None,
                phase: str | None = None, density: float | None = None,
                sparsity: Sequence[str] | None = None, fidelity: str = "analytic",
                workload: Iterable[str] = WORKLOAD_FIELDS) -> SensitivityResult:
    """Elasticities of latency_s, energy_j and area_mm2 for ``chip`` running ``model``.

    ``fields`` picks chip fields (dotted paths) and workload parameters (``density``, ``batch``,
    ``seq``); by default every numeric chip field plus ``workload``. ``density`` sets the
    density of every op whose sparsity has one before the point is evaluated."""
    import hwsim

    if not 0 < step < 1:
        raise input_error("step", "step must be between 0 and 1 (a fraction of each value)",
                          given=step)
    c = hwsim.load_chip(chip)
    knobs = {k.path: k for k in numeric_fields(c)}
    chosen = _chosen(fields, c, knobs, workload)
    m = _model(model, seq, phase)
    if sparsity:
        from hwsim.sparsity.overrides import apply_sparsity

        m = apply_sparsity(m, sparsity)
    if density is not None:
        m = _with_density(m, lambda _d: density)
    ev = _Evaluator(c, m, batch, fidelity)
    base = ev.base
    rows: list[Elasticity] = []
    skipped: dict[str, str] = {}
    for name in chosen:
        if name in WORKLOAD_FIELDS:
            out = _workload_row(name, ev, base, m, model, batch, seq, phase, step)
        else:
            out = _chip_row(knobs[name], ev, base, c, step)
        if isinstance(out, str):
            skipped[name] = out
        else:
            rows.append(out)
    rows.sort(key=lambda r: (-r.magnitude, r.field))
    return SensitivityResult(c.name, m.name, step, rows, skipped, ev.calls)


def _chosen(fields: Sequence[str] | None, chip: Any, knobs: dict[str, Knob],
            workload: Iterable[str]) -> list[str]:
    if fields is None:
        return [*knobs, *workload]
    every = {k.path: k for k in chip_knobs(chip.kind)}
    valid = [*knobs, *WORKLOAD_FIELDS]
    for f in fields:
        if f in knobs or f in WORKLOAD_FIELDS:
            continue
        if f in every:
            raise input_error("--fields", f"'{f}' is a {every[f].type} field of the "
                              f"{chip.kind} chip schema, not a number: an elasticity needs a "
                              "numeric field", given=f, hint="numeric fields: " + ", ".join(knobs))
        import difflib

        close = difflib.get_close_matches(f, valid, n=1, cutoff=0.4)
        hint = (f"did you mean '{close[0]}'?" if close else
                "numeric fields: " + ", ".join(valid))
        raise input_error("--fields", f"no numeric field '{f}' in the {chip.kind} chip schema",
                          given=f, hint=hint)
    return list(dict.fromkeys(fields))


def _model(model: Any, seq: int | None, phase: str | None) -> Any:
    import hwsim
    from hwsim.workload.model import Model

    if isinstance(model, Model):
        if seq is not None or phase is not None:
            raise input_error(model.name, "seq/phase need a model preset or file, not a built "
                              "Model")
        return model
    return hwsim.load_model(model, seq=seq, phase=phase)


class _Evaluator:
    """Simulates and keeps the three metrics; counts its simulations.

    A model of repeated identical layers is evaluated once per distinct op, each op's latency
    and energy weighted by how often it occurs, when that gives exactly the whole model's totals
    at the point itself (ops independent of one another). Capacity fields (``*_bytes``) can
    decide whether the whole model fits, so they are always evaluated on the whole model."""

    def __init__(self, chip: Any, model: Any, batch: int, fidelity: str) -> None:
        self.chip, self.model, self.batch, self.fidelity = chip, model, batch, fidelity
        self.calls = 0
        self.folded = _fold(model) if fidelity == "analytic" else None
        self.base = self._run(chip, model, batch)
        if self.folded is not None:
            folded = self._folded_metrics(chip, batch)
            same = all(math.isclose(self.base[k], folded[k], rel_tol=1e-9, abs_tol=0.0)
                       for k in METRICS)
            self.folded = self.folded if same else None

    def _run(self, chip: Any, model: Any, batch: int) -> dict[str, float]:
        import hwsim

        self.calls += 1
        t = hwsim.simulate(model, chip, batch=batch, fidelity=self.fidelity).total
        return {"latency_s": t.latency_s, "energy_j": t.energy_j, "area_mm2": t.area_mm2}

    def _folded_metrics(self, chip: Any, batch: int) -> dict[str, float]:
        import hwsim

        assert self.folded is not None
        fm, counts = self.folded
        self.calls += 1
        r = hwsim.simulate(fm, chip, batch=batch, fidelity=self.fidelity)
        return {"latency_s": sum(n * op.latency_s for n, op in zip(counts, r.ops, strict=True)),
                "energy_j": sum(n * op.energy_j for n, op in zip(counts, r.ops, strict=True)),
                "area_mm2": r.total.area_mm2}

    def metrics(self, *, chip: Any = None, model: Any = None, batch: int | None = None,
                whole: bool = False) -> dict[str, float]:
        """The metrics with the point's chip, model or batch replaced; ``model`` (another
        model) or ``whole`` evaluate the whole model."""
        chip = self.chip if chip is None else chip
        batch = self.batch if batch is None else batch
        if self.folded is not None and model is None and not whole:
            return self._folded_metrics(chip, batch)
        return self._run(chip, self.model if model is None else model, batch)


def _fold(model: Any) -> tuple[Any, list[int]] | None:
    """The model's distinct ops (first occurrence order) and how often each occurs; None when
    nothing repeats."""
    from hwsim.workload.model import Model

    keys = [_op_key(op) for op in model.ops]
    counts = Counter(keys)
    if len(counts) == len(keys):
        return None
    first: dict[str, Any] = {}
    for key, op in zip(keys, model.ops, strict=True):
        first.setdefault(key, op)
    folded = Model(name=model.name, ops=tuple(first.values()), source=model.source,
                   description=model.description, origin=model.origin,
                   content_hash=model.content_hash + ":folded", accuracy=model.accuracy)
    return folded, [counts[k] for k in first]


def _op_key(op: Any) -> str:
    import json

    # The layer index only labels an op; if a cost used it, the check at the point itself
    # would find the folded totals different and fall back to the whole model.
    return json.dumps(op.model_dump(mode="json", exclude={"name", "layer"}), sort_keys=True)


def _steps(value: float, step: float, integer: bool) -> tuple[float, float]:
    lo, hi = value * (1 - step), value * (1 + step)
    if integer:
        lo, hi = min(round(lo), value - 1), max(round(hi), value + 1)
    return lo, hi


def _elasticity(base: dict[str, float], lo: dict[str, float], hi: dict[str, float],
                x_lo: float, x_hi: float) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    dx = math.log(x_hi) - math.log(x_lo)
    for k in METRICS:
        ys = (lo[k], hi[k], base[k])
        out[k] = (None if min(ys) <= 0 else (math.log(hi[k]) - math.log(lo[k])) / dx)
    return out


def _chip_row(knob: Knob, ev: _Evaluator, base: dict[str, float], chip: Any,
              step: float) -> Elasticity | str:
    import hwsim

    if knob.informational:
        return f"informational: {knob.informational}"
    value = get_path(chip, knob.path)
    if value is None:
        return "unset on this chip"
    if value <= 0:
        return f"value {value}: a relative change of zero is zero"
    whole = knob.path.endswith("_bytes")
    sides: list[tuple[float, dict[str, float]]] = []
    reasons = []
    for x in _steps(float(value), step, knob.type == "int"):
        if x <= 0:
            reasons.append(f"{knob.path}={x:g} is not positive")
            continue
        v: float | int = int(x) if knob.type == "int" else x
        try:
            c = hwsim.load_chip(chip, {knob.path: v})
        except HwsimError as exc:
            reasons.append(exc.problems[0].message if exc.problems else str(exc))
            continue
        sides.append((float(v), ev.metrics(chip=c, whole=whole)))
    return _row(knob.path, float(value), base, sides, reasons)


def _row(name: str, value: float, base: dict[str, float],
         sides: list[tuple[float, dict[str, float]]], reasons: list[str]) -> Elasticity | str:
    if not sides:
        return "no valid perturbation: " + "; ".join(reasons)
    if len(sides) == 1:  # one-sided: the point itself is the other side
        x, y = sides[0]
        (x_lo, y_lo), (x_hi, y_hi) = sorted([(value, base), (x, y)], key=lambda t: t[0])
    else:
        (x_lo, y_lo), (x_hi, y_hi) = sides
    return Elasticity(name, value, x_lo, x_hi, _elasticity(base, y_lo, y_hi, x_lo, x_hi))


def _workload_row(name: str, ev: _Evaluator, base: dict[str, float], m: Any, model: Any,
                  batch: int, seq: int | None, phase: str | None,
                  step: float) -> Elasticity | str:
    """Density is scaled on every op that has one (the field's value is then the factor, 1)."""
    import hwsim

    if name == "batch":
        sides = [(float(b), ev.metrics(batch=int(b)))
                 for b in _steps(float(batch), step, True) if b >= 1]
        return _row(name, float(batch), base, sides, ["batch below 1"])
    if name == "seq":
        from hwsim.workload.model import Model

        if isinstance(model, Model) or _builder_seq(model) is None:
            return "the model has no sequence length (not built from a transformer builder)"
        s0 = seq or _builder_seq(model)
        sides = []
        for s in _steps(float(s0), step, True):
            if s < 1:
                continue
            ms = hwsim.load_model(model, seq=int(s), phase=phase)
            sides.append((float(s), ev.metrics(model=ms)))
        return _row(name, float(s0), base, sides, ["seq below 1"])
    densities = [op.sparsity.density for op in m.ops
                 if isinstance(getattr(getattr(op, "sparsity", None), "density", None), float)]
    if not densities:
        return "no op of the model has a density (dense model)"
    sides = []
    reasons = []
    for f in (1 - step, 1 + step):
        if max(densities) * f > 1:
            reasons.append(f"density x{f:g} exceeds 1")
            continue
        sides.append((f, ev.metrics(model=_with_density(m, lambda d, f=f: d * f))))
    return _row(name, 1.0, base, sides, reasons)


def _builder_seq(model: Any) -> int | None:
    from hwsim.config.loading import read_yaml_file
    from hwsim.presets import resolve

    if not isinstance(model, str | Path):
        return None
    doc = read_yaml_file(resolve("models", model))
    builder = doc.get("builder") or {}
    return builder.get("seq") if isinstance(builder, dict) else None


def _with_density(m: Any, new: Any) -> Any:
    """``m`` with every op's density d replaced by ``new(d)`` (at most 1)."""
    from hwsim.sparsity.overrides import apply_sparsity

    items = []
    for op in m.ops:
        spec = getattr(op, "sparsity", None)
        d = getattr(spec, "density", None)
        if isinstance(d, float):
            items.append((op.name, spec.model_copy(update={"density": min(1.0, new(d))})))
    return apply_sparsity(m, items) if items else m
