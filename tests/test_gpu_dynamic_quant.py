"""Dynamic per-tensor activation quantisation (vLLM's ``dynamic_scaled_fp8_quant``): two kernels
of one 1024-thread CTA per token, each taking the tokens' serial CTA starts (fitted cycles at the
core clock) or its streaming time, whichever is longer (hwsim.engine.gpu.dynamic_quant)."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
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
from hwsim.presets import reference_dir
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


def test_two_kernels_whose_token_ctas_start_one_after_another() -> None:
    chip = _chip("h100-sxm")
    cycles = gemm_constants().quant_cta_launch_cycles
    assert 1.0 < cycles < 100.0
    tokens = 32768
    absmax, quantise = dynamic_quant_cost(_work(tokens, 64), chip, 64)
    assert [absmax.mapping["kernel"], quantise.mapping["kernel"]] == ["fp8_absmax",
                                                                      "fp8_quantise"]
    for k in (absmax, quantise):
        assert k.mapping["ctas"] == tokens and k.mapping["cta_threads"] == QUANT_CTA_THREADS
        assert k.compute_s == pytest.approx(tokens * cycles / chip.clock_hz)
        # Short rows: the time grows with the tokens, not with their bytes.
        assert k.compute_s > 10 * k.dram_s
    # Twice the tokens, twice the time; the same bytes in fewer rows, less time.
    assert dynamic_quant_cost(_work(2 * tokens, 64), chip, 64)[0].compute_s == \
        pytest.approx(2 * absmax.compute_s)
    assert dynamic_quant_cost(_work(tokens // 2, 128), chip, 128)[0].compute_s == \
        pytest.approx(absmax.compute_s / 2)


def test_long_rows_stream_at_the_dram_rate() -> None:
    chip = _chip("h100-sxm")
    rows, width = 64, 65536
    absmax, quantise = dynamic_quant_cost(_work(rows, width), chip, width)
    n = rows * width
    assert absmax.dram_bytes == 2 * n and quantise.dram_bytes == 3 * n
    assert quantise.dram_s == pytest.approx(3 * n / dram_bw(chip))
    assert quantise.time_s == pytest.approx(quantise.launch_s + quantise.dram_s)


def test_the_launch_rate_follows_the_clock_not_the_sms() -> None:
    # A serial start rate: the SM count and the threads an SM holds do not change it, the core
    # clock does (the form AIConfigurator's L40S table supports, module docstring).
    w = _work(32768, 64)
    base = dynamic_quant_cost(w, _chip("h100-sxm"), 64)[0].compute_s
    assert dynamic_quant_cost(w, _chip("h100-sxm", sms=66), 64)[0].compute_s == \
        pytest.approx(base)
    assert dynamic_quant_cost(w, _chip("h100-sxm", max_threads_per_sm=1024), 64)[0] \
        .compute_s == pytest.approx(base)
    fast = _chip("h100-sxm", clock_hz=2 * 1.83e9, boost_clock_hz=2 * 1.83e9)
    assert dynamic_quant_cost(w, fast, 64)[0].compute_s == pytest.approx(base / 2)


def test_the_launch_cycles_are_the_knob_they_say() -> None:
    chip = _chip("h100-sxm")
    w = _work(32768, 64)
    base = dynamic_quant_cost(w, chip, 64)[0].compute_s
    doubled = dataclasses.replace(
        gemm_constants(), quant_cta_launch_cycles=2 * gemm_constants().quant_cta_launch_cycles)
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


# NVIDIA L40S datasheet / product brief: 142 SMs (18,176 CUDA cores / 128 per SM), boost clock
# 2,520 MHz; compute capability 8.9 (Ada): 1536 resident threads per SM (CUDA C++ Programming
# Guide, technical specifications). hwsim has no L40S preset; the H100 preset with these three
# figures stands in for what the quantisation kernels see.
L40S = {"sms": 142, "clock_hz": 2.52e9, "boost_clock_hz": 2.52e9, "max_threads_per_sm": 1536}


def test_the_l40s_per_token_cost_follows_the_clock_ratio() -> None:
    """aiconfigurator_fp8_quant_probe_fit.csv (used to choose the form, not held out): large-M fp8
    linears with tiny N and K cost the L40S ~0.78x the H100's time per token. The launch-rate
    form predicts the clock ratio (0.73); waves of resident 1024-thread CTAs (one per Ada SM, two
    per Hopper SM) would predict ~1.9x."""
    with open(reference_dir("gpu") / "aiconfigurator_fp8_quant_probe_fit.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    measured = {(r["system"], int(r["m"]), int(r["n"]), int(r["k"])): float(r["latency_us"])
                for r in rows}
    shapes = {key[1:] for key in measured}
    assert len(shapes) == 4 and len(measured) == 8
    # Fitting-split shapes only (make_quant_gemm.py's rule): no held-out shape chose the form.
    assert all(hashlib.sha256(f"{m},{n},{k}".encode()).digest()[0] % 4 == 0
               for m, n, k in shapes)
    h100, l40s = _chip("h100-sxm", cuda_graphs=True), _chip("h100-sxm", cuda_graphs=True, **L40S)
    for m, n, k in sorted(shapes):
        quant = vllm_fp8_linear(m, n, k).ops[0]
        model = (sum(c.time_s for c in op_kernels(quant, 1, l40s))
                 / sum(c.time_s for c in op_kernels(quant, 1, h100)))
        meas = measured[("l40s", m, n, k)] / measured[("h100_sxm", m, n, k)]
        assert model == pytest.approx(meas, rel=0.12), (m, n, k, model, meas)
        resident_waves = (math.ceil(m / 142) / math.ceil(m / (132 * 2)))
        assert resident_waves > 1.5 > meas  # the rejected form misses by far
