"""A serving study's point: one :func:`hwsim.serving.serve_tokens` run of the point's chip,
decoder workload, parallelism and scheduler limits, reduced to the stored serving metrics.
Pure: same point, same row (the run is seeded by the study's serving block)."""

from __future__ import annotations

import inspect
import json
from typing import Any

from hwsim.config.study_serving import SERVING_INFO_COLUMNS, SERVING_METRICS
from hwsim.errors import HwsimError, input_error
from hwsim.study.points import Point
from hwsim.study.spec import Study

PARALLEL_KEYS = ("tp", "pp", "ep")


def serving_columns() -> list[tuple[str, str]]:
    """Store columns of a serving study, after the fixed ones."""
    return [(m, "DOUBLE") for m in SERVING_METRICS] + list(SERVING_INFO_COLUMNS.items())


def supports_parallel() -> bool:
    """Does this checkout's ``serve_tokens`` take ``parallel=`` (issue 19 item 3)?"""
    from hwsim.serving import serve_tokens

    return "parallel" in inspect.signature(serve_tokens).parameters


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
    from hwsim.serving import serve_tokens
    from hwsim.study.evaluate import base_chip, variant_model

    v = p.variant
    kw, parallel = run_settings(study, p)
    extra: dict[str, Any] = {}
    if parallel is not None:
        if not supports_parallel():
            return {"error": "parallel.*: tensor/pipeline/expert parallelism is not in this "
                    "checkout's hwsim.serving", "evaluator": "serve_tokens"}
        extra["parallel"] = parallel
    info = {"parallel_json": json.dumps(parallel, sort_keys=True) if parallel else None,
            "serving_json": json.dumps(kw, sort_keys=True)}
    try:
        chip = load_chip(base_chip(p.chip), p.overrides) if p.overrides else base_chip(p.chip)
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


def check_serving(study_doc: Any) -> None:
    """Check the serving block's length specs and every swept parallel value before the first
    point (exit 2 naming the field): lengths parse, and each workload is a decoder model."""
    from hwsim.serving.lengths import parse_lengths
    from hwsim.serving.tokens import is_decoder
    from hwsim.study.spec import cached_model

    s = study_doc.serving
    parse_lengths(s.prompt_tokens, "serving.prompt_tokens")
    parse_lengths(s.output_tokens, "serving.output_tokens")
    swept = [p for p in study_doc.space if p.path.startswith("parallel.")]
    for i, w in enumerate(study_doc.workloads):
        model = cached_model(w.model, 1, "decode")
        if not is_decoder(model):
            raise input_error(f"workloads[{i}].model", f"{w.model} is not a decoder model "
                              "(attention and an lm_head): a serving study serves decoders",
                              given=w.model)
        for p in swept:  # each degree alone, as chip fields are probed value by value
            for value in p.grid_values() if p.values is not None else [p.low, p.high]:
                check_degree(model, p.path, value)
    if swept and not supports_parallel():
        raise input_error(swept[0].path, "tensor/pipeline/expert parallelism is not in this "
                          "checkout's hwsim.serving", hint="remove the parallel.* parameters")


def check_degree(model: Any, path: str, value: Any) -> None:
    """One parallel degree against the model (tp dividing the heads, ep the experts, pp at
    most the layers): hwsim.parallel's own checks, errors naming the path and value."""
    from hwsim.parallel import parse_parallel
    from hwsim.parallel.shard import check_spec

    name = path.split(".", 1)[1]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        check_spec(model, parse_parallel({name: value}))
    except HwsimError as exc:
        first = exc.problems[0] if exc.problems else None
        raise input_error(path, first.message if first else exc.summary, given=value,
                          hint=first.hint if first else None) from None
