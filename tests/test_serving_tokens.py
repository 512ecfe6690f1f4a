"""Token-level serving: hand-checked cases on a small decoder (gpt2-small on an H100)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import hwsim
from hwsim.errors import HwsimError
from hwsim.hardware.chips import load_chip
from hwsim.serving import serve_tokens
from hwsim.serving.kv_cache import BlockPool, kv_capacity
from hwsim.serving.lengths import parse_lengths
from hwsim.serving.step_cost import StepCost
from hwsim.serving.token_sim import run_tokens
from hwsim.sparsity.overrides import apply_sparsity

MODEL = "gpt2-small"
CHIP = "h100-sxm"


@pytest.fixture(scope="module")
def cost() -> StepCost:
    return StepCost(hwsim.load_model(MODEL, seq=1, phase="decode"), load_chip(CHIP))


def _run(cost: StepCost, arrivals: list[float], prompt: list[int], output: list[int], *,
         blocks: int = 10_000, block_size: int = 16, max_num_seqs: int = 256,
         max_batched_tokens: int = 2048, fast_forward: bool = True):
    return run_tokens(cost, BlockPool(blocks, block_size), np.asarray(arrivals, dtype=float),
                      np.asarray(prompt), np.asarray(output), max_num_seqs=max_num_seqs,
                      max_batched_tokens=max_batched_tokens, fast_forward=fast_forward)


def test_one_request_ttft_is_the_prefill_step_and_tpot_the_decode_steps(cost):
    prompt, output = 63, 9
    t = _run(cost, [0.0], [prompt], [output])
    prefill_s = cost.step(prompt, 1, 0, 0.0, [(prompt, prompt)])[0]
    assert t.first_token_s[0] == pytest.approx(prefill_s, rel=1e-12)
    decodes = [cost.step(1, 1, 1, prompt + j, [])[0] for j in range(1, output)]
    tpot = (t.finish_s[0] - t.first_token_s[0]) / (output - 1)
    assert tpot == pytest.approx(np.mean(decodes), rel=1e-12)
    # The first decode attends to 64 tokens, a grid node: exactly the engine's decode model.
    engine = hwsim.simulate(hwsim.load_model(MODEL, seq=64, phase="decode"), CHIP)
    assert decodes[0] == pytest.approx(engine.total.latency_s, rel=1e-9)
    # The prefill differs from the engine's prefill model by projecting only the last token to
    # the vocabulary and by interpolating 63 tokens between the nodes 48 and 64.
    prefill = hwsim.simulate(hwsim.load_model(MODEL, seq=prompt, phase="prefill"), CHIP)
    assert prefill_s == pytest.approx(prefill.total.latency_s, rel=0.05)


def test_kv_blocks_are_ceil_tokens_over_block_size_per_sequence(cost):
    prompt, output, bs = 40, 30, 16
    t = _run(cost, [0.0, 0.0], [prompt, prompt + 7], [output, output], block_size=bs)
    # First iteration: both prompts whole; last: both hold prompt + output - 1 tokens.
    assert t.step_kv_blocks[0] == math.ceil(prompt / bs) + math.ceil((prompt + 7) / bs)
    assert t.step_kv_blocks.max() == (math.ceil((prompt + output - 1) / bs)
                                      + math.ceil((prompt + 7 + output - 1) / bs))


def test_preemption_happens_exactly_when_the_cache_is_too_small(cost):
    # Two sequences of 16 + 40 tokens need ceil(55 / 16) = 4 blocks each at their longest.
    kw = {"arrivals": [0.0, 0.0], "prompt": [16, 16], "output": [40, 40]}
    roomy = _run(cost, blocks=8, **kw)
    tight = _run(cost, blocks=7, **kw)
    assert roomy.preemption_events == 0
    assert tight.preemption_events > 0
    assert np.all(tight.finish_s > 0)  # everything still finishes, later
    assert tight.finish_s.max() > roomy.finish_s.max()
    assert tight.step_kv_blocks.max() <= 7


def test_chunked_prefill_respects_the_token_budget(cost):
    t = _run(cost, [0.0, 0.0], [300, 300], [5, 5], max_batched_tokens=128)
    assert t.step_tokens.max() <= 128
    # 300 + 300 tokens in chunks of 128: A, A, A's last 44 with B's first 84, ...
    assert t.step_tokens[:3].tolist() == [128, 128, 128]
    assert t.first_token_s[0] == pytest.approx(t.step_latency_s[:3].sum(), rel=1e-12)
    assert t.first_token_s[1] > t.first_token_s[0]


def test_max_num_seqs_queues_the_rest(cost):
    t = _run(cost, [0.0] * 4, [32] * 4, [20] * 4, max_num_seqs=2)
    assert t.step_seqs.max() == 2
    assert t.first_token_s[2] >= t.finish_s[:2].min()


def test_fast_forward_equals_stepping_one_iteration_at_a_time(cost):
    rng = np.random.default_rng(3)
    arrivals = np.sort(rng.uniform(0.0, 0.05, 30)).tolist()
    prompt = rng.integers(8, 300, 30).tolist()
    output = rng.integers(1, 80, 30).tolist()
    kw = {"blocks": 60, "max_batched_tokens": 256, "max_num_seqs": 12}
    fast = _run(cost, arrivals, prompt, output, **kw)
    slow = _run(cost, arrivals, prompt, output, fast_forward=False, **kw)
    assert fast.preemption_events > 0  # the case exercises preemption too
    for name in ("first_token_s", "finish_s", "step_start_s", "step_latency_s",
                 "step_energy_j", "step_kv_blocks", "step_tokens"):
        assert np.array_equal(getattr(fast, name), getattr(slow, name)), name


def test_throughput_rises_with_rate_until_saturation():
    kw = {"duration_s": 2.0, "prompt_tokens": 128, "output_tokens": 32, "max_num_seqs": 8,
          "arrivals": "deterministic"}
    tput = [serve_tokens(MODEL, CHIP, rate_per_s=r, **kw).to_dict()["throughput_tokens_per_s"]
            for r in (20, 80, 320, 5000, 20000)]
    assert tput[0] < tput[1] < tput[2] < tput[3]
    assert tput[4] == pytest.approx(tput[3], rel=0.1)  # saturated: the chip's limit


def test_same_seed_same_document_and_seed_matters():
    kw = {"rate_per_s": 50, "duration_s": 1.0, "prompt_tokens": "azure-conv-2023",
          "output_tokens": "uniform:4-64"}
    a = json.dumps(serve_tokens(MODEL, CHIP, seed=1, **kw).to_dict())
    b = json.dumps(serve_tokens(MODEL, CHIP, seed=1, **kw).to_dict())
    c = json.dumps(serve_tokens(MODEL, CHIP, seed=2, **kw).to_dict())
    assert a == b
    assert a != c


def test_report_fields_and_energy_per_token():
    r = serve_tokens(MODEL, CHIP, rate_per_s=20, duration_s=1.0, prompt_tokens=64,
                     output_tokens=16, slo_ttft_s=1.0, slo_tpot_s=1.0)
    d = r.to_dict()
    for key in ("ttft_s", "tpot_s", "e2e_s"):
        assert set(d[key]) >= {"p50", "p90", "p99", "mean"}
    assert d["goodput"]["fraction"] == 1.0  # generous SLOs
    tokens = d["requests"] * 16
    assert d["throughput_tokens_per_s"] == pytest.approx(tokens / d["makespan_s"])
    busy = r.trace.step_energy_j.sum()
    idle = r.idle_power_w * (d["makespan_s"] - r.trace.step_latency_s.sum())
    assert d["energy_j_per_token"] == pytest.approx((busy + idle) / tokens)
    assert 0.0 < d["kv_cache"]["occupancy_mean"] <= d["kv_cache"]["occupancy_max"] <= 1.0


def test_kv_capacity_is_memory_minus_weights_and_activations():
    model = hwsim.load_model("llama2-7b", seq=1, phase="decode")
    cap = kv_capacity(model, load_chip(CHIP), block_size=16, max_batched_tokens=2048,
                      memory_utilization=0.9)
    # LLaMA-2-7B fp16: 2 (K, V) x 32 layers x 4096 x 2 bytes per token.
    assert cap.kv_bytes_per_token == 2 * 32 * 4096 * 2
    left = cap.memory_bytes * 0.9 - cap.weights_bytes - cap.activation_bytes
    assert cap.blocks == math.floor(left / (16 * cap.kv_bytes_per_token))


def test_public_length_distribution_has_the_trace_medians():
    rng = np.random.default_rng(0)
    spec = parse_lengths("azure-conv-2023", "--prompt-tokens")
    assert not isinstance(spec, str)
    assert np.median(spec.draw(20_000, 0, rng)) == pytest.approx(1020, rel=0.03)
    assert np.median(spec.draw(20_000, 1, rng)) == pytest.approx(129, rel=0.05)


def test_trace_file_gives_arrivals_and_lengths(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("arrival_s,prompt_tokens,output_tokens\n0.0,100,5\n0.01,50,3\n0.5,20,2\n")
    r = serve_tokens(MODEL, CHIP, rate_per_s=None, duration_s=10.0,
                     prompt_tokens=f"trace:{path}", output_tokens=f"trace:{path}")
    assert r.trace.prompt_tokens.tolist() == [100, 50, 20]
    assert r.trace.output_tokens.tolist() == [5, 3, 2]
    assert r.to_dict()["requests"] == 3


@pytest.mark.parametrize(("args", "needle"), [
    (["--rate", "-4/s"], "--rate"),
    (["--model", "llama3-405b-8bit", "--rate", "1/s"], "does not fit"),
    (["--prompt-tokens", "trace:/nonexistent.csv"], "trace file not found"),
    (["--prompt-tokens", "lots"], "--prompt-tokens"),
    (["--prompt-tokens", "64", "--batching", "max_batch=4,timeout_ms=1"], "cannot be combined"),
    (["--max-num-seqs", "0"], "--max-num-seqs"),
])
def test_bad_settings_exit_2_naming_the_setting(run_cli, args, needle):
    base = {"--chip": CHIP, "--model": MODEL, "--rate": "5/s", "--duration": "1s"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    code, _, err = run_cli("serve", *[x for kv in base.items() for x in kv])
    assert code == 2
    assert needle in err
    assert "Traceback" not in err


def test_bad_trace_line_is_named(tmp_path, run_cli):
    path = tmp_path / "bad.csv"
    path.write_text("0.0,10,5\n0.1,ten,5\n")
    code, _, err = run_cli("serve", "--chip", CHIP, "--model", MODEL, "--duration", "1s",
                           "--prompt-tokens", f"trace:{path}")
    assert code == 2
    assert "line 2" in err


def test_cli_json_has_the_interface_fields(run_cli):
    code, out, _ = run_cli("serve", "--chip", CHIP, "--model", MODEL, "--rate", "20/s",
                           "--duration", "1s", "--prompt-tokens", "64", "--output-tokens",
                           "8", "--max-num-seqs", "4", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["mode"] == "token"
    assert d["settings"]["max_num_seqs"] == 4
    for key in ("ttft_s", "tpot_s", "e2e_s", "throughput_tokens_per_s", "energy_j_per_token",
                "kv_cache"):
        assert key in d


def test_request_larger_than_the_cache_is_rejected():
    # gpt2-small int8 keeps 2 x 12 x 768 bytes of KV per token: 1e6 tokens are 18 GB, more
    # than an RTX 4090's 24 GB leaves at 0.5 utilisation.
    with pytest.raises(HwsimError, match="more KV cache"):
        serve_tokens(MODEL, "rtx-4090", rate_per_s=5, duration_s=2.0, memory_utilization=0.5,
                     prompt_tokens=1_000_000, output_tokens=10)


def test_union_of_active_neurons_grows_with_the_running_batch():
    model = apply_sparsity(hwsim.load_model("selective-gpt2-small", seq=1, phase="decode"),
                           ["*.ffn_up:topk:density=0.1,token_correlation=0.8",
                            "*.ffn_down:topk:density=0.1,token_correlation=0.8"])
    cost = StepCost(model, load_chip("sparseflow-accel"))  # its weight reads follow the union
    law = cost.law
    assert law is not None and law.correlation == 0.8
    d = round(law.density * law.k_dim) / law.k_dim  # the engine's k-rounded density
    # B decodes are B independent requests: 1 - (1 - d)^B, growing with B.
    for b in (1, 4, 16):
        assert cost.union(b, []) == pytest.approx(1 - (1 - d) ** b, rel=1e-12)
    assert cost.union(1, []) < cost.union(4, []) < cost.union(16, [])
    # 8 tokens of one request share most neurons: a smaller union than 8 requests' tokens.
    assert cost.union(0, [8]) < cost.union(8, [])
    # A decode-only iteration is priced with independent rows; a one-request chunk of 8
    # tokens between the independent and the spec's correlated price.
    indep = cost.body_cost(8)[0]
    corr = cost._linear("body_corr", 8)[0]
    assert corr < indep
    chunk = cost.step(8, 1, 0, 0.0, [(8, 8)])[0] - cost.head_cost(1)[0] \
        - cost.attention_cost(8, 8, 1)[0]
    assert corr - 1e-12 <= chunk <= indep + 1e-12
    assert chunk < indep


def test_dense_model_reports_no_sparsity():
    r = serve_tokens(MODEL, CHIP, rate_per_s=20, duration_s=0.5, prompt_tokens=32,
                     output_tokens=4)
    assert r.to_dict()["sparsity"] is None


def test_moe_expert_loads_are_drawn_per_iteration():
    from hwsim.serving.step_moe import moe_law

    law = moe_law(hwsim.load_model("moe-fine-16b", seq=1, phase="decode"))
    assert law is not None
    # One token routes to exactly top_k distinct experts, each carrying one token.
    d = law.draw(1, seed=0, step=0)
    assert d.active == law.top_k
    assert d.max_over_fair == pytest.approx(law.experts / law.top_k)
    assert d.dropped == 0 and d.padded_tokens == 1
    # Many tokens: at most every expert, draws differ by iteration, repeat by seed.
    draws = [law.draw(256, seed=0, step=s) for s in range(3)]
    assert all(d.active <= law.experts for d in draws)
    assert draws[0] != draws[1]
    assert law.draw(256, seed=0, step=1) == draws[1]


def test_token_flags_on_a_non_decoder_are_an_error(run_cli):
    code, _, err = run_cli("serve", "--chip", "systolic-32x32", "--model", "sln-kws",
                           "--rate", "100/s", "--duration", "1s", "--max-num-seqs", "8")
    assert code == 2
    assert "--max-num-seqs" in err and "not a decoder" in err
