"""The ``serving`` block of a study: every point of such a study is a token-level serving run
(:func:`hwsim.serving.serve_tokens`) of a decoder workload instead of one inference, and the
point's metrics are serving figures (TTFT, TPOT, throughput, energy per token, goodput).

Besides chip fields, a serving study may sweep these run parameters by dotted path in
``space``: ``parallel.tp``, ``parallel.pp``, ``parallel.ep`` (the parallelism of
:func:`hwsim.serving.serve_tokens`'s ``parallel=``) and ``serving.rate_per_s``,
``serving.max_num_seqs``, ``serving.max_batched_tokens`` (override this block per point).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hwsim.config.base import StrictModel

# Run parameters a serving study sweeps by dotted path (not chip fields).
RUN_PARAM_PATHS = ("parallel.tp", "parallel.pp", "parallel.ep", "serving.rate_per_s",
                   "serving.max_num_seqs", "serving.max_batched_tokens")
RUN_PREFIXES = ("parallel.", "serving.")

# Metrics a serving point stores (column -> unit); objectives and constraints may name them.
SERVING_METRICS: dict[str, str] = {
    "ttft_p50_s": "s", "ttft_p90_s": "s", "tpot_p50_s": "s", "tpot_p90_s": "s",
    "e2e_p90_s": "s", "throughput_tokens_per_s": "tokens/s", "energy_j_per_token": "J",
    "goodput_requests_per_s": "requests/s", "goodput_fraction": "", "devices": "",
}
# Columns stored for information only (not objectives).
SERVING_INFO_COLUMNS: dict[str, str] = {
    "requests": "BIGINT", "kv_cache_occupancy_max": "DOUBLE", "preemptions": "BIGINT",
    "parallel_json": "VARCHAR", "serving_json": "VARCHAR",
}


def serving_columns() -> list[tuple[str, str]]:
    """Store columns of a serving study, after the fixed ones."""
    return [(m, "DOUBLE") for m in SERVING_METRICS] + list(SERVING_INFO_COLUMNS.items())


def is_run_param(path: str) -> bool:
    return path.startswith(RUN_PREFIXES)


class ServingBlock(StrictModel):
    """Request stream and scheduler limits of every serving point (CLI ``hwsim serve``)."""

    rate_per_s: float = Field(gt=0, description="mean arrival rate (requests/s)")
    duration_s: float = Field(gt=0, le=86400, description="seconds of arrivals")
    prompt_tokens: int | str = Field(512, description="prompt length: a count, a distribution "
                                     "(uniform:LO-HI, lognormal:median=M,sigma=S, azure-conv-2023"
                                     ", ...) as hwsim serve --prompt-tokens")
    output_tokens: int | str = Field(128, description="output length, as --output-tokens")
    arrivals: Literal["poisson", "deterministic"] = "poisson"
    seed: int = Field(0, ge=0, description="seed of arrivals and length draws")
    max_num_seqs: int = Field(256, ge=1, le=1 << 16, description="running sequences at most")
    max_batched_tokens: int = Field(2048, ge=1, le=1 << 20,
                                    description="tokens per iteration at most")
    block_size: int = Field(16, ge=1, le=1 << 12, description="KV-cache tokens per block")
    memory_utilization: float = Field(0.9, gt=0, le=1, description="fraction of device "
                                      "memory the server may use")
    slo_ttft_s: float | None = Field(None, gt=0, description="TTFT objective (s) for goodput")
    slo_tpot_s: float | None = Field(None, gt=0, description="TPOT objective (s) for goodput")
