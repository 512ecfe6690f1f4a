"""Dynamic per-tensor activation quantisation (vLLM's ``dynamic_scaled_fp8_quant``): two kernels
of one 1024-thread CTA per token, each taking waves of the fitted CTA time or its streaming time,
whichever is longer (hwsim.engine.gpu.dynamic_quant)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.analytic import op_kernels
from hwsim.engine.gpu.dynamic_quant import QUANT_CTA_THREADS, dynamic_quant_cost
from hwsim.engine.gpu.gemm_constants import gemm_constants, use_gemm_constants
from hwsim.engine.gpu.rates import dram_bw
from hwsim.engine.simulate import simulate
from hwsim.hardware.chips import load_chip
from hwsim.mapping.primitives import VectorWork
from hwsim.validation.gpu_quant import vllm_fp8_linear
from hwsim.workload.model import Model
from hwsim.workload.ops import VectorOp


def _chip(name: str, **overrides: Any) -> GpuChip:
    chip = load_chip(name, overrides or None)
    assert isinstance(chip, GpuChip)
    return chip


def _work(rows: int, width: int) -> VectorWork:
    n = rows * width
    return VectorWork(n, 1.0, 2 * n, n)  # bf16 in, fp8 out


def test_two_kernels_one_cta_per_token_in_waves_of_resident_ctas() -> None:
    chip = _chip("h100-sxm")
    resident = chip.max_threads_per_sm // QUANT_CTA_THREADS
    assert resident == 2
    one_wave = chip.sms * resident
    cta_s = gemm_constants().quant_cta_fixed_s
    full = dynamic_quant_cost(_work(one_wave, 64), chip, 64)
    assert [k.mapping["kernel"] for k in full] == ["fp8_absmax", "fp8_quantise"]
    assert all(k.mapping["waves"] == 1 and k.compute_s == pytest.approx(cta_s) for k in full)
    # One token more opens a second wave.
    over = dynamic_quant_cost(_work(one_wave + 1, 64), chip, 64)
    assert all(k.mapping["waves"] == 2 and k.compute_s == pytest.approx(2 * cta_s)
               for k in over)
    # Short rows: the time grows with the tokens, not with their bytes.
    many = dynamic_quant_cost(_work(32768, 64), chip, 64)
    waves = math.ceil(32768 / one_wave)
    assert many[0].compute_s == pytest.approx(waves * cta_s)
    assert many[0].compute_s > 10 * many[0].dram_s


def test_long_rows_stream_at_the_dram_rate() -> None:
    chip = _chip("h100-sxm")
    rows, width = 64, 65536
    absmax, quantise = dynamic_quant_cost(_work(rows, width), chip, width)
    n = rows * width
    assert absmax.dram_bytes == 2 * n and quantise.dram_bytes == 3 * n
    assert quantise.dram_s == pytest.approx(3 * n / dram_bw(chip))
    assert quantise.time_s == pytest.approx(quantise.launch_s + quantise.dram_s)


def test_fewer_resident_threads_mean_more_waves() -> None:
    # Turing holds 1024 threads per SM: one quantisation CTA at a time, so twice the waves of
    # a 2048-thread SM with the same SM count.
    h100 = _chip("h100-sxm")
    narrow = _chip("h100-sxm", max_threads_per_sm=1024)
    w = _work(100 * 2 * h100.sms, 64)  # 100 full waves of two resident CTAs
    assert (dynamic_quant_cost(w, narrow, 64)[0].mapping["waves"]
            == 2 * dynamic_quant_cost(w, h100, 64)[0].mapping["waves"])
    assert _chip("t4-pcie").max_threads_per_sm // QUANT_CTA_THREADS == 1


def test_the_cta_time_is_the_knob_it_says() -> None:
    chip = _chip("h100-sxm")
    w = _work(32768, 64)
    base = dynamic_quant_cost(w, chip, 64)[0].compute_s
    doubled = dataclasses.replace(gemm_constants(),
                                  quant_cta_fixed_s=2 * gemm_constants().quant_cta_fixed_s)
    with use_gemm_constants(doubled):
        assert dynamic_quant_cost(w, chip, 64)[0].compute_s == pytest.approx(2 * base)


def test_vllm_fp8_linear_runs_quantisation_then_the_fp8_gemm() -> None:
    chip = _chip("h100-sxm", cuda_graphs=True)
    model = vllm_fp8_linear(4096, 128, 768)
    quant, gemm = model.ops
    names = [k.mapping.get("kernel") for k in op_kernels(quant, 1, chip)]
    assert names == ["fp8_absmax", "fp8_quantise"]
    assert len(op_kernels(gemm, 1, chip)) == 1
    res = simulate(model, "h100-sxm", chip_overrides={"cuda_graphs": True})
    # Many short rows: the quantisation outweighs the small GEMM (the fitting rows' 4096 x 128
    # x 768 takes 34 us where the bf16 GEMM alone takes 4.4 us).
    assert res.ops[0].latency_s > res.ops[1].latency_s


@pytest.mark.parametrize("chip", ["systolic-32x32", "sparseflow-accel"])
def test_other_engines_price_the_op_as_an_elementwise_pass(chip: str) -> None:
    op = VectorOp(name="q", function="dynamic_quant", elements=4096 * 64, row_elements=64,
                  inputs_per_element=2.0, dtype="int8")
    plain = op.model_copy(update={"function": "elementwise"})
    got = simulate(Model(name="q", ops=(op,), origin="test"), chip).total
    ref = simulate(Model(name="e", ops=(plain,), origin="test"), chip).total
    assert got.latency_s == pytest.approx(ref.latency_s)


def test_cycle_fidelity_runs_each_kernel_as_its_grid_of_token_ctas() -> None:
    model = vllm_fp8_linear(4096, 128, 768)
    kw: dict[str, Any] = {"chip_overrides": {"cuda_graphs": True}}
    analytic = simulate(model, "h100-sxm", **kw)
    cycle = simulate(model, "h100-sxm", fidelity="cycle", **kw)
    assert cycle.ops[0].latency_s == pytest.approx(analytic.ops[0].latency_s, rel=0.02)
    assert cycle.total.latency_s == pytest.approx(analytic.total.latency_s, rel=0.02)
