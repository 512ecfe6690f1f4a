"""TensorRT-LLM's weight-only int4 kernel (CUTLASS fpA_intB, ``int4_weight_only_kernel:
fpa_intb``) beside Marlin's: its own tiles, no split-K, dequantisation between the MMAs; and the
TensorRT-LLM collector's per-kernel time, fitted on its fitting rows only (issue 17)."""

from __future__ import annotations

import csv
from typing import Any

import pytest

from hwsim.calibration.gpu_gemm import (
    TRTLLM_PARAMS,
    W4A16_FILE,
    refit_trtllm_w4a16,
    w4a16_rows,
)
from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.fpa_intb import FPA_INTB_TILES, fpa_intb_path
from hwsim.engine.gpu.gemm_constants import GEMM_CALIBRATION, gemm_constants
from hwsim.engine.gpu.kernels import gemm_cost
from hwsim.engine.gpu.tensor_gemm import tensor_gemm
from hwsim.engine.simulate import simulate
from hwsim.errors import HwsimError
from hwsim.hardware.chips import load_chip
from hwsim.mapping.primitives import GemmWork
from hwsim.presets import reference_dir
from hwsim.validation.aiconfigurator import GRAPH_REPLAY, graph_replay
from hwsim.validation.gpu_quant import quant_gemm_s
from hwsim.workload.model import Model
from hwsim.workload.ops import MatmulOp


def _chip(name: str = "a100-sxm-80gb", **overrides: Any) -> GpuChip:
    chip = load_chip(name, overrides or None)
    assert isinstance(chip, GpuChip)
    return chip


def _w4(m: int, n: int, k: int) -> GemmWork:
    return GemmWork(m, n, k, 1, 2, True)


def test_fpa_intb_uses_trtllm_tiles_and_never_splits_k() -> None:
    chip = _chip(int4_weight_only_kernel="fpa_intb")
    for m, n, k in ((4, 128, 16384), (80, 512, 16384), (16, 12288, 10240), (8192, 8192, 2048)):
        cost = gemm_cost(_w4(m, n, k), chip, "int4")
        assert cost.mapping["kernel"] == "w4a16_fpa_intb" and cost.math_dtype == "fp16"
        assert tuple(cost.mapping["tile"]) in FPA_INTB_TILES
        assert cost.mapping["split_k"] == 1
    # Marlin splits the same long-K, few-column GEMM over the idle SMs.
    marlin = gemm_cost(_w4(80, 512, 16384), _chip(), "int4")
    assert marlin.mapping["kernel"] == "w4a16_marlin" and marlin.mapping["split_k"] > 1


def test_a_long_k_few_column_gemm_takes_as_long_as_one_ctas_k_walk() -> None:
    """Without split-K, 512 columns take as long as 128 (four CTAs side by side, each walking K),
    and the time grows with K, as the fitting rows show (80x512 and 4x128 at K = 16384: 41 and
    42 us)."""
    chip = _chip(int4_weight_only_kernel="fpa_intb")
    narrow = gemm_cost(_w4(4, 128, 16384), chip, "int4").compute_s
    wide = gemm_cost(_w4(4, 512, 16384), chip, "int4").compute_s
    assert wide == pytest.approx(narrow, rel=0.05)
    assert gemm_cost(_w4(4, 128, 2048), chip, "int4").compute_s < narrow / 4


def test_serial_dequantisation_costs_time_the_overlapped_schedule_hides() -> None:
    """Per K block a CTA spends its MMA time plus its conversion time; overlapping them (Marlin's
    schedule) on the same tiles is faster, and a slower issue rate slows fpA_intB more."""
    import dataclasses

    chip = _chip()
    w = _w4(4096, 4096, 4096)
    from hwsim.engine.gpu.weight_only_int4 import dequant_weights_per_s

    def run(serial: bool) -> float:
        return tensor_gemm(dataclasses.replace(w, dtype_bytes=2), chip, "fp16",
                           b_bytes_scale=0.25, b_converts_per_s=dequant_weights_per_s(chip),
                           library=lambda p: dataclasses.replace(fpa_intb_path(p),
                                                                 convert_serial=serial)
                           ).compute_s
    assert run(True) > 1.1 * run(False)


def test_the_kernel_knob_acts_and_a_wrong_value_is_an_input_error() -> None:
    op = MatmulOp(name="w", m=80, n=512, k=16384, dtype="int4")
    model = Model(name="w4a16", ops=(op,), origin="test")
    times = {kern: simulate(model, "a100-sxm-80gb", chip_overrides={
        "int4_weight_only_kernel": kern}).total.latency_s for kern in ("marlin", "fpa_intb")}
    assert times["fpa_intb"] > 2 * times["marlin"]
    with pytest.raises(HwsimError, match="int4_weight_only_kernel"):
        simulate(model, "a100-sxm-80gb", chip_overrides={"int4_weight_only_kernel": "exllama"})


def test_trtllm_rows_take_the_fitted_per_kernel_time_and_the_fpa_intb_kernel() -> None:
    got = graph_replay(" TRTLLM 1.0.0 ")
    assert got["cuda_graphs"] is True
    assert got["graph_kernel_overhead_s"] == gemm_constants().aiconfigurator_trtllm_kernel_s
    const = GEMM_CALIBRATION.aiconfigurator_trtllm_kernel_s
    assert const.status == "fitted" and W4A16_FILE in const.fitted_on
    row = {"m": "16", "n": "4096", "k": "4096", "dtype": "int4", "preset": "a100-sxm-80gb",
           "framework": "TRTLLM 1.0.0", "source": "test"}
    as_vllm = row | {"framework": "vLLM 0.14.0"}  # a Marlin framework: Marlin's kernel
    assert quant_gemm_s(row, GRAPH_REPLAY) > quant_gemm_s(as_vllm, GRAPH_REPLAY)


def test_a_trtllm_table_without_a_fitted_kernel_time_stops_with_its_name() -> None:
    """The plugin's tiles are never mixed with another collector's per-kernel time."""
    row = {"m": "16", "n": "4096", "k": "4096", "dtype": "int4", "preset": "a100-sxm-80gb",
           "framework": "TRTLLM 1.2.0", "source": "newer.csv:2"}
    with pytest.raises(ValueError, match=r"newer\.csv:2: framework 'TRTLLM 1\.2\.0' has no "
                       r"fitted per-kernel time"):
        quant_gemm_s(row, GRAPH_REPLAY)


def test_refit_reproduces_the_shipped_constant_on_fitting_rows_only() -> None:
    fitted = refit_trtllm_w4a16()
    for p in TRTLLM_PARAMS:
        value = fitted.values[p.name]
        assert value == pytest.approx(getattr(GEMM_CALIBRATION, p.name).value, rel=1e-3)
        margin = 1e-3 * (p.upper - p.lower)
        assert p.lower + margin < value < p.upper - margin
    assert fitted.rows == 40 and fitted.median_abs_error <= 0.10
    with open(reference_dir("gpu") / "aiconfigurator_w4a16_gemm.csv", newline="") as fh:
        held = {(r["m"], r["n"], r["k"]) for r in csv.DictReader(fh)}
    assert not {(r["m"], r["n"], r["k"]) for r in w4a16_rows()} & held
