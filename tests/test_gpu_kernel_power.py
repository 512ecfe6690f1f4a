"""Held-out kernel power (issue 17): AIConfigurator's B200 attention and MoE rows and H200/B200
bf16 GEMM rows with measured watts,
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
    GEMM_POWER_FILE,
    HALF_WEIGHT,
    KINDS,
    MOE_POWER_FILE,
    POWER_FILE,
    READ_BEFORE,
    READ_DURING,
    TARGET,
    TARGET_GROUP,
    kernel_power_report,
)
from hwsim.validation.nvml_sampling import kernel_weight
from hwsim.validation.vllm_attention import vllm_attention_model


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return kernel_power_report()


def _file_rows(name: str = POWER_FILE) -> list[dict[str, str]]:
    with open(reference_dir("gpu") / name, newline="") as fh:
        return list(csv.DictReader(fh))


def test_files_are_b200_kernels_with_watts_and_sources() -> None:
    rows = _file_rows()
    assert len(rows) == 60
    assert {r["phase"] for r in rows} == {"context", "generation"}
    moe = _file_rows(MOE_POWER_FILE)
    assert len(moe) == 40 and {r["kernel"] for r in moe} == {"vllm_fused_moe"}
    assert {r["distribution"] for r in moe} == {"balanced"}
    for r in rows + moe:
        assert r["preset"] == "b200-sxm" and r["framework"] == "vLLM 0.22.0"
        assert 100.0 < float(r["power_w"]) <= 1.1 * float(r["power_limit_w"])
        assert "b200_sxm/" in r["source"] and "/vllm/0.22.0/" in r["source"]
    assert {r["kernel"] for r in rows} == {"vllm_flashinfer"}


def test_gemm_power_file_is_sustained_bf16_linears_read_during_the_kernel() -> None:
    rows = _file_rows(GEMM_POWER_FILE)
    assert len(rows) == 80
    assert sorted({r["preset"] for r in rows}) == ["b200-sxm", "h200-sxm"]
    for r in rows:
        assert r["framework"] == "vLLM 0.22.0" and r["dtype"] == "bf16"
        assert r["kernel"] == "torch.nn.functional.linear" and r["ops_per_replay"] == "6"
        assert 100.0 < float(r["power_w"]) <= 1.1 * float(r["power_limit_w"])
        assert "/gemm/vllm/0.22.0/" in r["source"] and "aiconfigurator@" in r["source"]
        # The file's rule: only rows whose reading holds some of the kernel (six per replay).
        assert kernel_weight(6 * float(r["latency_us"]) * 1e-6) > 0.0
    assert len({(r["preset"], r["m"], r["n"], r["k"]) for r in rows}) == 80


def test_every_row_gives_three_quantities_with_units(report: dict[str, Any]) -> None:
    assert report["skipped"] == 0
    assert len(report["rows"]) == 3 * (60 + 40 + 80)
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
    # Today (docs/gpu.md "Kernel power", "HBM3E"): attention power 23.5 % (prefill) / 40.9 %
    # (decode), MoE 13.6 %, all 21.3 %; time: attention 9.3 / 10.9 %, MoE 18.2 % (the B200's
    # fitted per-kernel graph time and its sm100 GEMMs made the Triton MoE rows faster than
    # measured, and with HBM3E's energy the 1000 W cap no longer slows them back).
    # The pins catch drift both ways.
    s = {(x["kind"], x["group"]): x for x in report["summary"]}
    assert s[("kernel power", "all")]["target"] is None
    assert 0.13 < s[("kernel power", "all")]["median_abs_error"] < 0.22
    # bf16 GEMMs (docs/gpu.md "Kernel power"): H200 12.0 %, B200 3.1 % (19.2 % on the H200
    # before it took its own fitted energy per DRAM byte, "The memory path's energy per byte";
    # 17.3 / 3.6 % before the DVFS round, 16.4 / 8.1 % before the sustained-load round: the
    # B200's compute-bound GEMMs now run at its 1000 W limit, as measured); hwsim's time of
    # these sustained rows: H200 5.9 % (16.0 % with the preset's 6.73 us per graph kernel,
    # before the 0.22 collector took the 0.24 one's per-kernel time on the H200), B200 6.2 %.
    assert 0.07 < s[("kernel power", "gemm h200-sxm")]["median_abs_error"] < 0.16
    assert s[("kernel power", "gemm b200-sxm")]["median_abs_error"] < 0.06
    assert s[("kernel time", "gemm b200-sxm")]["median_abs_error"] < 0.08
    assert s[("kernel time", "gemm h200-sxm")]["median_abs_error"] < 0.08
    assert s[("kernel power", "gemm")]["rows"] == 80
    # Context attention 23.4 -> 16.6 % in the DVFS round (its power at the limit falls with
    # the voltage at the throttled clock).
    assert 0.12 < s[("kernel power", "attention context")]["median_abs_error"] < 0.22
    assert 0.35 < s[("kernel power", "attention generation")]["median_abs_error"] < 0.47
    # 22 of the 40 fused-MoE rows measure within 10 % of the 1000 W cap. With HBM3's energy
    # hwsim put 37 of 40 at the cap (MoE median 3.4 %, mostly that); with HBM3E's, 10 of 40
    # (13.6 %): the rows at >= 900 W read -9 % median, the 18 below 900 W still miss by ~25 %,
    # mostly too high, so neither figure is a pass on energy.
    assert 0.09 < s[("kernel power", "moe")]["median_abs_error"] < 0.21
    moe = [x for x in report["rows"] if x["kind"] == "kernel power" and x["group"] == "moe"]
    low = [x for x in moe if x["measured"] < 900.0]
    assert len(low) >= 15 and sorted(abs(x["error"]) for x in low)[len(low) // 2] > 0.2
    assert sum(x["model"] >= 950.0 for x in moe) <= 15
    assert s[("power at measured time", "moe")]["median_abs_error"] > 0.10
    assert s[("kernel time", "all")]["target"] is None
    assert s[("kernel time", "moe")]["median_abs_error"] < 0.21
    assert s[("kernel time", "attention generation")]["median_abs_error"] < 0.2
    # Long decode rows read far below hwsim: each is read at kernel weight <= 0.2, so the
    # readings are mostly the board's previous second (docs/gpu.md, "Kernel power").
    decode_long = [x for x in report["rows"] if x["kind"] == "kernel power"
                   and x["group"] == "attention generation"
                   and int(x["case"].split("kv")[1].split()[0]) >= 8191]
    assert len(decode_long) >= 6
    assert sorted(x["error"] for x in decode_long)[len(decode_long) // 2] > 0.5
    assert all(x["kernel_weight"] <= 0.2 for x in decode_long)


def test_rows_carry_the_share_of_their_reading_that_is_the_kernel(report: dict[str, Any]
                                                                   ) -> None:
    # Every quantity of a row carries its reading's kernel weight, from the measured latency of
    # one replay (a GEMM row's replay runs six linears).
    for r in report["rows"]:
        latency = next(x["measured"] for x in report["rows"]
                       if x["kind"] == "kernel time" and x["case"] == r["case"]
                       and x["group"] == r["group"])
        per_replay = 6 if r["group"].startswith("gemm ") else 1
        assert r["kernel_weight"] == pytest.approx(kernel_weight(per_replay * latency))
        assert 0.0 <= r["kernel_weight"] < 1.0


def test_the_target_applies_to_rows_read_during_their_kernel(report: dict[str, Any]) -> None:
    # Today (docs/gpu.md "Kernel power"): 39 of the 180 rows are attention and MoE kernels
    # under 33 us whose one poll precedes their first replay (35.3 %); the 141 read during the
    # kernel 16.0 %; the target's 102 GEMM and attention rows among them 12.4 %, missed (16.5 %
    # before the H200 took its own energy per DRAM byte); the 74 with at least half a kernel in
    # the reading 3.0 %.
    s = {(x["kind"], x["group"]): x for x in report["summary"]}
    during, before = s[("kernel power", READ_DURING)], s[("kernel power", READ_BEFORE)]
    target = s[("kernel power", TARGET_GROUP)]
    assert target["target"] == TARGET
    assert during["target"] is None and before["target"] is None
    assert during["rows"] + before["rows"] == 180
    assert 30 <= before["rows"] <= 45
    # GEMM and attention rows read during the kernel: every GEMM row, 22 attention rows.
    assert target["rows"] == during["rows"] - sum(
        1 for x in report["rows"] if x["kind"] == "kernel power" and x["group"] == "moe"
        and x["kernel_weight"] > 0.0)
    assert target["met"] is False and 0.10 < target["median_abs_error"] < 0.18
    assert 0.10 < during["median_abs_error"] < 0.17
    assert before["median_abs_error"] > during["median_abs_error"]
    half = s[("kernel power", HALF_WEIGHT)]
    assert half["rows"] >= 30 and half["median_abs_error"] < during["median_abs_error"]
    # Kernel time is timed with CUDA events, not read from the sensor: no weight groups.
    assert ("kernel time", READ_DURING) not in s
    # A row read before its kernel holds none of it: every such kernel is under 33 us.
    for r in report["rows"]:
        if r["kind"] == "kernel time" and r["kernel_weight"] == 0.0:
            assert r["measured"] < 34e-6
