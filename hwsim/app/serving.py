"""Serving: a decoder model served token by token on a chip (``hwsim serve``; docs/serving.md)
under a Poisson request stream — TTFT/TPOT/end-to-end percentiles, throughput, goodput under
the SLOs, energy per token, KV-cache occupancy over time, and energy per token and TTFT p90
over a small sweep of rates. Every number is ``serve_tokens(...).to_dict()`` for the inputs
shown; this page has its own chip and model pickers (the sidebar describes single inferences).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hwsim.app import compute, fmt
from hwsim.app import serving_charts as charts
from hwsim.app.serving_compute import (
    ServeInputs,
    decoder_presets,
    rate_sweep,
    serve,
)
from hwsim.errors import HwsimError

DEFAULT_CHIP, DEFAULT_MODEL = "h100-sxm", "llama2-7b"
RATES = (0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0)  # requests/s
SWEEP_FACTORS = (0.25, 0.5, 1.0, 2.0)  # the vs-rate chart: these multiples of the chosen rate
LENGTHS = ("fixed", "azure-conv-2023", "azure-code-2023")  # public: hwsim/serving/lengths.py
PARALLEL_SIZES = (1, 2, 4, 8)
DEFAULT_DURATION_S = 30.0  # keeps the default run about a second of wall time


def _index(options: list[str], wanted: str) -> int:
    return options.index(wanted) if wanted in options else 0


def inputs() -> ServeInputs:
    """The widgets, top of the page, as one ServeInputs."""
    # chips, then many-device systems (dgx-h100, ...): serve_tokens takes either
    chips = [name for kind in ("chips", "systems") for name, _, _ in compute.presets(kind)]
    models = decoder_presets()
    a, b, c = st.columns([2, 2, 3])
    chip = a.selectbox("chip", chips, index=_index(chips, DEFAULT_CHIP), key="serve_chip")
    model = b.selectbox("decoder model", models, index=_index(models, DEFAULT_MODEL),
                        key="serve_model")
    rate = c.select_slider("arrival rate (requests/s)", RATES, value=4.0, key="serve_rate")
    a, b, c, d = st.columns(4)
    lengths = a.selectbox("prompt/output lengths", LENGTHS, key="serve_lengths",
                          help="fixed counts, or a public distribution (Azure LLM inference "
                               "trace 2023, Patel et al. ISCA 2024)")
    fixed = lengths == "fixed"
    prompt = b.number_input("prompt tokens", 1, 32768, 512, key="serve_prompt", disabled=not fixed)
    output = c.number_input("output tokens", 1, 8192, 128, key="serve_output", disabled=not fixed)
    duration = d.number_input("arrivals for (s)", 1.0, 600.0, DEFAULT_DURATION_S, step=10.0,
                              key="serve_duration")
    a, b, c, d = st.columns(4)
    seqs = a.number_input("max_num_seqs", 1, 4096, 256, key="serve_max_num_seqs")
    tokens = b.number_input("max_batched_tokens", 16, 65536, 2048, step=256,
                            key="serve_max_batched_tokens")
    slo_ttft = c.number_input("SLO: TTFT (ms)", 1.0, 60000.0, 500.0, key="serve_slo_ttft_ms")
    slo_tpot = d.number_input("SLO: TPOT (ms)", 1.0, 10000.0, 50.0, key="serve_slo_tpot_ms")
    parallel = parallel_inputs()
    spars = st.text_input("sparsity (--sparsity specs separated by ';'; empty: as the model "
                          "defines it)", "", key="serve_sparsity")
    return ServeInputs(
        chip=chip, model=model, rate_per_s=float(rate), duration_s=float(duration),
        prompt_tokens=int(prompt) if fixed else lengths,
        output_tokens=int(output) if fixed else lengths,
        max_num_seqs=int(seqs), max_batched_tokens=int(tokens), parallel=parallel,
        sparsity=tuple(s.strip() for s in spars.split(";") if s.strip()),
        slo_ttft_s=float(slo_ttft) * 1e-3, slo_tpot_s=float(slo_tpot) * 1e-3)


def parallel_inputs() -> tuple[tuple[str, int], ...]:
    """tp/pp/ep pickers; () when all are 1 (one device, no parallel spec passed)."""
    a, b, c, d = st.columns(4)
    tp = a.selectbox("tensor parallel (tp)", PARALLEL_SIZES, key="serve_tp")
    pp = b.selectbox("pipeline parallel (pp)", PARALLEL_SIZES, key="serve_pp")
    ep = c.selectbox("expert parallel (ep)", PARALLEL_SIZES, key="serve_ep")
    spec = {"tp": int(tp), "pp": int(pp), "ep": int(ep)}
    if spec == {"tp": 1, "pp": 1, "ep": 1}:
        d.metric("devices", "1")
        return ()
    from hwsim.parallel import parse_parallel

    try:
        d.metric("devices", str(parse_parallel(spec).devices))
    except HwsimError as exc:
        d.error(str(exc))
    return tuple(sorted(spec.items()))


def show(doc: dict) -> None:
    """Cards and the percentile table of one run's document."""
    good = doc["goodput"]
    tpot = doc["tpot_s"] or {}
    cols = st.columns(6)
    cols[0].metric("TTFT p90", fmt.seconds(doc["ttft_s"]["p90"]))
    cols[1].metric("TPOT p50", fmt.seconds(tpot["p50"]) if tpot else "n/a")
    cols[2].metric("throughput (tokens/s)", f"{doc['throughput_tokens_per_s']:.4g}")
    cols[3].metric("goodput (requests/s)", "n/a" if good["fraction"] is None else
                   f"{good['requests_per_s']:.4g}", delta_color="off",
                   delta=None if good["fraction"] is None else
                   f"{good['fraction'] * 100:.1f} % meet the SLOs")
    cols[4].metric("energy per token", fmt.joules(doc["energy_j_per_token"]))
    cols[5].metric("KV cache peak", f"{doc['kv_cache']['occupancy_max'] * 100:.1f} %")
    rows = [{"metric": name, **{k: (doc[key] or {}).get(k) for k in ("p50", "p90", "p99",
                                                                    "mean")}}
            for name, key in (("TTFT (s)", "ttft_s"), ("TPOT (s)", "tpot_s"),
                              ("end-to-end (s)", "e2e_s"))]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="serve_table")
    st.caption(f"{doc['requests']} requests, {doc['iterations']} iterations, "
               f"{doc['preemptions']} preemptions, busy {doc['busy_fraction'] * 100:.0f} % of "
               f"{doc['makespan_s']:.1f} s; energy {fmt.joules(doc['energy_j'])} "
               f"({fmt.joules(doc['energy_j_per_request'])} per request)")


def render() -> None:
    st.title("Serving")
    st.caption("Token-level serving (continuous batching, chunked prefill, paged KV cache) "
               "— `hwsim serve` for decoder models; docs/serving.md.")
    inp = inputs()
    try:
        with st.spinner("serving..."):
            doc = serve(inp)
    except HwsimError as exc:
        st.error(str(exc))
        return
    show(doc)
    left, right = st.columns(2)
    left.plotly_chart(charts.kv_occupancy(doc), key="serve_kv_chart")
    rates = tuple(sorted({round(inp.rate_per_s * f, 6) for f in SWEEP_FACTORS}))
    with st.spinner("sweeping rates..."):
        swept = rate_sweep(inp, rates)
    ok = [(r, d) for r, d in swept if isinstance(d, dict)]
    for r, err in swept:
        if not isinstance(err, dict):
            st.warning(f"{r} requests/s: {err}")
    if ok:
        right.plotly_chart(charts.versus_rate(ok), key="serve_rate_chart")
    cmd = (f"hwsim serve --chip {inp.chip} --model {inp.model} --rate {inp.rate_per_s:g}/s "
           f"--duration {inp.duration_s:g}s --prompt-tokens {inp.prompt_tokens} "
           f"--output-tokens {inp.output_tokens} --max-num-seqs {inp.max_num_seqs} "
           f"--max-batched-tokens {inp.max_batched_tokens} "
           f"--slo-ttft-ms {inp.slo_ttft_s * 1e3:g} --slo-tpot-ms {inp.slo_tpot_s * 1e3:g}"
           + "".join(f" --{k} {v}" for k, v in inp.parallel)
           + "".join(f" --sparsity '{s}'" for s in inp.sparsity) + " --json")
    st.code(cmd, language="sh")


if __name__ == "__main__":
    render()
