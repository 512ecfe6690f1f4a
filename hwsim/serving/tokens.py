"""Token-level serving of a decoder model: the API behind ``hwsim serve`` for LLMs.

::

    from hwsim.serving import serve_tokens
    r = serve_tokens("llama2-7b", "h100-sxm", rate_per_s=4, duration_s=120,
                     prompt_tokens=512, output_tokens=128, max_num_seqs=64)
    r.to_dict()["ttft_s"]["p99"], r.to_dict()["throughput_tokens_per_s"]

Laws: :mod:`~hwsim.serving.step_cost` (an iteration's cost), :mod:`~hwsim.serving.kv_cache`
(paged KV capacity), :mod:`~hwsim.serving.scheduler` (continuous batching, chunked prefill,
preemption), :mod:`~hwsim.serving.token_sim` (the loop), :mod:`~hwsim.serving.token_report`
(the figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hwsim.engine.backend import backend_for
from hwsim.errors import input_error
from hwsim.hardware.chips import AnyChip, load_chip
from hwsim.serving.arrivals import poisson_times
from hwsim.serving.config import (
    MAX_REQUESTS,
    check_duration,
    check_rate,
    check_seed,
    parse_duration,
    parse_rate,
)
from hwsim.serving.kv_cache import BlockPool, kv_capacity
from hwsim.serving.lengths import LengthSpec, parse_lengths
from hwsim.serving.overhead import HostOverhead, host_overhead
from hwsim.serving.step_cost import HEAD_OPS, StepCost
from hwsim.serving.step_moe import moe_law
from hwsim.serving.token_report import TokenServeResult
from hwsim.serving.token_sim import run_tokens
from hwsim.serving.token_trace import read_token_trace
from hwsim.sparsity.overrides import apply_sparsity
from hwsim.workload.load import load_model
from hwsim.workload.model import Model
from hwsim.workload.ops import AttentionOp

DEFAULTS = {"max_num_seqs": 256, "max_batched_tokens": 2048, "block_size": 16,
            "memory_utilization": 0.9}


def is_decoder(model: Model) -> bool:
    """A model with attention and an LM head: served token by token."""
    names = {op.name for op in model.ops}
    return (any(isinstance(op, AttentionOp) for op in model.ops)
            and all(h in names for h in HEAD_OPS[1:]))


def serve_tokens(model: Model | str | Path, chip: AnyChip | str | Path, *,
                 rate_per_s: float | None, duration_s: float,
                 prompt_tokens: int | str = 512, output_tokens: int | str = 128,
                 max_num_seqs: int = 256, max_batched_tokens: int = 2048,
                 block_size: int = 16, memory_utilization: float = 0.9,
                 arrivals: str = "poisson", seed: int = 0, slo_ttft_s: float | None = None,
                 slo_tpot_s: float | None = None,
                 sparsity: Sequence[str | tuple[str, object]] | None = None,
                 step_overhead_s: HostOverhead | float | str | tuple[float, float] = 0.0,
                 moe_routing_trace: str | Path | None = None,
                 flags: dict[str, str] | None = None,
                 parallel: Any = None) -> TokenServeResult:
    """Serve a decoder model token by token for ``duration_s`` seconds of arrivals.

    ``rate_per_s``: mean arrival rate (requests/s; None with a trace). ``prompt_tokens`` /
    ``output_tokens``: a count, a distribution spec or ``"trace:FILE.csv"``
    (:mod:`hwsim.serving.lengths`). ``max_num_seqs``: running sequences at most;
    ``max_batched_tokens``: tokens per iteration at most; ``block_size``: KV tokens per block;
    ``memory_utilization``: fraction of device memory the server may use (vLLM's
    ``gpu_memory_utilization``). ``arrivals``: ``poisson`` or ``deterministic``. SLOs in
    seconds feed the goodput. ``step_overhead_s``: the engine's host seconds per iteration,
    a (per-iteration, per-sequence) pair, or a fitted engine's name (``"vllm"``;
    :mod:`hwsim.serving.overhead`). ``moe_routing_trace``: a CSV of
    ``expert,tokens`` whose popularity routes an MoE model's tokens
    (:mod:`hwsim.serving.step_moe`). Same inputs and ``seed``, same result bit for bit.
    ``parallel`` (``{"tp": 2, "pp": 1, "ep": 1}`` or a :class:`hwsim.parallel.ParallelSpec`):
    serve on ``tp * pp * ep`` devices of ``chip`` (a chip with a shipped system, or a system
    preset such as ``dgx-h100``): each iteration's cost is the parallel simulation's
    (:mod:`hwsim.parallel.run`) and the KV cache is per-device memory minus sharded weights.
    """
    f = {"rate_per_s": "rate_per_s", "duration_s": "duration_s", "prompt_tokens":
         "prompt_tokens", "output_tokens": "output_tokens", "max_num_seqs": "max_num_seqs",
         "max_batched_tokens": "max_batched_tokens", "block_size": "block_size",
         "memory_utilization": "memory_utilization", "arrivals": "arrivals", "seed": "seed",
         "slo_ttft_s": "slo_ttft_s", "slo_tpot_s": "slo_tpot_s",
         "step_overhead_s": "step_overhead_s", "moe_routing_trace": "moe_routing_trace",
         **(flags or {})}
    duration_s = check_duration(duration_s, f["duration_s"])
    seed = check_seed(seed, f["seed"])
    for name, value, top in (("max_num_seqs", max_num_seqs, 1 << 16),
                             ("max_batched_tokens", max_batched_tokens, 1 << 20),
                             ("block_size", block_size, 1 << 12)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            raise input_error(f[name], f"expected a whole number in [1, {top:,}]", given=value)
    if (isinstance(memory_utilization, bool) or not isinstance(memory_utilization, int | float)
            or not 0.0 < memory_utilization <= 1.0):
        raise input_error(f["memory_utilization"], "expected a fraction in (0, 1]",
                          given=memory_utilization)
    for name, slo in (("slo_ttft_s", slo_ttft_s), ("slo_tpot_s", slo_tpot_s)):
        if slo is not None and (isinstance(slo, bool) or not isinstance(slo, int | float)
                                or not 0.0 < slo < float("inf")):
            raise input_error(f[name], "expected a latency objective > 0", given=slo)
    if arrivals not in ("poisson", "deterministic"):
        raise input_error(f["arrivals"], "token-level arrivals are poisson or deterministic; "
                          "a trace comes with --prompt-tokens trace:FILE.csv", given=arrivals)
    overhead = host_overhead(step_overhead_s, f["step_overhead_s"])
    prompt_law = parse_lengths(prompt_tokens, f["prompt_tokens"])
    output_law = parse_lengths(output_tokens, f["output_tokens"])
    chip_obj, spec, system = _devices(chip, parallel)
    m = _decode_model(model, sparsity)
    routing = moe_law(m, moe_routing_trace, f["moe_routing_trace"])
    capacity = kv_capacity(m, chip_obj, block_size=block_size,
                           max_batched_tokens=max_batched_tokens,
                           memory_utilization=float(memory_utilization), parallel=spec)
    ss_arrival, ss_prompt, ss_output = np.random.SeedSequence(seed).spawn(3)
    if isinstance(prompt_law, str) or isinstance(output_law, str):
        arrival_s, prompt, output = _from_trace(prompt_law, output_law, duration_s, f)
    else:
        rate = check_rate(rate_per_s, f["rate_per_s"])
        arrival_s = _arrivals(arrivals, rate, duration_s, np.random.default_rng(ss_arrival))
        if arrival_s.shape[0] > MAX_REQUESTS:
            raise input_error(f["rate_per_s"], f"more than {MAX_REQUESTS:,} requests",
                              given=rate_per_s, hint="lower the rate or the duration")
        prompt = prompt_law.draw(arrival_s.shape[0], 0, np.random.default_rng(ss_prompt))
        output = output_law.draw(arrival_s.shape[0], 1, np.random.default_rng(ss_output))
    if arrival_s.shape[0] == 0:
        raise input_error(f["duration_s"], "no request arrives within the duration",
                          given=duration_s, hint="raise the rate or the duration")
    longest = int((prompt + output - 1).max())
    if -(-longest // block_size) > capacity.blocks:
        raise input_error(f["prompt_tokens"], f"a request of {longest:,} tokens (prompt + "
                          f"output - 1) needs more KV cache than the chip holds "
                          f"({capacity.tokens:,} tokens)", given=prompt_tokens,
                          hint="shorten the requests or use a chip with more memory")
    cost = StepCost(m, chip_obj, parallel=spec, system=system, overhead=overhead,
                    moe=routing)
    trace = run_tokens(cost, BlockPool(capacity.blocks, block_size), arrival_s, prompt, output,
                       max_num_seqs=max_num_seqs, max_batched_tokens=max_batched_tokens,
                       seed=seed)
    settings = {"rate_per_s": rate_per_s, "duration_s": duration_s, "arrivals": arrivals,
                "prompt_tokens": _label(prompt_law), "output_tokens": _label(output_law),
                "max_num_seqs": max_num_seqs, "max_batched_tokens": max_batched_tokens,
                "block_size": block_size, "memory_utilization": memory_utilization,
                "seed": seed, "sparsity": list(map(str, sparsity or [])),
                "host_overhead": overhead.to_dict(),
                "moe_routing_trace": None if moe_routing_trace is None
                else str(moe_routing_trace)} | (
                    {"parallel": spec.to_dict(), "system": system.name} if spec else {})
    return TokenServeResult(chip=getattr(chip_obj, "name", str(chip)), model=m.name,
                            settings=settings, capacity=capacity,
                            idle_power_w=backend_for(chip_obj).static_power_w(chip_obj)
                            * (spec.devices if spec else 1),
                            slo_ttft_s=slo_ttft_s, slo_tpot_s=slo_tpot_s, trace=trace,
                            engine_evaluations=cost.evaluations, law=cost.law,
                            moe_law=cost.moe)


def serve_tokens_from_cli(chip: str, model: str, rate: str | None, duration: str,
                          prompt_tokens: str | None, output_tokens: str | None, *,
                          max_num_seqs: int | None, max_batched_tokens: int | None,
                          block_size: int | None, memory_utilization: float | None,
                          arrivals: str, seed: int, slo_ttft_ms: float | None,
                          slo_tpot_ms: float | None,
                          sparsity: list[str] | None, step_overhead_ms: str | None = None,
                          moe_routing_trace: str | None = None,
                          parallel: dict[str, int] | None = None) -> TokenServeResult:
    """``hwsim serve`` for decoder models: parse the flag strings, then :func:`serve_tokens`.
    A trace given to one of the length flags serves for both; otherwise unset lengths are
    512 prompt and 128 output tokens; unset limits take :data:`DEFAULTS`."""
    if prompt_tokens is None:
        prompt_tokens = output_tokens if str(output_tokens).startswith("trace:") else "512"
    if output_tokens is None:
        output_tokens = prompt_tokens if str(prompt_tokens).startswith("trace:") else "128"
    for flag, ms in (("--slo-ttft-ms", slo_ttft_ms), ("--slo-tpot-ms", slo_tpot_ms)):
        if ms is not None and not 0.0 < ms < float("inf"):
            raise input_error(flag, "expected a latency objective in milliseconds > 0", given=ms)
    traced = any(str(x).startswith("trace:") for x in (prompt_tokens, output_tokens))
    rate_per_s = None if rate is None and traced else parse_rate("" if rate is None else rate)
    flags = {"rate_per_s": "--rate", "duration_s": "--duration",
             "prompt_tokens": "--prompt-tokens", "output_tokens": "--output-tokens",
             "max_num_seqs": "--max-num-seqs", "max_batched_tokens": "--max-batched-tokens",
             "block_size": "--block-size", "memory_utilization": "--memory-utilization",
             "arrivals": "--arrivals", "seed": "--seed", "slo_ttft_s": "--slo-ttft-ms",
             "slo_tpot_s": "--slo-tpot-ms", "step_overhead_s": "--step-overhead-ms",
             "moe_routing_trace": "--moe-routing-trace"}
    return serve_tokens(
        model, chip, rate_per_s=rate_per_s, duration_s=parse_duration(duration),
        prompt_tokens=prompt_tokens, output_tokens=output_tokens,
        max_num_seqs=_or(max_num_seqs, "max_num_seqs"),
        max_batched_tokens=_or(max_batched_tokens, "max_batched_tokens"),
        block_size=_or(block_size, "block_size"),
        memory_utilization=_or(memory_utilization, "memory_utilization"),
        arrivals=arrivals, seed=seed,
        slo_ttft_s=None if slo_ttft_ms is None else slo_ttft_ms * 1e-3,
        slo_tpot_s=None if slo_tpot_ms is None else slo_tpot_ms * 1e-3,
        sparsity=sparsity, step_overhead_s=_overhead_from_ms(step_overhead_ms),
        moe_routing_trace=moe_routing_trace, flags=flags, parallel=parallel)


def _overhead_from_ms(text: str | None) -> float | str:
    """``--step-overhead-ms``: milliseconds, or a fitted engine's name (seconds to the API)."""
    if text is None:
        return 0.0
    try:
        return float(text) * 1e-3
    except ValueError:
        return text


def _devices(chip: AnyChip | str | Path, parallel: Any) -> tuple[AnyChip, Any, Any]:
    """(chip, spec or None, system or None): a system preset names its chip; several devices
    of a plain chip use the shipped system built from it."""
    from hwsim.parallel import is_system, load_system, parse_parallel, system_for_chip

    system = load_system(chip) if is_system(chip) else None
    target = system.chip if system is not None else chip
    chip_obj = target if not isinstance(target, str | Path) else load_chip(target)
    spec = parse_parallel(parallel)
    if spec.single:
        return chip_obj, None, None
    system = system or system_for_chip(chip_obj.name)
    if system is None:
        raise input_error("--tp", f"no interconnect for {spec.devices} x {chip_obj.name}: no "
                          "system preset is built from this chip", given=spec.to_dict(),
                          hint="use a system preset (hwsim list systems)")
    if spec.devices > system.devices:
        raise input_error("--tp", f"tp*pp*ep = {spec.devices} devices, but {system.name} has "
                          f"{system.devices}", given=spec.to_dict())
    return chip_obj, spec, system


def _or(value: Any, name: str) -> Any:
    return DEFAULTS[name] if value is None else value


def _decode_model(model: Model | str | Path,
                  sparsity: Sequence[str | tuple[str, object]] | None) -> Model:
    """The decode-shaped model (one new token; attention over one cached token)."""
    if isinstance(model, Model):
        if any(op.seq_q != 1 for op in model.ops if isinstance(op, AttentionOp)):
            raise input_error(model.name, "token-level serving needs the decode-shaped model",
                              hint="pass the preset name, or load_model(name, seq=1, "
                                   "phase='decode')")
        m = model
    else:
        m = load_model(model, seq=1, phase="decode")
    if not is_decoder(m):
        raise input_error("--model", f"{m.name} is not a decoder model (attention and an "
                          "lm_head): token-level serving does not apply",
                          hint="use request-level serving: hwsim serve --batching ...")
    return apply_sparsity(m, sparsity) if sparsity else m


def _arrivals(kind: str, rate: float, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    if kind == "deterministic":
        times = np.arange(int(np.ceil(duration_s * rate)), dtype=np.float64) / rate
        return times[times < duration_s]
    return poisson_times(rate, duration_s, rng)


def _from_trace(prompt_law: LengthSpec | str, output_law: LengthSpec | str, duration_s: float,
                f: dict[str, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    paths = {x for x in (prompt_law, output_law) if isinstance(x, str)}
    if len(paths) != 1 or not all(isinstance(x, str) for x in (prompt_law, output_law)):
        raise input_error(f["prompt_tokens"], "a trace gives arrivals and both lengths: pass "
                          "the same trace:FILE.csv to --prompt-tokens and --output-tokens",
                          given=f"{_label(prompt_law)} / {_label(output_law)}")
    path = paths.pop()
    arrival_s, prompt, output = read_token_trace(path, f["prompt_tokens"])
    keep = arrival_s < duration_s
    return arrival_s[keep], prompt[keep], output[keep]


def _label(law: LengthSpec | str) -> str:
    return f"trace:{law}" if isinstance(law, str) else law.label
