"""The Serving page, headless (AppTest): its cards and table are ``serve_tokens`` for the inputs
shown, the rate slider moves TTFT the way queueing does, and the parallelism pickers reach the
API's ``parallel=``."""

from __future__ import annotations

import time

import pytest

from hwsim.app import fmt
from hwsim.app.launch import app_script
from hwsim.app.serving import DEFAULT_CHIP, DEFAULT_DURATION_S, DEFAULT_MODEL
from hwsim.serving import serve_tokens

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

SMALL = "gpt2-small"  # seconds-long runs at rates that queue on an H100


def serving_page(model: str | None = None) -> AppTest:
    at = AppTest.from_file(str(app_script()), default_timeout=180)
    at.run()
    at.switch_page("serving.py").run()
    assert not at.exception, at.exception
    if model is not None:
        at.selectbox(key="serve_model").select(model).run()
        assert not at.exception, at.exception
    return at


def cards(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def api(rate: float, model: str = DEFAULT_MODEL, **kw: object) -> dict:
    return serve_tokens(model, DEFAULT_CHIP, rate_per_s=rate, duration_s=DEFAULT_DURATION_S,
                        prompt_tokens=512, output_tokens=128, max_num_seqs=256,
                        max_batched_tokens=2048, slo_ttft_s=0.5, slo_tpot_s=0.05,
                        **kw).to_dict()


def test_serving_page_renders_the_api_numbers() -> None:
    t0 = time.monotonic()
    at = serving_page()
    wall_s = time.monotonic() - t0
    want = api(4.0)
    c = cards(at)
    assert c["TTFT p90"] == fmt.seconds(want["ttft_s"]["p90"])
    assert c["TPOT p50"] == fmt.seconds(want["tpot_s"]["p50"])
    assert c["energy per token"] == fmt.joules(want["energy_j_per_token"])
    assert c["throughput (tokens/s)"] == f"{want['throughput_tokens_per_s']:.4g}"
    assert c["goodput (requests/s)"] == f"{want['goodput']['requests_per_s']:.4g}"
    table = at.dataframe[0].value.set_index("metric")
    assert table.loc["TTFT (s)", "p99"] == want["ttft_s"]["p99"]
    assert table.loc["end-to-end (s)", "p50"] == want["e2e_s"]["p50"]
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # KV occupancy over time, energy/TTFT vs rate
    assert not at.error
    print(f"\nserving page first render (default run + 4-rate sweep): {wall_s:.2f} s")


def test_rate_slider_moves_ttft_up() -> None:
    at = serving_page(SMALL)
    at.select_slider(key="serve_rate").set_value(16.0).run()
    low = cards(at)
    at.select_slider(key="serve_rate").set_value(64.0).run()
    assert not at.exception
    high = cards(at)
    want_low, want_high = api(16.0, SMALL), api(64.0, SMALL)
    assert low["TTFT p90"] == fmt.seconds(want_low["ttft_s"]["p90"])
    assert high["TTFT p90"] == fmt.seconds(want_high["ttft_s"]["p90"])
    # more requests per second -> longer queues and bigger batches -> later first tokens
    assert want_high["ttft_s"]["p90"] > want_low["ttft_s"]["p90"]


def test_bad_input_is_shown_not_raised() -> None:
    at = serving_page(SMALL)
    at.text_input(key="serve_sparsity").input("*.ffn_up:topk:density=7").run()
    assert not at.exception and at.error and "density" in at.error[0].value


def test_parallel_controls_reach_the_api() -> None:
    at = serving_page()
    at.selectbox(key="serve_tp").select(2).run()
    assert not at.exception
    assert cards(at)["devices"] == "2"
    want = api(4.0, parallel={"tp": 2, "pp": 1, "ep": 1})
    one = api(4.0)
    assert cards(at)["TPOT p50"] == fmt.seconds(want["tpot_s"]["p50"])
    assert want["tpot_s"]["p50"] != one["tpot_s"]["p50"]
    assert "--tp 2" in at.code[0].value
