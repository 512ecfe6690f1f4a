"""``hwsim serve``: serving simulation of one model on one chip: token-level for decoder models
(continuous batching, paged KV cache), request-level otherwise or with a request-level flag."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from hwsim.cli.options import PHASES, Ep, Phase, Pp, Tp, check_choice, parallel_option
from hwsim.cli.render import out


def serve_cmd(
    chip: Annotated[str, typer.Option("--chip", help="chip or system preset (dgx-h100), or "
                                      "YAML path")],
    model: Annotated[str, typer.Option("--model", help="model preset or YAML path")],
    rate: Annotated[str | None, typer.Option("--rate", help="arrival rate, e.g. 200/s")] = None,
    batching: Annotated[str, typer.Option("--batching", help="max_batch=8,timeout_ms=2 or "
                                          "none")] = "none",
    duration: Annotated[str, typer.Option("--duration", help="e.g. 10s, 500ms")] = "10s",
    slo_ms: Annotated[float | None, typer.Option("--slo-ms", help="latency SLO, ms")] = None,
    arrivals: Annotated[str, typer.Option("--arrivals", help="poisson | deterministic | "
                                          "trace:FILE.csv")] = "poisson",
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
    sparsity: Annotated[list[str] | None, typer.Option("--sparsity", help="as in simulate")
                        ] = None,
    seq: Annotated[int | None, typer.Option("--seq", min=1)] = None,
    phase: Phase = None,
    prompt_tokens: Annotated[str | None, typer.Option(
        "--prompt-tokens", help="decoder models: N, uniform:LO-HI, lognormal:median=M,sigma=S, "
        "azure-conv-2023, azure-code-2023 or trace:FILE.csv [512]")] = None,
    output_tokens: Annotated[str | None, typer.Option(
        "--output-tokens", help="decoder models: as --prompt-tokens [128]")] = None,
    max_num_seqs: Annotated[int | None, typer.Option(
        "--max-num-seqs", help="decoder models: running sequences at most [256]")] = None,
    max_batched_tokens: Annotated[int | None, typer.Option(
        "--max-batched-tokens", help="decoder models: tokens per iteration at most [2048]")
                                  ] = None,
    block_size: Annotated[int | None, typer.Option("--block-size", help="decoder models: "
                                                   "KV-cache tokens per block [16]")] = None,
    memory_utilization: Annotated[float | None, typer.Option(
        "--memory-utilization", help="decoder models: fraction of device memory the server "
        "uses [0.9]")] = None,
    slo_ttft_ms: Annotated[float | None, typer.Option("--slo-ttft-ms", help="decoder models: "
                                                      "TTFT objective, ms")] = None,
    slo_tpot_ms: Annotated[float | None, typer.Option("--slo-tpot-ms", help="decoder models: "
                                                      "TPOT objective, ms")] = None,
    step_overhead_ms: Annotated[str | None, typer.Option(
        "--step-overhead-ms", help="decoder models: host time per iteration, ms, or a fitted "
        "engine (vllm) [0]")] = None,
    moe_routing_trace: Annotated[str | None, typer.Option(
        "--moe-routing-trace", help="decoder MoE models: CSV of expert,tokens whose "
        "popularity routes each iteration")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    tp: Tp = None,
    pp: Pp = None,
    ep: Ep = None,
) -> None:
    """Serving simulation: token-level (continuous batching, paged KV cache, TTFT/TPOT) for
    decoder models; request-level (static batches) for other models or with --batching,
    --seq, --phase or --slo-ms."""
    from hwsim.serving.dispatch import token_level

    token_flags = {"--prompt-tokens": prompt_tokens, "--output-tokens": output_tokens,
                   "--max-num-seqs": max_num_seqs, "--max-batched-tokens": max_batched_tokens,
                   "--block-size": block_size, "--memory-utilization": memory_utilization,
                   "--slo-ttft-ms": slo_ttft_ms, "--slo-tpot-ms": slo_tpot_ms,
                   "--step-overhead-ms": step_overhead_ms,
                   "--moe-routing-trace": moe_routing_trace}
    if token_level(model, batching=batching, seq=seq, phase=phase, slo_ms=slo_ms,
                   token_flags=[k for k, v in token_flags.items() if v is not None]):
        from hwsim.serving.token_report import render as render_tokens
        from hwsim.serving.tokens import serve_tokens_from_cli

        tokens = serve_tokens_from_cli(
            chip, model, rate, duration, prompt_tokens, output_tokens,
            max_num_seqs=max_num_seqs, max_batched_tokens=max_batched_tokens,
            block_size=block_size, memory_utilization=memory_utilization, arrivals=arrivals,
            seed=seed, slo_ttft_ms=slo_ttft_ms, slo_tpot_ms=slo_tpot_ms, sparsity=sparsity,
            step_overhead_ms=step_overhead_ms, moe_routing_trace=moe_routing_trace,
            parallel=parallel_option(tp, pp, ep))
        if as_json:
            sys.stdout.write(json.dumps(tokens.to_dict(), indent=2) + "\n")
        else:
            out().print(render_tokens(tokens))
        return
    from hwsim.serving import render, serve_from_cli

    if parallel_option(tp, pp, ep) is not None:
        from hwsim.errors import input_error

        raise input_error("--tp", "tensor/pipeline/expert parallelism is priced by token-level "
                          "serving of decoder models only", hint="drop --batching, --seq, "
                          "--phase and --slo-ms, or drop --tp/--pp/--ep")
    check_choice("--phase", phase, PHASES)
    result = serve_from_cli(chip, model, rate, batching, duration, slo_ms, arrivals, seed,
                            sparsity, seq=seq, phase=phase)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        out().print(render(result))
