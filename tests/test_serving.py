"""hwsim.serving: queueing theory, batching rule, sparsity spread, determinism, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

import hwsim
from hwsim.errors import HwsimError
from hwsim.serving import ServiceModel, render, serve, serve_from_cli

CHIP = "systolic-32x32"
SPARSE_CHIP = "sparseflow-accel"
# A decode-like GEMM (one token x a 768x768 weight): weight fetch dominates, so a batch of B
# costs nearly what one request does (the batch-union effect is absent: the model is dense).
DECODE_GEMM = (1, 768, 768)
VARIABLE = "*ffn_*:topk:density=0.1,variability={std: 0.04}"


@pytest.fixture(scope="module")
def gemm_model():
    return hwsim.gemm(*DECODE_GEMM)


@pytest.fixture(scope="module")
def chip():
    return hwsim.load_chip(CHIP)


@pytest.fixture(scope="module")
def service_s(gemm_model, chip) -> float:
    return hwsim.simulate(gemm_model, chip, batch=1).total.latency_s


@pytest.fixture(scope="module")
def gpt2():
    return hwsim.load_model("selective-gpt2-small", seq=64)


# --------------------------------------------------------------------------- queueing theory


@pytest.mark.parametrize(("rho", "requests", "tolerance"), [(0.5, 100_000, 0.04),
                                                             (0.8, 200_000, 0.05)])
def test_md1_mean_wait(gemm_model, chip, service_s, rho, requests, tolerance):
    """Batching off, fixed service time, Poisson arrivals: the M/D/1 (Pollaczek-Khinchine)
    mean wait W_q = rho S / (2 (1 - rho)). Tolerances are ~3 standard errors of the estimate
    (measured over 12 seeds: 1.3 % at rho 0.5 with 1e5 requests, 2.3 % at 0.8)."""
    rate = rho / service_s
    r = serve(gemm_model, chip, rate_per_s=rate, duration_s=requests / rate, seed=0)
    expected = rho * service_s / (2.0 * (1.0 - rho))
    assert r.mean_batch_size == 1.0
    assert r.queueing_delay_s.mean == pytest.approx(expected, rel=tolerance)
    assert r.utilization == pytest.approx(rho, rel=0.02)
    # End to end = queueing + the deterministic service time, request by request.
    assert np.allclose(r.trace.latency_s - r.trace.queueing_s, service_s, rtol=1e-9, atol=1e-15)


def test_throughput_follows_rate_when_stable(gemm_model, chip, service_s):
    rate = 0.6 / service_s
    r = serve(gemm_model, chip, rate_per_s=rate, duration_s=20_000 / rate, seed=3)
    assert r.throughput_per_s == pytest.approx(rate, rel=0.03)
    assert r.latency_s.p99 < 20 * service_s


def test_overload_saturates_and_latency_explodes(gemm_model, chip, service_s):
    rate = 2.0 / service_s
    duration_s = 20_000 / rate
    r = serve(gemm_model, chip, rate_per_s=rate, duration_s=duration_s, seed=3)
    assert r.utilization > 0.999
    assert r.throughput_per_s == pytest.approx(1.0 / service_s, rel=0.01)
    # Half the offered requests pile up: the last waits ~ half the admission window.
    assert r.latency_s.p99 > 0.3 * duration_s
    assert r.latency_s.p99 > 1000 * service_s


def test_deterministic_arrivals_below_capacity_never_queue(gemm_model, chip, service_s):
    r = serve(gemm_model, chip, rate_per_s=0.5 / service_s, duration_s=1000 * service_s,
              arrivals="deterministic")
    assert r.requests == 500
    assert r.queueing_delay_s.max == pytest.approx(0.0, abs=1e-15)
    assert r.latency_s.max == pytest.approx(service_s, rel=1e-9)


# --------------------------------------------------------------------------- batching


def test_batching_raises_capacity(gemm_model, chip, service_s):
    """At 1.5x the batch-1 capacity, batch 1 saturates; batches of up to 8 keep up."""
    rate = 1.5 / service_s
    duration_s = 20_000 / rate
    alone = serve(gemm_model, chip, rate_per_s=rate, duration_s=duration_s, seed=5)
    batched = serve(gemm_model, chip, rate_per_s=rate, duration_s=duration_s, seed=5,
                    max_batch=8, timeout_s=service_s)
    assert alone.throughput_per_s == pytest.approx(1.0 / service_s, rel=0.01)
    assert batched.capacity_per_s > 7 * alone.capacity_per_s
    assert batched.throughput_per_s == pytest.approx(rate, rel=0.03)
    assert batched.latency_s.p99 < 10 * service_s < alone.latency_s.p99
    assert 1.0 < batched.mean_batch_size <= batched.largest_batch <= 8


@pytest.mark.parametrize(("rate_x", "max_batch", "timeout_x"), [(1.5, 8, 1.0), (0.3, 4, 3.0),
                                                                 (3.0, 4, 0.0)])
def test_dispatch_rule_on_recorded_times(gemm_model, chip, service_s, rate_x, max_batch,
                                         timeout_x):
    """Dispatch as soon as the chip is free and max_batch wait or the oldest has waited the
    timeout, whichever first: checked batch by batch on the recorded times."""
    rate, timeout_s = rate_x / service_s, timeout_x * service_s
    r = serve(gemm_model, chip, rate_per_s=rate, duration_s=5_000 / rate, seed=11,
              max_batch=max_batch, timeout_s=timeout_s)
    t = r.trace
    eps = 1e-12 * max(1.0, float(t.finish_s.max()))
    assert (t.batch_size >= 1).all() and (t.batch_size <= max_batch).all()
    assert np.array_equal(np.repeat(np.arange(t.batch_size.size), t.batch_size), t.batch_index)
    heads = np.concatenate([[0], np.cumsum(t.batch_size)[:-1]])
    prev_finish = np.concatenate([[0.0], t.batch_start_s[:-1] + t.batch_service_s[:-1]])
    n = t.arrival_s.size
    for j, (head, size, start) in enumerate(zip(heads, t.batch_size, t.batch_start_s,
                                                strict=True)):
        last = head + size - 1
        assert start >= t.arrival_s[last] - eps  # no request served before it arrives
        assert start >= prev_finish[j] - eps  # one batch at a time, non-preemptive
        full_at = t.arrival_s[head + max_batch - 1] if head + max_batch - 1 < n else np.inf
        ready = min(t.arrival_s[head] + timeout_s, full_at)
        assert start <= max(prev_finish[j], ready) + eps  # never waits past the rule
        if size < max_batch:
            if last + 1 < n:  # a short batch took everyone waiting
                assert t.arrival_s[last + 1] >= start - eps
            if start > prev_finish[j] + eps:  # chip idle: it waited exactly the timeout
                assert start == pytest.approx(t.arrival_s[head] + timeout_s, abs=eps)
    assert (t.finish_s == t.start_s + t.batch_service_s[t.batch_index]).all()


def test_batch_costs_come_from_the_engine(gemm_model, chip):
    service = ServiceModel(gemm_model, chip)
    assert not service.variable
    for batch in (1, 3, 8):
        total = hwsim.simulate(gemm_model, chip, batch=batch).total
        latency_s, dynamic_j = service.cost(batch, 0.5)
        assert latency_s == total.latency_s
        assert dynamic_j == pytest.approx(total.energy_j - total.energy_breakdown_j["static"])


def test_energy_per_request_adds_idle_static_power(gemm_model, chip, service_s):
    r = serve(gemm_model, chip, rate_per_s=0.25 / service_s, duration_s=4000 * service_s)
    total = hwsim.simulate(gemm_model, chip, batch=1).total
    assert r.dynamic_energy_per_request_j == pytest.approx(
        total.energy_j - total.energy_breakdown_j["static"])
    assert r.static_energy_per_request_j == pytest.approx(
        total.static_power_w * r.makespan_s / r.requests)
    assert r.energy_per_request_j == pytest.approx(
        r.dynamic_energy_per_request_j + r.static_energy_per_request_j)
    # At 25 % load the idle chip leaks ~3x the static energy it would while busy.
    assert r.static_energy_per_request_j > 3.5 * total.energy_breakdown_j["static"]


# --------------------------------------------------------------------------- sparsity


def test_density_grid_matches_the_engine(gpt2):
    service = ServiceModel(gpt2, SPARSE_CHIP, sparsity=[VARIABLE])
    assert service.variable and service.law is not None
    assert service.law.mean == 0.1 and service.law.std == 0.04
    for d in (0.02, 0.07, 0.13):
        exact = hwsim.simulate(gpt2, SPARSE_CHIP, batch=2, sparsity=[
            f"*ffn_*:topk:density={d},variability={{std: 0.04}}"]).total.latency_s
        # On grid points exact; between them within the engine's step size (measured < 0.4 %).
        assert service.cost(2, d)[0] == pytest.approx(exact, rel=0.01)
    lat = service.table(1)[0]
    assert (np.diff(lat) > 0).all()  # denser requests cost more on a skipping chip


def test_density_variability_widens_latency_spread(gpt2):
    service_s = ServiceModel(gpt2, SPARSE_CHIP, sparsity=[VARIABLE]).nominal_cost(1)[0]
    common = dict(rate_per_s=0.5 / service_s, duration_s=600 * service_s,
                  arrivals="deterministic", sparsity=[VARIABLE], seed=2)
    fixed = serve(gpt2, SPARSE_CHIP, density_std=0.0, **common)
    varied = serve(gpt2, SPARSE_CHIP, **common)
    assert fixed.density is None and varied.density is not None
    assert varied.density.mean == pytest.approx(0.1, abs=0.01)
    assert fixed.latency_s.p99 == pytest.approx(fixed.latency_s.p50, rel=1e-9)
    assert varied.latency_s.p99 - varied.latency_s.p50 > 0.04 * varied.latency_s.p50
    assert varied.latency_s.max > fixed.latency_s.max
    # Poisson arrivals at low load: the spread is still wider with variability.
    common.update(arrivals="poisson", rate_per_s=0.1 / service_s)
    fixed_p = serve(gpt2, SPARSE_CHIP, density_std=0.0, **common)
    varied_p = serve(gpt2, SPARSE_CHIP, **common)
    assert (varied_p.latency_s.p90 - varied_p.latency_s.p50
            > fixed_p.latency_s.p90 - fixed_p.latency_s.p50)


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_result_and_different_seed_differs(gpt2):
    kw = dict(rate_per_s=300.0, duration_s=2.0, max_batch=4, timeout_s=1e-3, slo_s=5e-3,
              sparsity=[VARIABLE])
    a = json.dumps(serve(gpt2, SPARSE_CHIP, seed=7, **kw).to_dict())
    b = json.dumps(serve(gpt2, SPARSE_CHIP, seed=7, **kw).to_dict())
    c = json.dumps(serve(gpt2, SPARSE_CHIP, seed=8, **kw).to_dict())
    assert a == b
    assert a != c


def test_cli_entry_point_and_table(tmp_path):
    trace = tmp_path / "arrivals.csv"
    trace.write_text("arrival_s,user\n0.0,a\n0.001,b\n# comment\n\n0.0011,c\n0.5,d\n2.5,e\n")
    r = serve_from_cli("systolic-32x32", "sln-kws", None, "max_batch=4,timeout_ms=0.5", "2s",
                       slo_ms=1.0, arrivals=f"trace:{trace}", seed=0)
    assert r.requests == 4  # 2.5 s is after the 2 s admission window
    assert r.slo_violation_rate is not None and 0.0 <= r.slo_violation_rate <= 1.0
    doc = r.to_dict()
    assert set(doc["latency_s"]) == {"p50", "p90", "p99", "max", "mean"}
    assert doc["config"]["arrivals"] == "trace" and doc["config"]["rate_per_s"] is None
    json.dumps(doc)
    assert render(r).row_count >= 8


# --------------------------------------------------------------------------- bad input


def _cli(**overrides):
    args = dict(chip="systolic-32x32", model="sln-kws", rate="200/s", batching="none",
                duration="1s", slo_ms=None, arrivals="poisson", seed=0)
    args.update(overrides)
    return serve_from_cli(**args)


@pytest.mark.parametrize(("override", "flag", "words"), [
    ({"rate": "fast"}, "--rate", "REQUESTS/s like 200/s"),
    ({"rate": "0/s"}, "--rate", "> 0"),
    ({"rate": "200/fortnight"}, "--rate", "REQUESTS/s"),
    ({"rate": None}, "--rate", "REQUESTS/s"),
    ({"rate": "1e9/s", "duration": "1h"}, "--rate", "at most"),
    ({"duration": "10 parsecs"}, "--duration", "10s, 500ms or 2min"),
    ({"duration": "0s"}, "--duration", "> 0"),
    ({"duration": "nan"}, "--duration", "duration"),
    ({"batching": "max_batch=0"}, "--batching", "1..1024"),
    ({"batching": "max_batch=8,timout_ms=2"}, "--batching", "did you mean 'timeout_ms'"),
    ({"batching": "max_batch=x"}, "--batching", "whole number"),
    ({"batching": "timeout_ms=2"}, "--batching", "max_batch is required"),
    ({"batching": "max_batch=8,timeout_ms=-1"}, "--batching", ">= 0"),
    ({"batching": "8"}, "--batching", "max_batch=N"),
    ({"arrivals": "poison"}, "--arrivals", "did you mean 'poisson'"),
    ({"arrivals": "trace:"}, "--arrivals", "needs a file"),
    ({"arrivals": "trace:/no/such/file.csv"}, "--arrivals trace:", "not found"),
    ({"slo_ms": -1.0}, "--slo-ms", "> 0"),
    ({"seed": -1}, "--seed", ">= 0"),
])
def test_bad_flags_name_the_flag(override, flag, words):
    with pytest.raises(HwsimError) as info:
        _cli(**override)
    text = str(info.value)
    assert flag in text and words in text


@pytest.mark.parametrize(("content", "words"), [
    ("0.1\n-0.5\n", ">= 0"),
    ("0.1\nsoon\n", "line 2"),
    ("0.2\n0.1\n", "non-decreasing"),
    ("time\n", "no arrival times"),
    ("0.1\ninf\n", "finite"),
])
def test_bad_trace_files(tmp_path, content, words):
    path = tmp_path / "t.csv"
    path.write_text(content)
    with pytest.raises(HwsimError) as info:
        _cli(rate=None, arrivals=f"trace:{path}")
    assert "--arrivals trace:" in str(info.value) and words in str(info.value)


def test_api_errors_name_the_keyword(gemm_model, chip):
    for kwargs, name in [({"rate_per_s": 0.0}, "rate_per_s"),
                         ({"duration_s": -1.0}, "duration_s"),
                         ({"max_batch": 0}, "max_batch"),
                         ({"slo_s": float("nan")}, "slo_s"),
                         ({"seed": 1.5}, "seed")]:
        args = dict(rate_per_s=100.0, duration_s=1.0) | kwargs
        with pytest.raises(HwsimError, match=name):
            serve(gemm_model, chip, **args)


def test_no_arrival_in_window_is_an_input_error(gemm_model, chip):
    with pytest.raises(HwsimError, match="no request arrived"):
        serve(gemm_model, chip, rate_per_s=1e-3, duration_s=1.0, seed=0)
