"""Serving simulation: a model on a chip under a stream of requests.

Two modes. Request-level (:func:`serve`, below): whole requests in static batches, one service
time each, for any model. Token-level (:func:`serve_tokens`, :mod:`hwsim.serving.tokens`) for
decoder LLMs: prompt and output lengths, continuous batching, chunked prefill, a paged KV
cache with preemption, TTFT/TPOT/ITL and energy per token.

::

    from hwsim.serving import serve
    r = serve("selective-gpt2-small", "sparseflow-accel", rate_per_s=200, duration_s=10,
              max_batch=8, timeout_s=2e-3, slo_s=20e-3)
    r.latency_s.p99, r.throughput_per_s, r.energy_per_request_j, r.to_dict()

Laws: :mod:`hwsim.serving.service_time` (what a batch costs), :mod:`hwsim.serving.sim` (the
queue and dispatch rule), :mod:`hwsim.serving.report` (every reported figure).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hwsim.errors import input_error
from hwsim.hardware.chips import AnyChip, load_chip
from hwsim.serving.config import (
    ServeConfig,
    make_config,
    parse_arrivals,
    parse_batching,
    parse_duration,
    parse_rate,
)
from hwsim.serving.report import ServeResult, render
from hwsim.serving.service_time import ServiceModel
from hwsim.serving.token_report import TokenServeResult
from hwsim.serving.tokens import serve_tokens
from hwsim.workload.load import load_model
from hwsim.workload.model import Model

__all__ = ["ServeConfig", "ServeResult", "ServiceModel", "TokenServeResult", "render", "serve",
           "serve_from_cli", "serve_tokens"]


def serve(model: Model | str | Path, chip: AnyChip | str | Path, *, rate_per_s: float | None,
          duration_s: float, max_batch: int = 1, timeout_s: float = 0.0,
          slo_s: float | None = None, arrivals: str = "poisson", seed: int = 0,
          sparsity: Sequence[str | tuple[str, object]] | None = None,
          density_std: float | None = None) -> ServeResult:
    """Serve requests for ``duration_s`` seconds and report latency, throughput and energy.

    ``model``/``chip``: objects, preset names or YAML paths. ``rate_per_s``: mean arrival rate
    (requests/s; None allowed only with ``arrivals="trace:FILE"``). ``max_batch``/``timeout_s``
    (s): dispatch when ``max_batch`` wait or the oldest has waited ``timeout_s``; 1 = no
    batching. ``slo_s``: end-to-end latency objective (s). ``arrivals``: ``"poisson"``,
    ``"deterministic"`` or ``"trace:FILE"`` (arrival times in s). ``sparsity``: per-op-glob
    overrides as in :func:`hwsim.simulate`. ``density_std``: per-request density spread
    (fraction) for every top-k/ReLU op, overriding the specs' ``variability.std``. Same inputs
    and ``seed`` give the same result bit for bit.
    """
    config = make_config(rate_per_s=rate_per_s, duration_s=duration_s, max_batch=max_batch,
                         timeout_s=timeout_s, slo_s=slo_s, arrivals=arrivals, seed=seed)
    service = ServiceModel(model, chip, sparsity=sparsity, density_std=density_std)
    return _run(service, config)


def serve_from_cli(chip: str, model: str | Model, rate: str | None, batching: str,
                   duration: str, slo_ms: float | None = None, arrivals: str = "poisson",
                   seed: int = 0, sparsity: list[str] | None = None, *,
                   seq: int | None = None, phase: str | None = None) -> ServeResult:
    """``hwsim serve``: parse the flag strings (errors name the flag), then :func:`serve`.

    ``rate`` like ``"200/s"`` (None only with a trace), ``batching`` like
    ``"max_batch=8,timeout_ms=2"`` or ``"none"``, ``duration`` like ``"10s"``, ``slo_ms`` in
    milliseconds, ``arrivals`` ``"poisson" | "deterministic" | "trace:FILE"``; ``seq``/``phase``
    as ``hwsim simulate --seq/--phase`` for preset models.
    """
    kind, _ = parse_arrivals(arrivals)
    rate_per_s = None if rate is None and kind == "trace" else parse_rate(
        "" if rate is None else rate)
    max_batch, timeout_s = parse_batching(batching)
    duration_s = parse_duration(duration)
    if slo_ms is not None and (isinstance(slo_ms, bool) or not isinstance(slo_ms, int | float)
                               or not 0.0 < slo_ms < float("inf")):
        raise input_error("--slo-ms", "expected a latency objective in milliseconds > 0",
                          given=slo_ms)
    flags = {"rate_per_s": "--rate", "duration_s": "--duration", "max_batch": "--batching",
             "slo_s": "--slo-ms", "arrivals": "--arrivals", "seed": "--seed"}
    config = make_config(rate_per_s=rate_per_s, duration_s=duration_s, max_batch=max_batch,
                         timeout_s=timeout_s, slo_s=None if slo_ms is None else slo_ms * 1e-3,
                         arrivals=arrivals, seed=seed, flags=flags)
    m = model if isinstance(model, Model) else load_model(model, seq=seq, phase=phase)
    service = ServiceModel(m, load_chip(chip), sparsity=sparsity)
    return _run(service, config)


def _run(service: ServiceModel, config: ServeConfig) -> ServeResult:
    from hwsim.serving.report import summarise
    from hwsim.serving.sim import run

    # A full batch is evaluated before the run so a batch the engine rejects (too many MACs)
    # fails here, naming the batch, rather than mid-simulation.
    service.table(config.max_batch)
    return summarise(run(service, config), service, config)
