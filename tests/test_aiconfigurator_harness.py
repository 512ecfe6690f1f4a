"""AIConfigurator's harness: every GEMM row is replayed in a CUDA graph, at the per-kernel time
of its collector version (each fitted on that collector's fitting rows), and the A100 rows on the
collector's board (its streaming share fitted on that table's weight-streaming rows). Every
framework string in the GEMM files is one the harness knows, so a new collector version cannot
fall through silently."""

from __future__ import annotations

import csv

import pytest

from hwsim.calibration.gpu_gemm import FP8_FILE
from hwsim.engine.gpu.gemm_constants import GEMM_CALIBRATION, gemm_constants
from hwsim.presets import reference_dir
from hwsim.validation.aiconfigurator import (
    GRAPH_REPLAY,
    TRTLLM_10,
    V014,
    V024,
    attention_timed,
    board,
    graph_replay,
    timed_as,
)

GEMM_FILES = ("aiconfigurator_gemm.csv", "aiconfigurator_gemm_new_presets.csv",
              "aiconfigurator_gemm_fit.csv", "aiconfigurator_fp8_gemm.csv", FP8_FILE,
              "aiconfigurator_w4a16_gemm.csv", "aiconfigurator_w4a16_gemm_fit.csv")
KNOWN = {V024, V014, TRTLLM_10}


def test_vllm_024_rows_take_the_fitted_per_kernel_time() -> None:
    for framework in ("vLLM 0.24.0", "VLLM 0.24.0", " vllm 0.24.0 "):
        got = graph_replay(framework)
        assert got["cuda_graphs"] is True
        assert got["graph_kernel_overhead_s"] == gemm_constants().aiconfigurator_v024_kernel_s
    const = GEMM_CALIBRATION.aiconfigurator_v024_kernel_s
    assert const.status == "fitted" and FP8_FILE in const.fitted_on
    # A CUDA-graph replay costs far less per kernel than gpt-fast's fitted gap.
    assert 1e-7 < const.value < 6.73e-6


def test_vllm_014_rows_take_their_collectors_time_and_the_a100_board() -> None:
    k = gemm_constants()
    got = graph_replay("vLLM 0.14.0", "a100-sxm-80gb")
    assert got == GRAPH_REPLAY | {"graph_kernel_overhead_s": k.aiconfigurator_v014_kernel_s,
                                  "dram_efficiency": k.aiconfigurator_a100_dram_efficiency,
                                  "sustained_load": False}
    for name in ("aiconfigurator_v014_kernel_s", "aiconfigurator_a100_dram_efficiency"):
        const = getattr(GEMM_CALIBRATION, name)
        assert const.status == "fitted" and "a100" in const.fitted_on.lower(), name
    # The collector's A100 streams slower than the LLMCompass board the preset was fitted on,
    # and a graph replay costs less per kernel than gpt-fast's fitted gap.
    assert 0.6 < k.aiconfigurator_a100_dram_efficiency < 0.885
    assert 1e-7 < k.aiconfigurator_v014_kernel_s < 6.73e-6


def test_only_the_power_tables_were_timed_sustained() -> None:
    # The collector's default times a burst (6 replays); its vLLM 0.22 power tables held the
    # load for a second with power measured, so the power limit acts on them only.
    for framework in ("vLLM 0.24.0", "vLLM 0.14.0", "TRTLLM 1.0.0"):
        assert graph_replay(framework)["sustained_load"] is False
        assert attention_timed(GRAPH_REPLAY, "h100-sxm", framework)["sustained_load"] is False
    assert graph_replay("vLLM 0.22.0", "b200-sxm")["sustained_load"] is True
    assert attention_timed(GRAPH_REPLAY, "b200-sxm", "vLLM 0.22.0")["sustained_load"] is True
    # A kernel-timed or eager harness is left as it is.
    assert attention_timed(None, "h100-sxm", "vLLM 0.24.0") is None


def test_only_the_a100_has_a_board_of_its_own() -> None:
    assert board("a100-sxm-80gb") == {
        "dram_efficiency": gemm_constants().aiconfigurator_a100_dram_efficiency}
    for preset in ("h100-sxm", "h200-sxm", "b200-sxm", None):
        assert board(preset) == {}
        assert "dram_efficiency" not in graph_replay("vLLM 0.24.0", preset)


@pytest.mark.parametrize("name", GEMM_FILES)
def test_every_gemm_row_names_a_known_collector_version(name: str) -> None:
    with open(reference_dir("gpu") / name, newline="") as fh:
        frameworks = {r["framework"].strip().lower() for r in csv.DictReader(fh)}
    assert frameworks and frameworks <= KNOWN, frameworks


def test_only_graph_replays_take_the_collectors_time() -> None:
    kernel_timed = {"launch_overhead_s": 0.0}
    assert timed_as(None, "vLLM 0.24.0") is None
    assert timed_as(kernel_timed, "vLLM 0.24.0") is kernel_timed
    assert timed_as(GRAPH_REPLAY, "vLLM 0.24.0") == graph_replay("vLLM 0.24.0")
    assert timed_as(GRAPH_REPLAY, "vLLM 0.14.0", "a100-sxm-80gb") == graph_replay(
        "vLLM 0.14.0", "a100-sxm-80gb")
    assert timed_as(kernel_timed, "vLLM 0.14.0", "a100-sxm-80gb") is kernel_timed


def test_vllm_024_b200_rows_take_their_own_per_kernel_time() -> None:
    k = gemm_constants()
    assert graph_replay("vLLM 0.24.0", "b200-sxm")["graph_kernel_overhead_s"] == \
        k.aiconfigurator_v024_b200_kernel_s
    for preset in ("h100-sxm", "h200-sxm", None):
        assert graph_replay("vLLM 0.24.0", preset)["graph_kernel_overhead_s"] == \
            k.aiconfigurator_v024_kernel_s
    const = GEMM_CALIBRATION.aiconfigurator_v024_b200_kernel_s
    assert const.status == "fitted" and "aiconfigurator_b200_gemm_fit.csv" in const.fitted_on


def test_fp8_quantisation_kernels_take_the_collectors_time_for_them() -> None:
    """An fp8 row is the quantisation op's two kernels at their own per-kernel time plus the
    GEMM at the collector's: moving the quantisation time by d moves the row by 2 d."""
    import dataclasses

    from hwsim.engine.gpu.gemm_constants import use_gemm_constants
    from hwsim.validation.aiconfigurator import quant_kernel_s
    from hwsim.validation.gpu_quant import quant_gemm_s

    k = gemm_constants()
    assert quant_kernel_s("VLLM 0.24.0") == k.aiconfigurator_v024_quant_kernel_s
    assert quant_kernel_s("vLLM 0.14.0") is None
    assert k.aiconfigurator_v024_quant_kernel_s < k.aiconfigurator_v024_kernel_s
    row = {"m": "64", "n": "4096", "k": "4096", "dtype": "fp8", "preset": "h100-sxm",
           "framework": "VLLM 0.24.0", "source": "test"}
    base = quant_gemm_s(row, GRAPH_REPLAY)
    d = 1e-6
    with use_gemm_constants(dataclasses.replace(
            k, aiconfigurator_v024_quant_kernel_s=k.aiconfigurator_v024_quant_kernel_s + d)):
        moved = quant_gemm_s(row, GRAPH_REPLAY)
    assert moved - base == pytest.approx(2 * d, rel=1e-6)


def test_tma_fills_are_zero_and_say_why() -> None:
    for name in ("sm90_tile_fill_cycles", "sm100_tile_fill_cycles"):
        const = getattr(GEMM_CALIBRATION, name)
        assert const.value == 0.0 and const.status == "assumption", name
        assert "0-cycle bound" in const.source, name
