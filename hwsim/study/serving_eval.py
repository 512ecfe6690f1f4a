"""A serving study's point: one :func:`hwsim.serving.serve_tokens` run of the point's chip,
decoder workload, parallelism and scheduler limits, reduced to the stored serving metrics.
Pure: same point, same row (the run is seeded by the study's serving block)."""

from __future__ import annotations

import json
from typing import Any

from hwsim.errors import HwsimError
from hwsim.study.evaluate import base_chip, variant_model
from hwsim.study.points import Point
from hwsim.study.spec import Study

PARALLEL_KEYS = ("tp", "pp", "ep")


def run_settings(study: Study, p: Point) -> tuple[dict[str, Any], dict[str, int] | None]:
    """(serve_tokens keyword arguments from the serving block with the point's ``serving.*``
    values, the ``parallel`` dict or None when the study sweeps no parallelism)."""
    assert study.doc.serving is not None
    kw = study.doc.serving.model_dump()
    parallel: dict[str, int] = {}
    for path, value in p.run.items():
        group, name = path.split(".", 1)
        if group == "serving":
            kw[name] = float(value) if name == "rate_per_s" else int(value)
        else:
            parallel[name] = int(value)
    return kw, ({k: parallel.get(k, 1) for k in PARALLEL_KEYS} if parallel else None)


def devices_of(parallel: dict[str, int] | None) -> int:
    """Devices the run uses: the parallel spec's own count (hwsim.parallel), 1 without one."""
    if parallel is None:
        return 1
    from hwsim.parallel import parse_parallel

    return int(parse_parallel(parallel).devices)


def evaluate_serving_point(study: Study, p: Point) -> dict[str, Any]:
    """One serving run. An input error (tp not dividing the heads, a model that does not fit
    even with an empty KV cache) becomes an infeasible row with the message."""
    from hwsim.hardware.chips import load_chip
    from hwsim.parallel import is_system
    from hwsim.serving import serve_tokens

    v = p.variant
    kw, parallel = run_settings(study, p)
    extra: dict[str, Any] = {}
    if parallel is not None:
        extra["parallel"] = parallel
    info = {"parallel_json": json.dumps(parallel, sort_keys=True) if parallel else None,
            "serving_json": json.dumps(kw, sort_keys=True)}
    try:
        if is_system(p.chip):  # a system preset: serve_tokens reads its chip and network
            chip: Any = p.chip
        else:
            chip = load_chip(base_chip(p.chip), p.overrides) if p.overrides else \
                base_chip(p.chip)
        model = variant_model(v.model, 1, "decode", v.sparsity)
        r = serve_tokens(model, chip, **kw, **extra)
        devices = devices_of(parallel)
    except HwsimError as exc:
        return {"error": exc.render().replace("\n", " | "), "evaluator": "serve_tokens", **info}
    d = r.to_dict()
    good = d["goodput"]
    tpot = d["tpot_s"] or {}
    row: dict[str, Any] = {
        "ttft_p50_s": d["ttft_s"]["p50"], "ttft_p90_s": d["ttft_s"]["p90"],
        "tpot_p50_s": tpot.get("p50"), "tpot_p90_s": tpot.get("p90"),
        "e2e_p90_s": d["e2e_s"]["p90"],
        "throughput_tokens_per_s": d["throughput_tokens_per_s"],
        "energy_j_per_token": d["energy_j_per_token"],
        "goodput_requests_per_s": good["requests_per_s"], "goodput_fraction": good["fraction"],
        "devices": float(devices), "requests": d["requests"],
        "kv_cache_occupancy_max": d["kv_cache"]["occupancy_max"],
        "preemptions": d["preemptions"], "evaluator": "serve_tokens",
        # the run placed weights and a KV cache on the device(s), or serve_tokens refused it
        "fits": True, "fit_detail": f"KV cache {d['kv_cache'].get('tokens', '?')} tokens",
        **info,
    }
    return row
