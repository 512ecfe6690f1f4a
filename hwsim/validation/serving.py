"""``hwsim validate serving``: token-level serving against published serving measurements.

Each row (:mod:`hwsim.validation.serving_rows`) is served by hwsim's token-level simulator
(:func:`hwsim.serving.token_sim.run_tokens`, the loop behind ``hwsim serve``) and one figure is
read off the run:

* ``tpot`` (ML.ENERGY median inter-token latency): the token-weighted median latency of the
  iterations run with every seat taken (the steady state the leaderboard measures);
* ``throughput``: ML.ENERGY rows, output tokens per second over those same iterations; the
  TensorRT-LLM static-batch rows, ``batch x output`` tokens over the run's makespan;
* ``ttft``: one request alone, its time to the first token.

vLLM rows run with vLLM's fitted host overhead (:mod:`hwsim.serving.overhead`,
``configs/calibration/serving.yaml``, fitted by :mod:`hwsim.validation.serving_fit` on the
``fitted`` rows only); TensorRT-LLM rows run with none (no TensorRT-LLM row is in the fit, so
its C++ runtime's overhead is not known to hwsim).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from hwsim.config.chip import GpuChip
from hwsim.hardware.chips import load_chip
from hwsim.serving.kv_cache import BlockPool, kv_capacity
from hwsim.serving.overhead import HostOverhead, fitted_overheads, fitted_prompt_tokens
from hwsim.serving.step_cost import StepCost
from hwsim.serving.token_sim import TokenTrace, run_tokens
from hwsim.validation.error_stats import error_stats
from hwsim.validation.serving_rows import (
    MLENERGY_REQUESTS_PER_SEAT,
    SHAPE_FIELDS,
    Measured,
    draw_outputs,
    read_rows,
)
from hwsim.workload.load import load_model
from hwsim.workload.model import Model

TARGET = 0.10  # issue 19: held-out median |error| per kind
KINDS = ("ttft", "tpot", "throughput")
BLOCK = 16
MAX_BATCHED_TOKENS = 2048  # vLLM 0.11 (V1) default chunked-prefill budget for online serving


def _decode_model(name: str, overrides: dict[str, object]) -> Model:
    return load_model(name, seq=1, phase="decode", overrides=overrides)


def engine_overhead(row: Measured, vllm: HostOverhead | None) -> HostOverhead:
    """The row's host overhead: vLLM's fitted one (or ``vllm`` while fitting), none for
    TensorRT-LLM."""
    if not row.engine.startswith("vllm"):
        return HostOverhead()
    return fitted_overheads()["vllm"] if vllm is None else vllm


def _serve(model: Model, chip: Any, arrival: np.ndarray, prompt: np.ndarray,
           output: np.ndarray, *, seats: int, budget: int,
           overhead: HostOverhead, tp: int = 1) -> TokenTrace:
    spec = system = None
    if tp > 1:  # tensor parallelism over the chip's system preset (dgx-h100 for h100-sxm)
        from hwsim.parallel import parse_parallel, system_for_chip

        spec, system = parse_parallel({"tp": tp}), system_for_chip(chip.name)
    cap = kv_capacity(model, chip, block_size=BLOCK, max_batched_tokens=budget,
                      memory_utilization=0.9, parallel=spec)
    cost = StepCost(model, chip, spec, system, overhead=overhead)
    return run_tokens(cost, BlockPool(cap.blocks, BLOCK), arrival, prompt, output,
                      max_num_seqs=seats, max_batched_tokens=budget)


@dataclass(frozen=True)
class SteadyState:
    """The iterations of an ML.ENERGY-style run with every seat taken, without host overhead.
    Host time added to every iteration does not change what is scheduled when (every request
    arrives at t = 0), and every such iteration schedules ``seats`` sequences, so the figures at
    any overhead follow exactly from one run."""

    latency_s: np.ndarray
    seqs: np.ndarray
    seats: int

    def figures(self, overhead: HostOverhead) -> dict[str, float]:
        """TPOT (token-weighted median iteration, s) and output tokens/s with ``overhead``."""
        host = overhead.seconds(self.seats)
        order = np.argsort(self.latency_s, kind="stable")
        cum = np.cumsum(self.seqs[order])
        median = float(self.latency_s[order][int(np.searchsorted(cum, cum[-1] / 2.0))])
        busy = float(self.latency_s.sum()) + host * self.latency_s.shape[0]
        return {"tpot": median + host, "throughput": float(self.seqs.sum()) / busy}


def steady_state(row: Measured, prompt_tokens: int) -> SteadyState:
    """Serve an ML.ENERGY row's requests (prompts of ``prompt_tokens``) with no overhead."""
    c = row.config
    seats = cast(int, c["seats"])
    over: dict[str, object] = {f"builder.{k}": c[k] for k in SHAPE_FIELDS}
    over["builder.dtype"] = c["dtype"]
    model = _decode_model("llama2-7b", over)
    chip = cast(GpuChip, load_chip(row.chip, {"cuda_graphs": True}))
    n = MLENERGY_REQUESTS_PER_SEAT * seats
    rng = np.random.default_rng(seats)  # the same lengths for every kind of one row
    output = draw_outputs(cast(str, c["model_id"]), n, rng)
    t = _serve(model, chip, np.zeros(n), np.full(n, prompt_tokens, dtype=np.int64), output,
               seats=seats, budget=MAX_BATCHED_TOKENS, overhead=HostOverhead(),
               tp=cast(int, c["tp"]))
    full = t.step_seqs >= seats
    if not full.any():
        raise ValueError(f"{row.model} max_num_seqs {seats}: the batch never fills")
    return SteadyState(t.step_latency_s[full], t.step_seqs[full], seats)


def _static(row: Measured, overhead: HostOverhead) -> float:
    c = row.config
    batch, isl, osl = (cast(int, c[k]) for k in ("batch", "input", "output"))
    over: dict[str, object] = {f"builder.{k}": c[k] for k in (*SHAPE_FIELDS, "gated_ffn")}
    over["builder.dtype"] = c["dtype"]
    model = _decode_model("llama2-7b", over)
    chip = load_chip(row.chip)
    t = _serve(model, chip, np.zeros(batch), np.full(batch, isl, dtype=np.int64),
               np.full(batch, osl, dtype=np.int64), seats=batch, budget=batch * isl,
               overhead=overhead)
    if row.kind == "ttft":
        return float(t.first_token_s.max())
    return batch * osl / float(t.finish_s.max())


def predict(rows: Iterable[Measured], vllm: HostOverhead | None = None,
            prompt_tokens: int | None = None,
            cache: dict[tuple[str, int], SteadyState] | None = None) -> list[dict[str, Any]]:
    """hwsim's figure for every row (one simulation per run, shared by its kinds); ``vllm`` /
    ``prompt_tokens`` replace the fitted vLLM overhead and lm-arena-chat prompt (the fit's
    trial values); ``cache`` keeps the runs across calls (the fit's)."""
    out = []
    cache = {} if cache is None else cache
    prompt = fitted_prompt_tokens() if prompt_tokens is None else prompt_tokens
    for r in rows:
        oh = engine_overhead(r, vllm)
        if r.config["runner"] == "mlenergy":
            key = (r.model, cast(int, r.config["seats"]))  # one run per model and batch
            if key not in cache:
                cache[key] = steady_state(r, prompt)
            model_value = cache[key].figures(oh)[r.kind]
        else:
            model_value = _static(r, oh)
        out.append({"role": r.role, "kind": r.kind, "engine": r.engine, "chip": r.chip,
                    "devices": int(cast(int, r.config.get("tp", 1))),
                    "model": r.model, "setup": r.setup, "measured": r.measured,
                    "hwsim": model_value, "unit": r.unit,
                    "error": model_value / r.measured - 1.0, "host_overhead": oh.to_dict(),
                    "file": r.source_file, "source": r.source})
    return out


def summary(rows: list[dict[str, Any]], role: str) -> list[dict[str, Any]]:
    """Median and mean |error| per kind over the rows of one role (``devices`` "all"), then,
    when the role has rows on several device counts, per kind and device count."""
    mine = [r for r in rows if r["role"] == role]
    counts = sorted({r["devices"] for r in mine})
    groups: list[tuple[str, str | int]] = [(k, "all") for k in KINDS]
    if len(counts) > 1:
        groups += [(k, d) for k in KINDS for d in counts]
    res = []
    for kind, devices in groups:
        errs = [r["error"] for r in mine
                if r["kind"] == kind and devices in ("all", r["devices"])]
        if not errs:
            continue
        res.append({"role": role, "kind": kind, "devices": devices,
                    **error_stats(errs, target=TARGET, mean=True)})
    return res


def report() -> dict[str, Any]:
    """The whole validation: held-out rows and their summary first, then the fitted ones."""
    rows = predict(read_rows())
    return {"heldout": {"summary": summary(rows, "heldout"),
                        "rows": [r for r in rows if r["role"] == "heldout"]},
            "fitted": {"summary": summary(rows, "fitted"),
                       "rows": [r for r in rows if r["role"] == "fitted"]},
            "host_overhead": {k: v.to_dict() for k, v in fitted_overheads().items()},
            "lm_arena_chat_prompt_tokens": fitted_prompt_tokens(),
            "assumptions": {
                            "mlenergy_requests_per_seat": MLENERGY_REQUESTS_PER_SEAT,
                            "max_batched_tokens_vllm": MAX_BATCHED_TOKENS}}
