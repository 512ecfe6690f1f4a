"""simulate(..., parallel=) on many devices: TP=1 is the single device, TP shards weights and
adds two all-reduces per layer, PP has the GPipe bubble, EP adds all-to-alls, bad settings are
exit-2 errors naming the setting."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

import hwsim
from hwsim.errors import HwsimError
from hwsim.parallel import ParallelSpec, load_system
from hwsim.parallel.collectives import collective_time_s

LAYERS = 4


@cache
def llama() -> Any:
    return hwsim.load_model("llama2-7b", overrides={"builder.layers": LAYERS, "builder.seq": 512,
                                                    "builder.phase": "decode"})


@cache
def mixtral() -> Any:
    return hwsim.load_model("mixtral-8x7b", overrides={"builder.layers": 2, "builder.seq": 256,
                                                       "builder.phase": "decode"})


def test_tp1_is_the_single_device_result() -> None:
    one = hwsim.simulate(llama(), "h100-sxm", batch=4)
    for par in ({"tp": 1}, ParallelSpec(), None):
        r = hwsim.simulate(llama(), "dgx-h100", batch=4, parallel=par)
        assert r.to_dict()["total"] == one.to_dict()["total"]
        assert r.parallel is None
    assert hwsim.simulate(llama(), "h100-sxm", batch=4, devices=1).to_dict() == one.to_dict()


def test_tp2_halves_weights_and_adds_two_all_reduces_per_layer() -> None:
    r = hwsim.simulate(llama(), "dgx-h100", batch=4, parallel={"tp": 2})
    p = r.parallel
    assert p is not None
    sharded = p["memory_fit"]["per_device"]["weights_bytes"]
    # every weight is split except the norms' (none carry weights here): exactly half
    assert sharded == pytest.approx(llama().weight_bytes / 2, rel=1e-9)
    per_layer = [c for c in p["collectives"] if c["op"].startswith("layer")]
    assert len(per_layer) == 2 * LAYERS
    assert {c["op"].split(".", 1)[1] for c in per_layer} == {"attn_out", "ffn_down"}
    assert all(c["kind"] == "all_reduce" and c["group"] == 2 for c in per_layer)
    # size: tokens x d_model x 2 bytes x batch 4; time: the preset's alpha-beta by hand
    ar = per_layer[0]
    assert ar["size_bytes"] == 4 * 4096 * 2
    ring = load_system("dgx-h100").interconnect.algorithms["ring"]
    assert ar["time_s"] == pytest.approx(2 * ring.alpha_s + ar["size_bytes"]
                                         / ring.bus_bw_bytes_per_s)
    assert r.total.energy_breakdown_j["interconnect"] > 0
    one = hwsim.simulate(llama(), "h100-sxm", batch=4)
    assert r.total.latency_s < one.total.latency_s  # decode is weight-bound: halving pays


def test_pp_bubble_and_sends() -> None:
    r = hwsim.simulate(llama(), "dgx-h100", batch=8, parallel={"pp": 2, "microbatches": 4})
    p = r.parallel
    assert p is not None and p["microbatches"] == 4 and p["microbatch_size"] == 2
    t = [s["stage_latency_s"] for s in p["stages"]]
    assert r.total.latency_s == pytest.approx(sum(t) + 3 * max(t))
    # equal stages: the bubble is (pp - 1) / (m + pp - 1) = 1/5; stage 1 adds ln_f + lm_head
    assert p["bubble_fraction"] == pytest.approx(1 / 5, abs=0.05)
    sends = [c for c in p["collectives"] if c["kind"] == "send_recv"]
    assert len(sends) == 1 and sends[0]["count"] == 4 and sends[0]["size_bytes"] == 2 * 4096 * 2
    assert [s["layers"] for s in p["stages"]] == [[0, 1], [2, 3]]


def test_ep_all_to_all() -> None:
    r = hwsim.simulate(mixtral(), "dgx-h100", batch=8, parallel={"ep": 4, "tp": 2})
    p = r.parallel
    assert p is not None and p["device_batch"] == 2
    a2a = [c for c in p["collectives"] if c["kind"] == "all_to_all"]
    assert len(a2a) == 2 * 2  # dispatch and combine per MoE layer
    # each device's 2 inputs x top-2 x d_model 4096 x 2 bytes, split over its 2 tp ranks
    assert a2a[0]["size_bytes"] == 2 * 2 * 4096 * 2 / 2 and a2a[0]["group"] == 4
    ring = load_system("dgx-h100").interconnect.algorithms["ring"]
    assert a2a[0]["time_s"] == pytest.approx(collective_time_s(
        "all_to_all", a2a[0]["size_bytes"], 4, alpha_s=ring.alpha_s,
        bus_bw_bytes_per_s=ring.bus_bw_bytes_per_s))
    # experts: 8 / ep 4 = 2 per device, d_ff / tp
    assert p["memory_fit"]["per_device"]["weights_bytes"] < mixtral().weight_bytes / 6


@pytest.mark.parametrize(("par", "setting"), [
    ({"tp": 3}, "tp"), ({"ep": 2}, "ep"), ({"pp": LAYERS + 1}, "pp"), ({"tp": 16}, "devices"),
    ({"tp": 0}, "tp"), ({"tq": 2}, "parallel")])
def test_impossible_settings_name_the_setting(par: dict[str, int], setting: str) -> None:
    with pytest.raises(HwsimError) as e:
        hwsim.simulate(llama(), "dgx-h100", batch=1, parallel=par)
    assert e.value.source == setting


def test_does_not_fit_even_sharded() -> None:
    big = hwsim.load_model("llama3-405b-8bit", overrides={"builder.phase": "decode"})
    with pytest.raises(HwsimError) as e:
        hwsim.simulate(big, "dgx-h100", batch=1, parallel={"tp": 2})
    assert e.value.source == "parallel" and "does not fit even sharded" in str(e.value)


def test_cli_flags_json_and_exit_2(run_cli: Any) -> None:
    code, out, err = run_cli("simulate", "--chip", "dgx-h100", "--model", "gpt2-small",
                             "--tp", "2", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["parallel"]["spec"]["tp"] == 2 and doc["parallel"]["collectives"]
    code, out, _ = run_cli("simulate", "--chip", "h100-sxm", "--model", "gpt2-small",
                           "--tp", "2")
    assert code == 0 and "collectives" in out and "per-device memory" in out
    for args, word in ((["--tp", "5"], "tp=5"), (["--tp", "2", "--devices", "4"], "devices"),
                       (["--ep", "2"], "ep"), (["--pp", "99"], "pp=99")):
        code, _, err = run_cli("simulate", "--chip", "h100-sxm", "--model", "gpt2-small", *args)
        assert code == 2 and word in err and "Traceback" not in err
    code, _, err = run_cli("simulate", "--chip", "t4-pcie", "--model", "gpt2-small", "--tp", "2")
    assert code == 2 and "no interconnect" in err
