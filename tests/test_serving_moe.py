"""MoE per iteration (issue 19 item 2): expert loads drawn per step and priced at the draw."""

from __future__ import annotations

import json

import numpy as np
import pytest

import hwsim
from hwsim.errors import HwsimError
from hwsim.hardware.chips import load_chip
from hwsim.serving import serve_tokens
from hwsim.serving.kv_cache import BlockPool
from hwsim.serving.step_cost import StepCost
from hwsim.serving.step_moe import MoeLaw, moe_law
from hwsim.serving.token_sim import run_tokens

MODEL = "moe-fine-16b"  # 64 routed experts, top-6, zipf(1.0) routing, capacity 1.25
CHIP = "h100-sxm"


def _model(routing: str = "zipf", capacity: float = 1.25):
    return hwsim.load_model(MODEL, seq=1, phase="decode", overrides={
        "builder.moe.routing.routing": routing,
        "builder.moe.routing.capacity_factor": capacity})


@pytest.fixture(scope="module")
def cost() -> StepCost:
    return StepCost(_model(), load_chip(CHIP))


def _law(cost: StepCost, routing: str, zipf_s: float = 1.2, cap: float = 1.25) -> MoeLaw:
    base = cost.moe
    assert base is not None
    return MoeLaw(base.op, base.experts, base.top_k, routing, zipf_s, cap)


def test_skewed_loads_cost_more_than_uniform_at_the_same_tokens(cost):
    tokens = 256
    uniform, zipf = _law(cost, "uniform", cap=8.0), _law(cost, "zipf", cap=8.0)
    lat_u = [cost.expert_cost(uniform.draw(tokens, 0, s))[0] for s in range(5)]
    lat_z = [cost.expert_cost(zipf.draw(tokens, 0, s))[0] for s in range(5)]
    pad_u = [uniform.draw(tokens, 0, s).padded_tokens for s in range(5)]
    pad_z = [zipf.draw(tokens, 0, s).padded_tokens for s in range(5)]
    assert min(pad_z) > max(pad_u)  # a hot expert pads every used expert's GEMM
    assert min(lat_z) > max(lat_u)
    # Whole iterations: same tokens and shape, only the routing differs.
    step = {name: cost.step(tokens, tokens, tokens, 300.0, [], law.draw(tokens, 0, 0))[0]
            for name, law in (("uniform", uniform), ("zipf", zipf))}
    assert step["zipf"] > step["uniform"]


def test_balanced_routing_pads_least_and_touches_most_experts(cost):
    # Balanced slots: every expert within one token of the mean, so the least padding at
    # prefill sizes and, at decode sizes, the most distinct experts (their weights all stream).
    balanced, uniform = _law(cost, "balanced", cap=8.0), _law(cost, "uniform", cap=8.0)
    big = balanced.draw(256, 0, 0)
    assert big.padded_tokens == -(-256 * 6 // 64)
    assert big.padded_tokens < min(uniform.draw(256, 0, s).padded_tokens for s in range(5))
    assert balanced.draw(8, 0, 0).active == 8 * 6  # 48 slots, 48 distinct experts of 64
    assert balanced.draw(8, 0, 0).active > max(uniform.draw(8, 0, s).active for s in range(5))


def test_a_prefill_heavy_run_costs_more_with_skewed_routing():
    # Iterations of hundreds of tokens: every expert is used either way, and the hot expert's
    # padding makes the skewed ones slower. (At decode sizes skew can instead be cheaper:
    # fewer distinct experts' weights are read; docs/serving.md.)
    kw = {"rate_per_s": 100, "duration_s": 0.1, "prompt_tokens": 512, "output_tokens": 2,
          "arrivals": "deterministic"}
    docs = {r: serve_tokens(_model(r, 8.0), CHIP, **kw).to_dict() for r in ("uniform", "zipf")}
    assert docs["zipf"]["energy_j"] > docs["uniform"]["energy_j"]
    assert docs["zipf"]["ttft_s"]["mean"] > docs["uniform"]["ttft_s"]["mean"]
    assert docs["zipf"]["moe"]["max_load_over_fair"]["mean"] > \
        docs["uniform"]["moe"]["max_load_over_fair"]["mean"]


def test_capacity_drops_are_counted_and_cap_the_padded_rows(cost):
    tokens = 512
    tight = _law(cost, "zipf", cap=1.0)
    cap = int(np.ceil(1.0 * tokens * tight.top_k / tight.experts))
    d = tight.draw(tokens, 0, 0)
    assert d.dropped > 0 and d.padded_tokens == cap
    assert _law(cost, "zipf", cap=64.0).draw(tokens, 0, 0).dropped == 0
    doc = serve_tokens(_model("zipf", 1.0), CHIP, rate_per_s=400, duration_s=0.1,
                       prompt_tokens=128, output_tokens=4, arrivals="deterministic").to_dict()
    moe = doc["moe"]
    assert moe["dropped_assignments"] > 0
    assert 0.0 < moe["dropped_fraction"] < 1.0
    assert moe["priced"].startswith("per iteration")


def test_same_seed_same_run_and_the_seed_matters():
    kw = {"rate_per_s": 100, "duration_s": 0.2, "prompt_tokens": 32, "output_tokens": 8}
    a = serve_tokens(_model(), CHIP, seed=1, **kw).to_dict()
    b = serve_tokens(_model(), CHIP, seed=1, **kw).to_dict()
    c = serve_tokens(_model(), CHIP, seed=2, **kw).to_dict()
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert a["energy_j"] != c["energy_j"]


def test_fast_forward_equals_stepping_with_moe(cost):
    rng = np.random.default_rng(5)
    arrivals = np.sort(rng.uniform(0.0, 0.02, 12))
    prompt, output = rng.integers(8, 64, 12), rng.integers(1, 40, 12)
    runs = [run_tokens(cost, BlockPool(500, 16), arrivals, prompt, output, max_num_seqs=8,
                       max_batched_tokens=128, fast_forward=ff, seed=3) for ff in (True, False)]
    for name in ("finish_s", "step_latency_s", "step_energy_j", "step_moe"):
        assert np.array_equal(getattr(runs[0], name), getattr(runs[1], name)), name


def test_a_routing_trace_sets_the_popularity(tmp_path, cost):
    trace = tmp_path / "routes.csv"
    trace.write_text("expert,tokens\n" + "".join(f"{e},100\n" for e in range(6)))
    law = moe_law(_model(), trace)
    assert law is not None and law.routing == "trace"
    d = law.draw(200, 0, 0)
    assert d.active == 6  # every token takes the trace's six experts
    doc = serve_tokens(MODEL, CHIP, rate_per_s=100, duration_s=0.05, prompt_tokens=16,
                       output_tokens=4, moe_routing_trace=str(trace)).to_dict()
    assert doc["moe"]["routing"] == "trace" and doc["moe"]["active_experts"]["max"] <= 6


@pytest.mark.parametrize("text", ["expert,tokens\n99,5\n", "expert,tokens\n", "0,1,2\n"])
def test_a_bad_routing_trace_is_an_input_error(tmp_path, text):
    trace = tmp_path / "bad.csv"
    trace.write_text(text)
    with pytest.raises(HwsimError, match="moe_routing_trace"):
        serve_tokens(MODEL, CHIP, rate_per_s=100, duration_s=0.1, moe_routing_trace=str(trace))


def test_a_routing_trace_on_a_dense_model_is_an_input_error(tmp_path):
    trace = tmp_path / "routes.csv"
    trace.write_text("0,5\n")
    with pytest.raises(HwsimError, match="no MoE op"):
        serve_tokens("gpt2-small", CHIP, rate_per_s=100, duration_s=0.1,
                     moe_routing_trace=str(trace))
