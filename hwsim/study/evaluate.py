"""Evaluate one point into a store row (one ``simulate`` call), and finish rows from any
evaluator with the point's provenance and constraint verdict. Pure: same point, same row."""

from __future__ import annotations

import functools
import json
from typing import Any

from hwsim import __version__
from hwsim.errors import HwsimError
from hwsim.study.points import Point
from hwsim.study.spec import Study, cached_model
from hwsim.study.verdict import accuracy_fields, derived, verdict


@functools.lru_cache(maxsize=64)
def variant_model(model: str, seq: int | None, phase: str | None,
                  sparsity: tuple[str, ...]) -> Any:
    m = cached_model(model, seq, phase)
    if not sparsity:
        return m
    from hwsim.sparsity.overrides import apply_sparsity

    return apply_sparsity(m, list(sparsity))


@functools.lru_cache(maxsize=64)
def base_chip(name: str) -> Any:
    """Base chips parsed once per process: overrides then re-validate the parsed document
    instead of re-reading the YAML for every point."""
    from hwsim.hardware.chips import load_chip

    return load_chip(name)


def evaluate_point(study: Study, p: Point) -> dict[str, Any]:
    """One ``simulate`` call. An input error (e.g. a batch too big for the op limit) becomes an
    infeasible row with the message, so one bad corner does not stop a long study."""
    from hwsim.engine.simulate import simulate
    from hwsim.hardware.chips import load_chip

    v = p.variant
    try:
        chip = load_chip(base_chip(p.chip), p.overrides) if p.overrides else base_chip(p.chip)
        model = variant_model(v.model, v.seq, v.phase, v.sparsity)
        r = simulate(model, chip, batch=v.batch, fidelity=study.doc.fidelity,
                     seed=study.doc.seed)
    except HwsimError as exc:
        return {"error": exc.render().replace("\n", " | "), "evaluator": "simulate"}
    row: dict[str, Any] = {"latency_s": r.total.latency_s, "energy_j": r.total.energy_j,
                           "area_mm2": r.total.area_mm2, "evaluator": "simulate",
                           "chip_hash": r.inputs["chip"]["hash"]}
    row.update(accuracy_fields(r))
    row.update(fit_fields(chip, model, v.batch, r))
    return row


def fit_fields(chip: Any, model: Any, batch: int, result: Any | None) -> dict[str, Any]:
    """Does the model fit? The chip kind's one memory-fit rule (its backend's ``memory_fit``):
    weights, KV cache and live activations against the memories that hold them; ``fits`` is
    None when the chip gives no capacity."""
    from hwsim.engine.backend import backend_for

    fit = backend_for(chip).memory_fit(model, chip, batch, result=result)
    return {"fits": fit.fits, "fit_detail": fit.summary}


def finish(study: Study, p: Point, row: dict[str, Any]) -> dict[str, Any]:
    v = p.variant
    out: dict[str, Any] = {
        "point_id": p.point_id, "trial": p.trial, "chip": p.chip,
        "chip_kind": study.chip_kinds[p.chip], "model": v.model, "batch": v.batch,
        "seq": v.seq, "phase": v.phase, "sparsity": v.sparsity_label,
        "params_json": json.dumps(p.params, sort_keys=True),
        "fidelity": study.doc.fidelity, "hwsim_version": __version__,
        "base_chip_hash": study.chip_hashes[p.chip],
        "model_hash": study.model_hashes[(v.model, v.seq, v.phase)],
        "study_hash": study.doc_hash,
    }
    for k in ("latency_s", "energy_j", "area_mm2"):
        out[k] = row.get(k)
    if out["latency_s"] is not None and out["energy_j"] is not None:
        out.update(derived(out["latency_s"], out["energy_j"]))
    else:
        out.update({"edp": None, "power_w": None})
    out.update(accuracy_fields(None))
    out.update({k: row[k] for k in row if k.startswith("accuracy")})
    for k in ("fits", "fit_detail", "error", "evaluator", "chip_hash"):
        out[k] = row.get(k)
    if study.doc.serving is not None:
        from hwsim.config.study_serving import serving_columns

        for k, _ in serving_columns():
            out[k] = row.get(k)
    for path, value in p.params.items():
        out["param." + path] = value
    out["feasible"], out["violations"] = verdict(out, list(study.doc.constraints))
    return out
