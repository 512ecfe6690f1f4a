"""Every figure token-level serving reports, from one run's trace.

Definitions (the JSON names carry the units):

* ``ttft_s``: first token time minus arrival (queueing + prefill, chunks included);
* ``tpot_s``: per request, (finish - first token) / (output tokens - 1), for requests with more
  than one output token; ``itl_s``: every gap between consecutive tokens of a request;
* ``e2e_s``: finish minus arrival;
* ``throughput_tokens_per_s``: output tokens / makespan (first arrival to last finish);
* ``goodput``: requests meeting every SLO given (TTFT and/or TPOT) per second of makespan,
  and their fraction (DistServe's definition, Zhong et al., OSDI 2024);
* energy: the engine's energy of every iteration plus the chip's idle power over the time no
  iteration runs; ``energy_j_per_token`` divides it by output tokens,
  ``energy_j_per_request`` by requests;
* ``sparsity``: per iteration, the union density of the first sparse FFN op's active neurons
  over the iteration's tokens (:mod:`hwsim.serving.step_union`); None for dense models;
* ``moe``: per iteration, expert loads drawn from the routing law and priced at them (active
  experts, busiest expert over the fair share, padded GEMM rows per expert, dropped
  token-expert assignments and their fraction; :mod:`hwsim.serving.step_moe`); None without
  MoE;
* ``kv_cache``: the capacity split, and blocks in use time-weighted over the makespan (mean),
  their peak, and a down-sampled series (time, fraction of blocks in use).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hwsim import __version__
from hwsim.serving.kv_cache import KvCapacity
from hwsim.serving.step_moe import MoeLaw
from hwsim.serving.step_union import UnionLaw
from hwsim.serving.token_sim import TokenTrace

if TYPE_CHECKING:
    from rich.table import Table

SERIES_POINTS = 100  # samples of the KV occupancy series in the JSON


def stats(values: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float] | None:
    """{p50, p90, p99, mean, max} of ``values`` (optionally weighted); None when empty."""
    if values.size == 0:
        return None
    if weights is None:
        p50, p90, p99 = np.percentile(values, [50.0, 90.0, 99.0])
        mean = float(values.mean())
    else:
        order = np.argsort(values, kind="stable")
        v, w = values[order], weights[order].astype(np.float64)
        cdf = np.cumsum(w) / w.sum()
        p50, p90, p99 = (float(v[min(np.searchsorted(cdf, q), v.size - 1)])
                         for q in (0.5, 0.9, 0.99))
        mean = float((v * w).sum() / w.sum())
    return {"p50": float(p50), "p90": float(p90), "p99": float(p99), "mean": mean,
            "max": float(values.max())}


@dataclass(frozen=True)
class TokenServeResult:
    """What :func:`hwsim.serving.serve_tokens` returns; ``to_dict()`` is the ``--json``."""

    chip: str
    model: str
    settings: dict[str, Any]
    capacity: KvCapacity
    idle_power_w: float
    slo_ttft_s: float | None
    slo_tpot_s: float | None
    trace: TokenTrace = field(repr=False, compare=False)
    engine_evaluations: int = 0
    law: UnionLaw | None = None
    moe_law: MoeLaw | None = None

    @property
    def makespan_s(self) -> float:
        t = self.trace
        return float(t.finish_s.max() - t.arrival_s.min())

    @property
    def energy_j(self) -> float:
        t = self.trace
        busy = float(t.step_latency_s.sum())
        return float(t.step_energy_j.sum()) + self.idle_power_w * max(self.makespan_s - busy, 0.0)

    def goodput(self) -> dict[str, float | None]:
        t = self.trace
        if self.slo_ttft_s is None and self.slo_tpot_s is None:
            return {"requests_per_s": None, "fraction": None}
        ok = np.ones(t.arrival_s.shape[0], dtype=bool)
        if self.slo_ttft_s is not None:
            ok &= (t.first_token_s - t.arrival_s) <= self.slo_ttft_s
        if self.slo_tpot_s is not None:
            ok &= _tpot(t, all_requests=True) <= self.slo_tpot_s
        return {"requests_per_s": float(ok.sum()) / self.makespan_s,
                "fraction": float(ok.mean())}

    def to_dict(self) -> dict[str, Any]:
        t = self.trace
        out_tokens = int(t.output_tokens.sum())
        makespan = self.makespan_s
        energy = self.energy_j
        n = int(t.arrival_s.shape[0])
        return {
            "hwsim_version": __version__,
            "mode": "token",
            "chip": self.chip,
            "model": self.model,
            "settings": dict(self.settings),
            "requests": n,
            "prompt_tokens": stats(t.prompt_tokens.astype(np.float64)),
            "output_tokens": stats(t.output_tokens.astype(np.float64)),
            "ttft_s": stats(t.first_token_s - t.arrival_s),
            "tpot_s": stats(_tpot(t, all_requests=False)),
            "itl_s": stats(t.gap_s, t.gap_weight),
            "e2e_s": stats(t.finish_s - t.arrival_s),
            "makespan_s": makespan,
            "throughput_tokens_per_s": out_tokens / makespan,
            "throughput_total_tokens_per_s": (out_tokens + int(t.prompt_tokens.sum())) / makespan,
            "throughput_requests_per_s": n / makespan,
            "slo": {"ttft_s": self.slo_ttft_s, "tpot_s": self.slo_tpot_s},
            "goodput": self.goodput(),
            "energy_j": energy,
            "energy_j_per_token": energy / out_tokens,
            "energy_j_per_request": energy / n,
            "idle_power_w": self.idle_power_w,
            "iterations": int(t.step_latency_s.shape[0]),
            "busy_fraction": float(t.step_latency_s.sum()) / makespan,
            "batch_tokens": stats(t.step_tokens.astype(np.float64)),
            "batch_seqs": stats(t.step_seqs.astype(np.float64)),
            "preemptions": t.preemption_events,
            "preempted_requests": int((t.preemptions > 0).sum()),
            "kv_cache": self.kv_cache(),
            "sparsity": self.sparsity(),
            "moe": self.moe(),
            "engine_evaluations": self.engine_evaluations,
        }

    def sparsity(self) -> dict[str, Any] | None:
        """Per-iteration union of active neurons of the reference sparse op (step_union)."""
        t = self.trace
        if t.step_union.size == 0 or np.isnan(t.step_union).all() or self.law is None:
            return None
        busy = float(t.step_latency_s.sum())
        return {"op": self.law.op, "density_per_token": self.law.density,
                "token_correlation": self.law.correlation,
                "union_density": stats(t.step_union),
                "union_density_time_mean": float((t.step_union * t.step_latency_s).sum())
                / busy}

    def moe(self) -> dict[str, Any] | None:
        """Per-iteration expert loads drawn from the routing law (step_moe)."""
        t = self.trace
        if self.moe_law is None or t.step_moe.shape[0] == 0:
            return None
        assignments = float((t.step_tokens * self.moe_law.top_k).sum())
        return {**self.moe_law.to_dict(), "active_experts": stats(t.step_moe[:, 0]),
                "max_load_over_fair": stats(t.step_moe[:, 1]),
                "padded_tokens_per_expert": stats(t.step_moe[:, 3]),
                "dropped_assignments": int(t.step_moe[:, 2].sum()),
                "dropped_fraction": float(t.step_moe[:, 2].sum()) / assignments,
                "priced": "per iteration at the drawn loads (active experts x padded rows)"}

    def kv_cache(self) -> dict[str, Any]:
        t = self.trace
        blocks = self.capacity.blocks
        frac = t.step_kv_blocks / blocks
        mean = float((frac * t.step_latency_s).sum()) / self.makespan_s
        idx = np.unique(np.linspace(0, max(frac.size - 1, 0), SERIES_POINTS).astype(np.int64))
        series = [[float(t.step_start_s[i]), float(frac[i])] for i in idx] if frac.size else []
        return {**self.capacity.to_dict(), "occupancy_mean": mean,
                "occupancy_max": float(frac.max()) if frac.size else 0.0,
                "blocks_max": int(t.step_kv_blocks.max()) if frac.size else 0,
                "occupancy_series": series}


def _tpot(t: TokenTrace, *, all_requests: bool) -> np.ndarray:
    """Per request (finish - first token) / (output - 1); 0 for one-token outputs when
    ``all_requests`` (they meet any TPOT objective), else those requests are left out."""
    multi = t.output_tokens > 1
    per = (t.finish_s - t.first_token_s) / np.maximum(t.output_tokens - 1, 1)
    return np.where(multi, per, 0.0) if all_requests else per[multi]


def render(result: TokenServeResult) -> Table:
    """A table of the headline figures for the terminal."""
    from rich.table import Table  # only for the terminal: --json needs no rich

    d = result.to_dict()
    table = Table(title=f"{d['model']} on {d['chip']}: token-level serving, "
                  f"{d['requests']} requests", header_style="bold")
    for col in ("metric", "p50", "p90", "p99", "mean"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for key, label in (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("itl_s", "ITL"),
                       ("e2e_s", "end-to-end")):
        s = d[key]
        if s is not None:
            table.add_row(label, *(f"{s[q] * 1e3:.2f} ms" for q in ("p50", "p90", "p99", "mean")))
    kv = d["kv_cache"]
    table.caption = (f"throughput {d['throughput_tokens_per_s']:.1f} output tokens/s; energy "
                     f"{d['energy_j_per_token']:.3g} J/token, {d['energy_j_per_request']:.3g} "
                     f"J/request; KV cache {kv['blocks']} blocks x {kv['block_size']} tokens, "
                     f"occupancy mean {kv['occupancy_mean']:.1%} max {kv['occupancy_max']:.1%}; "
                     f"{d['preemptions']} preemptions")
    if d["goodput"]["fraction"] is not None:
        table.caption += (f"; goodput {d['goodput']['requests_per_s']:.2f} requests/s "
                          f"({d['goodput']['fraction']:.1%} meet the SLOs)")
    return table
