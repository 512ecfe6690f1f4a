"""Evaluate a chunk of points into store rows: the vectorised analytic sweep where it applies,
one ``simulate`` call per point otherwise. Pure: same points in, same rows out, on any worker."""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from typing import Any

from hwsim import __version__
from hwsim.errors import HwsimError
from hwsim.study.points import Point
from hwsim.study.spec import Study, Variant, cached_model
from hwsim.study.verdict import accuracy_fields, derived, verdict


def evaluate_chunk(study: Study, points: list[Point]) -> list[dict[str, Any]]:
    """Rows (one per point, same order) with objectives, constraint verdict and provenance."""
    from hwsim.study.vectorised import try_vectorised

    groups: dict[tuple[str, Variant], list[int]] = defaultdict(list)
    for i, p in enumerate(points):
        groups[(p.chip, p.variant)].append(i)
    rows: list[dict[str, Any] | None] = [None] * len(points)
    for (chip, variant), idx in groups.items():
        fast = try_vectorised(study, chip, variant, [points[i] for i in idx])
        for j, i in enumerate(idx):
            rows[i] = fast[j] if fast is not None else evaluate_point(study, points[i])
    return [finish(study, points[i], r) for i, r in enumerate(rows) if r is not None]


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
    row.update(fit_fields(chip, model, r))
    return row


def fit_fields(chip: Any, model: Any, result: Any | None) -> dict[str, Any]:
    """Does the model fit? MCUs: weights in flash and the activation arena in SRAM (the MCU
    engine's check). Accelerators and GPUs: the model's weights in off-chip memory; unknown
    when the chip gives no capacity."""
    if chip.kind == "mcu" and result is not None:
        fit = next((op.mapping["fit"] for op in result.ops if "fit" in op.mapping), None)
        if fit is not None:
            return {"fits": bool(fit["fits"]), "fit_detail":
                    f"weights {fit['weights_bytes']:,} B of {fit['flash_bytes']:,} B flash, "
                    f"arena {fit['arena_bytes']:,} B of {fit['sram_bytes']:,} B SRAM"}
    cap = getattr(getattr(chip, "offchip", None), "size_bytes", None)
    w = int(model.weight_bytes)
    if cap is None:
        return {"fits": None, "fit_detail": f"weights {w:,} B; chip gives no off-chip capacity"}
    return {"fits": w <= cap, "fit_detail": f"weights {w:,} B of {cap:,} B off-chip"}


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
    for path, value in p.params.items():
        out["param." + path] = value
    out["feasible"], out["violations"] = verdict(out, list(study.doc.constraints))
    return out
