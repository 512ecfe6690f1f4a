"""Literature provider: published curves shipped in ``configs/accuracy``, read with citations.

A model names a curve (``accuracy: {literature: wanda-llama2-7b-2of4}``); the curve is read at
the model's effective density (:mod:`hwsim.accuracy.density`) with monotone PCHIP
(:mod:`hwsim.accuracy.interp`). The answer cites the published points it comes from; a model the
curve does not cover (another sparsity kind, other ops, another N:M pattern) gets ``unknown``
with the reason.
"""

from __future__ import annotations

import difflib
from functools import lru_cache

from hwsim.accuracy.base import Accuracy, unknown
from hwsim.accuracy.density import effective_density
from hwsim.accuracy.interp import read_at
from hwsim.config.accuracy import Citation, LiteratureCurveDoc
from hwsim.config.loading import read_yaml_file, validate
from hwsim.errors import input_error
from hwsim.presets import accuracy_curve_dir
from hwsim.workload.model import Model

CURVE_DIR = accuracy_curve_dir()


def list_curves() -> list[str]:
    """Names (file stems) of the shipped literature curves."""
    return sorted(p.stem for p in CURVE_DIR.glob("*.yaml") if p.is_file())


@lru_cache(maxsize=64)
def load_curve(name: str) -> LiteratureCurveDoc:
    """The validated curve ``configs/accuracy/<name>.yaml``."""
    names = list_curves()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = ("did you mean " + " or ".join(repr(c) for c in close) + "?") if close else (
            "shipped curves: " + ", ".join(names))
        raise input_error(f"literature curve {name}", "no such literature curve", given=name,
                          hint=hint)
    path = CURVE_DIR / f"{name}.yaml"
    doc: LiteratureCurveDoc = validate(read_yaml_file(path), LiteratureCurveDoc, str(path))
    if doc.name != name:
        raise input_error(str(path), "the curve's name must equal its file name",
                          field="name", given=doc.name, hint=f"set name: {name}")
    return doc


def cite(c: Citation) -> str:
    text = f"{c.paper}, {c.table} ({c.url})"
    return text + (f" [secondary: {c.via}]" if c.transcription == "secondary" else "")


def metric_name(curve: LiteratureCurveDoc) -> str:
    """The Accuracy.metric string: the unit travels in the name (accuracy_pct is 0-100)."""
    return curve.metric + ("_pct" if curve.unit == "percent" else "")


def curve_accuracy(model: Model, curve: LiteratureCurveDoc) -> Accuracy:
    """``model``'s accuracy read on ``curve``, or unknown (with why) when it does not apply."""
    sp = curve.sparsity
    cov = effective_density(model, kinds=[sp.kind, *sp.also_kinds], ops=sp.ops,
                            density_ops=sp.density_ops or None,
                            nm_pattern=(sp.n, sp.m) if sp.n is not None and sp.m is not None
                            else None)
    label = f"literature curve {curve.name} ({curve.method}, {curve.model_family})"
    if cov.density is None:
        return unknown(f"{label} does not cover {model.name}: {cov.reason}")
    reading = read_at([p.density for p in curve.points], [p.value for p in curve.points],
                      cov.density)
    used = [curve.points[i] for i in reading.used]
    notes = [reading.note, *cov.notes]
    if set(cov.kinds) & set(sp.also_kinds):
        notes.append(sp.also_note)
    if sp.selection == "exact" and any(op.role == "predictor" for op in model.ops):
        notes.append("the source chose the active elements exactly; this model's predictor "
                     "may miss some, which would cost accuracy not counted here")
    if any(p.citation.transcription == "secondary" for p in used):
        notes.append("read from a transcription of the source table, not the source itself")
    if curve.notes:
        notes.append(curve.notes)
    source = (f"{curve.method} on {curve.model_family}, {curve.metric_detail}; points: "
              + "; ".join(f"[{p.label or p.density}] {cite(p.citation)}" for p in used))
    return Accuracy(value=reading.value, metric=metric_name(curve), provenance="literature",
                    source=source, ci=None, extrapolated=reading.extrapolated,
                    density=cov.density, notes=" | ".join(n for n in notes if n))
