"""Serving results: throughput, latency percentiles, SLO violations, energy per request.

Definitions (all over every admitted request; nothing is discarded):

* throughput_per_s = requests served / makespan, makespan = finish of the last request (the
  run starts empty at t = 0). Stable: ~ the arrival rate; overloaded: ~ the chip's capacity.
* latency_s = finish - arrival (queueing + service); percentiles by linear interpolation
  (``numpy.percentile``'s default).
* queueing_delay_s = dispatch of the request's batch - arrival.
* utilization = busy time / makespan.
* energy_per_request_j = (sum of the engine's dynamic energy per batch + static_power_w x
  makespan) / requests. The static term covers busy and idle time alike, i.e. the engine's
  own static energy while busy plus the static power burnt idling, amortised over requests.
* warmup: the MSER-5 truncation point (White 1997, "An effective truncation heuristic for bias
  reduction in simulation output", Simulation 69(6)) of the latency series in arrival order.
  It is reported, not applied: the percentiles include the warm-up requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich.table import Table

from hwsim import __version__
from hwsim.errors import input_error
from hwsim.serving.config import ServeConfig
from hwsim.serving.service_time import ServiceModel
from hwsim.serving.sim import Trace

ENERGY_LAW = ("engine dynamic energy per batch + static power x makespan (busy and idle), "
              "divided by requests")
SERVICE_LAW = ("latency(B, d_eff) and dynamic energy(B, d_eff) from the analytic engine for a "
               "batch of B at the batch-mean density d_eff, linear in d between 9 grid points")


@dataclass(frozen=True)
class Percentiles:
    """Distribution summary, in the unit of the field holding it."""

    p50: float
    p90: float
    p99: float
    max: float
    mean: float

    @classmethod
    def of(cls, values: np.ndarray) -> Percentiles:
        p50, p90, p99 = np.percentile(values, [50.0, 90.0, 99.0])
        return cls(float(p50), float(p90), float(p99), float(values.max()),
                   float(values.mean()))

    def to_dict(self) -> dict[str, float]:
        return {"p50": self.p50, "p90": self.p90, "p99": self.p99, "max": self.max,
                "mean": self.mean}


@dataclass(frozen=True)
class ServeResult:
    """What :func:`hwsim.serving.serve` returns; ``to_dict()`` is ``hwsim serve --json``."""

    chip: str
    model: str
    config: ServeConfig
    requests: int
    offered_rate_per_s: float  # admitted requests / duration_s
    throughput_per_s: float
    makespan_s: float
    latency_s: Percentiles
    queueing_delay_s: Percentiles
    slo_violation_rate: float | None  # fraction of requests over slo_s; None without an SLO
    energy_per_request_j: float
    dynamic_energy_per_request_j: float
    static_energy_per_request_j: float
    static_power_w: float
    utilization: float
    batches: int
    mean_batch_size: float
    largest_batch: int
    service_s_batch1: float  # one request alone at the nominal density
    service_s_max_batch: float  # a full batch at the nominal density
    capacity_per_s: float  # max_batch / service_s_max_batch: the most the chip can serve
    density: Percentiles | None  # per-request reference density (fraction), when it varies
    warmup_requests: int
    warmup_s: float  # arrival time of the first request after the warm-up (0: none)
    mean_latency_after_warmup_s: float
    trace: Trace | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON document; units in the field names."""
        return {
            "hwsim_version": __version__,
            "chip": self.chip,
            "model": self.model,
            "config": self.config.to_dict(),
            "requests": self.requests,
            "offered_rate_per_s": self.offered_rate_per_s,
            "throughput_per_s": self.throughput_per_s,
            "makespan_s": self.makespan_s,
            "latency_s": self.latency_s.to_dict(),
            "queueing_delay_s": self.queueing_delay_s.to_dict(),
            "slo_violation_rate": self.slo_violation_rate,
            "energy_per_request_j": self.energy_per_request_j,
            "dynamic_energy_per_request_j": self.dynamic_energy_per_request_j,
            "static_energy_per_request_j": self.static_energy_per_request_j,
            "static_power_w": self.static_power_w,
            "utilization": self.utilization,
            "batches": self.batches,
            "mean_batch_size": self.mean_batch_size,
            "largest_batch": self.largest_batch,
            "service_s_batch1": self.service_s_batch1,
            "service_s_max_batch": self.service_s_max_batch,
            "capacity_per_s": self.capacity_per_s,
            "density": None if self.density is None else self.density.to_dict(),
            "warmup": {"requests": self.warmup_requests, "until_s": self.warmup_s,
                       "mean_latency_after_s": self.mean_latency_after_warmup_s,
                       "applied": False},
            "laws": {"service_time": SERVICE_LAW, "energy_per_request": ENERGY_LAW},
        }


def summarise(trace: Trace, service: ServiceModel, config: ServeConfig) -> ServeResult:
    """Reduce a :class:`Trace` to a :class:`ServeResult`."""
    n = int(trace.arrival_s.shape[0])
    if n == 0:
        raise input_error("--duration", "no request arrived within the duration",
                          given=config.duration_s, hint="raise --rate or --duration")
    latency = trace.latency_s
    makespan = float(trace.finish_s.max())
    busy = float(trace.batch_service_s.sum())
    dynamic_j = float(trace.batch_energy_j.sum())
    static_j = service.static_power_w * makespan
    full_s = service.nominal_cost(config.max_batch)[0]
    cut = mser5(latency)
    return ServeResult(
        chip=service.chip.name, model=service.model.name, config=config, requests=n,
        offered_rate_per_s=n / config.duration_s, throughput_per_s=n / makespan,
        makespan_s=makespan, latency_s=Percentiles.of(latency),
        queueing_delay_s=Percentiles.of(trace.queueing_s),
        slo_violation_rate=(None if config.slo_s is None
                            else float(np.count_nonzero(latency > config.slo_s)) / n),
        energy_per_request_j=(dynamic_j + static_j) / n,
        dynamic_energy_per_request_j=dynamic_j / n, static_energy_per_request_j=static_j / n,
        static_power_w=service.static_power_w, utilization=busy / makespan,
        batches=int(trace.batch_size.shape[0]), mean_batch_size=float(trace.batch_size.mean()),
        largest_batch=int(trace.batch_size.max()),
        service_s_batch1=service.nominal_cost(1)[0], service_s_max_batch=full_s,
        capacity_per_s=config.max_batch / full_s,
        density=Percentiles.of(trace.density) if service.variable else None,
        warmup_requests=cut, warmup_s=float(trace.arrival_s[cut]) if cut else 0.0,
        mean_latency_after_warmup_s=float(latency[cut:].mean()), trace=trace)


def mser5(series: np.ndarray) -> int:
    """MSER-5 truncation point: how many leading observations are warm-up.

    Batch means of 5 observations; the cut d (in batches, d <= half of them) minimises the
    squared standard error of the remaining mean, var(rest) / (batches - d). Returned in
    observations (a multiple of 5). Fewer than 10 observations: 0.
    """
    batches = series.shape[0] // 5
    if batches < 2:
        return 0
    means = series[: batches * 5].reshape(batches, 5).mean(axis=1)
    # Suffix sums give every candidate cut's remaining mean and variance in one pass.
    tail = np.cumsum(means[::-1])[::-1]
    tail_sq = np.cumsum((means * means)[::-1])[::-1]
    count = np.arange(batches, 0, -1, dtype=np.float64)
    var = np.maximum(tail_sq / count - (tail / count) ** 2, 0.0)
    score = var / count
    limit = batches // 2 + 1
    return int(np.argmin(score[:limit])) * 5


def render(result: ServeResult) -> Table:
    """A rich table of the headline figures, friendly units."""
    c = result.config
    batching = ("none (batch 1, FIFO)" if c.max_batch == 1 else
                f"max {c.max_batch}, timeout {c.timeout_s * 1e3:g} ms")
    arrivals = (f"trace {c.trace_path}" if c.arrivals == "trace" or c.rate_per_s is None
                else f"{c.arrivals} {c.rate_per_s:,.6g}/s")
    table = Table(title=f"{result.model} served on {result.chip}: {arrivals} for "
                        f"{c.duration_s:g} s, batching {batching}", header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    lat = result.latency_s
    rows = [
        ("requests served", f"{result.requests:,}"),
        ("throughput", f"{result.throughput_per_s:,.1f} req/s (offered "
                       f"{result.offered_rate_per_s:,.1f}, capacity "
                       f"{result.capacity_per_s:,.1f})"),
        ("latency p50 / p90 / p99 / max", " / ".join(_ms(v) for v in (lat.p50, lat.p90,
                                                                        lat.p99, lat.max))),
        ("mean queueing delay", _ms(result.queueing_delay_s.mean)),
        ("service time batch 1 / full batch", f"{_ms(result.service_s_batch1)} / "
                                              f"{_ms(result.service_s_max_batch)}"),
        ("utilisation", f"{result.utilization:.1%}"),
        ("mean batch size", f"{result.mean_batch_size:.2f} (largest {result.largest_batch})"),
        ("energy per request", f"{result.energy_per_request_j * 1e3:.4g} mJ (dynamic "
                               f"{result.dynamic_energy_per_request_j * 1e3:.4g}, static "
                               f"{result.static_energy_per_request_j * 1e3:.4g})"),
        ("warm-up (MSER-5, not discarded)", "none detected" if not result.warmup_requests
         else f"{result.warmup_requests:,} requests, until {result.warmup_s:.4g} s"),
    ]
    if result.slo_violation_rate is not None and c.slo_s is not None:
        rows.insert(3, (f"SLO {_ms(c.slo_s)} violated", f"{result.slo_violation_rate:.2%}"))
    if result.density is not None:
        d = result.density
        rows.append(("request density p50 / p99", f"{d.p50:.4g} / {d.p99:.4g}"))
    for name, value in rows:
        table.add_row(name, value)
    return table


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.4g} ms"
