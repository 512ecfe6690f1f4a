"""Held-out kernel power (issue 17): AIConfigurator's B200 attention rows with measured watts,
simulated through the public API; golden figures with a margin and the checks that make the
three quantities mean what the report says."""

from __future__ import annotations

import csv
from typing import Any

import pytest

from hwsim.engine.simulate import simulate
from hwsim.presets import reference_dir
from hwsim.validation.aiconfigurator import GRAPH_REPLAY
from hwsim.validation.gpu_kernel_power import (
    KINDS,
    POWER_FILE,
    TARGET,
    kernel_power_report,
)
from hwsim.validation.vllm_attention import vllm_attention_model


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return kernel_power_report()


def _file_rows() -> list[dict[str, str]]:
    with open(reference_dir("gpu") / POWER_FILE, newline="") as fh:
        return list(csv.DictReader(fh))


def test_file_is_b200_flashinfer_with_watts_and_sources() -> None:
    rows = _file_rows()
    assert len(rows) == 60
    assert {r["phase"] for r in rows} == {"context", "generation"}
    for r in rows:
        assert r["preset"] == "b200-sxm" and r["kernel"] == "vllm_flashinfer"
        assert 100.0 < float(r["power_w"]) <= 1.1 * float(r["power_limit_w"])
        assert "b200_sxm/attention/vllm/0.22.0" in r["source"]


def test_every_row_gives_three_quantities_with_units(report: dict[str, Any]) -> None:
    assert report["skipped"] == 0
    assert len(report["rows"]) == 3 * 60
    for r in report["rows"]:
        assert r["kind"] in KINDS and r["model"] > 0 and r["measured"] > 0
        assert r["unit"] == ("s" if r["kind"] == "kernel time" else "W")


def test_power_is_hwsims_energy_over_its_time() -> None:
    # The first row, recomputed by hand through hwsim.simulate.
    r = _file_rows()[0]
    res = simulate(vllm_attention_model(r), "b200-sxm", batch=int(r["batch"]),
                   chip_overrides=GRAPH_REPLAY)
    rows = [x for x in kernel_power_report()["rows"] if x["case"].startswith(
        f"{r['phase']} b{r['batch']} q{r['seq_q']} kv{r['seq_kv']} ")]
    power = next(x for x in rows if x["kind"] == "kernel power")
    assert power["model"] == pytest.approx(res.total.energy_j / res.total.latency_s)
    # At the measured time the per-action energy is spread over a different time, idle and
    # active power are not: a row hwsim times slower than measured draws more there.
    at = next(x for x in rows if x["kind"] == "power at measured time")
    slower = res.total.latency_s > float(r["latency_us"]) * 1e-6
    assert (at["model"] > power["model"]) == slower


def test_todays_kernel_power_figures_with_margin(report: dict[str, Any]) -> None:
    # Today (docs/gpu.md "Kernel power"): power 29.5 % (prefill 25.1, decode 41.2), time 38.7 %,
    # power at the measured time 31.6 %. A miss with its causes; the pins catch drift both ways.
    s = {(x["kind"], x["phase"]): x for x in report["summary"]}
    assert s[("kernel power", "all")]["target"] == TARGET
    assert s[("kernel power", "all")]["met"] is False
    assert 0.25 < s[("kernel power", "all")]["median_abs_error"] < 0.34
    assert 0.20 < s[("kernel power", "context")]["median_abs_error"] < 0.30
    assert 0.35 < s[("kernel power", "generation")]["median_abs_error"] < 0.47
    assert s[("kernel time", "all")]["target"] is None
    assert 0.33 < s[("kernel time", "all")]["median_abs_error"] < 0.44
    # Memory-bound decode over-predicted: the H100-fitted HBM energy does not carry (docs).
    decode_long = [x for x in report["rows"] if x["kind"] == "kernel power"
                   and x["phase"] == "generation" and int(x["case"].split("kv")[1].split()[0])
                   >= 8191]
    assert len(decode_long) >= 6
    assert sorted(x["error"] for x in decode_long)[len(decode_long) // 2] > 0.5
