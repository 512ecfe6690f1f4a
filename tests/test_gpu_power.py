"""The GPU power model (issue 17, item 2): idle + active + math + memory power, the power limit
as a clock throttle, and its constants as data with their provenance and a reproducible re-fit."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from pydantic import ValidationError

from hwsim.calibration.gpu import (
    GPU_CALIBRATION,
    PowerRow,
    fit_active_power_fraction,
    load_calibration,
    predicted_power_w,
    write_calibration,
)
from hwsim.config.calibration import GpuPowerConstant
from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.energy import calibrate_energy, gpu_energy, throttle
from hwsim.engine.simulate import simulate
from hwsim.errors import HwsimError
from hwsim.hardware.chips import load_chip
from hwsim.workload.load import load_model
from hwsim.workload.model import Model
from hwsim.workload.ops import MatmulOp

GPUS = ("a100-sxm-80gb", "h100-sxm", "rtx-4090", "jetson-agx-orin-64gb")


def _chip(name: str, **overrides: object) -> GpuChip:
    chip = load_chip(name, overrides or None)  # type: ignore[arg-type]
    assert isinstance(chip, GpuChip)
    return chip


def _gemm(m: int, n: int, k: int, dtype: str = "bf16") -> Model:
    return Model(name="g", ops=(MatmulOp(name="g", m=m, n=n, k=k, dtype=dtype),))


def _power_w(model: Model, chip: GpuChip, batch: int = 1) -> float:
    t = simulate(model, chip, batch=batch).total
    return t.energy_j / t.latency_s


@pytest.mark.parametrize("name", GPUS)
def test_memory_bound_gemv_draws_idle_plus_active_plus_memory_power(name: str) -> None:
    """Before, a GEMV drew little above idle (H100: 248 W of 700 W): the per-FLOP energy had
    absorbed the whole TDP headroom. Now a busy GPU draws its active power on top."""
    chip = _chip(name)
    e = gpu_energy(chip)
    r = simulate(_gemm(1, 8192, 8192), chip)
    p = r.total.energy_j / r.total.latency_s
    assert r.ops[0].bottleneck == "offchip"
    floor = chip.idle_power_w + e.active_w
    assert floor < p < chip.tdp_w
    memory_w = (r.total.energy_breakdown_j["offchip"] + r.total.energy_breakdown_j["l2"]) \
        / r.total.latency_s
    assert memory_w > r.total.energy_breakdown_j["tensor"] / r.total.latency_s


def test_h100_decode_power_rises_with_batch_and_stays_under_tdp() -> None:
    chip = _chip("h100-sxm")
    powers = [_power_w(load_model("llama2-7b", seq=1024, phase="decode"), chip, b)
              for b in (1, 8, 32, 64)]
    assert powers == sorted(powers)
    assert all(0.5 * chip.tdp_w < p < chip.tdp_w for p in powers)


def test_more_bytes_cost_more_energy() -> None:
    chip = _chip("h100-sxm")
    small, big = (simulate(_gemm(1, n, 8192), chip).total.energy_j for n in (4096, 8192))
    assert big > small


# The GEMM each board's power limit is sized to (its hungriest pipe, energy.calibrate_energy):
# the tensor cores' on data-centre parts, the FP32 pipes' where their rate is high for the
# tensor rate (GeForce, Jetson).
SIZING_DTYPE = {"a100-sxm-80gb": "bf16", "h100-sxm": "bf16", "rtx-4090": "fp32",
                "jetson-agx-orin-64gb": "fp32"}


@pytest.mark.parametrize("name", GPUS)
def test_clock_above_boost_is_throttled_to_the_power_limit(name: str) -> None:
    chip = _chip(name)
    g = _gemm(8192, 8192, 8192, SIZING_DTYPE[name])
    fast = chip.model_copy(update={"clock_hz": chip.clock_hz * 1.5})
    r = simulate(g, fast)
    assert r.ops[0].bottleneck == "power"
    assert r.total.energy_j / r.total.latency_s == pytest.approx(chip.tdp_w, rel=1e-6)
    # Throttled to about the boost clock, where the GEMM draws the TDP (a hair above it: the
    # calibration excludes the launch gap, so at boost the kernel sits just under the limit).
    assert r.total.latency_s == pytest.approx(simulate(g, chip).total.latency_s, rel=5e-3)


def test_throttle_slows_the_clocked_part_not_the_dram_part() -> None:
    chip = _chip("h100-sxm")
    e = dataclasses.replace(gpu_energy(chip), tdp_w=300.0)
    # Power at boost: 105 idle + 178 active + 50 J / 0.1 s = 783 W > 300 W.
    run = throttle(e, (50.0, 0.0), chip.clock_hz, fixed_s=0.0, clocked_s=0.1, unclocked_s=0.05,
                   bottleneck="tensor")
    assert run.bottleneck == "power" and run.clock_hz < chip.clock_hz
    assert run.time_s == pytest.approx(0.1 * chip.clock_hz / run.clock_hz)
    power = e.idle_w + run.active_j / run.time_s + 50.0 * run.voltage_scale / run.time_s
    assert power == pytest.approx(300.0, rel=1e-9)
    # A kernel under the limit runs at the clock it was given.
    calm = throttle(gpu_energy(chip), (1e-3, 0.0), chip.clock_hz, fixed_s=0.0, clocked_s=0.1,
                    unclocked_s=0.0, bottleneck="tensor")
    assert calm.clock_hz == chip.clock_hz and calm.bottleneck == "tensor"


def test_throttle_does_not_stretch_a_serial_dram_store() -> None:
    """An sm80 C-tile store follows the mainloop on the clocked path but waits on DRAM: at the
    throttled clock only the rest of the clocked time grows."""
    chip = _chip("h100-sxm")
    e = dataclasses.replace(gpu_energy(chip), tdp_w=300.0)
    run = throttle(e, (50.0, 0.0), chip.clock_hz, fixed_s=0.0, clocked_s=0.1, unclocked_s=0.0,
                   bottleneck="tensor", serial_unclocked_s=0.02)
    assert run.bottleneck == "power" and run.clock_hz < chip.clock_hz
    assert run.time_s == pytest.approx(0.08 * chip.clock_hz / run.clock_hz + 0.02)
    power = e.idle_w + run.active_j / run.time_s + 50.0 * run.voltage_scale / run.time_s
    assert power == pytest.approx(300.0, rel=1e-9)


def test_active_power_follows_the_clock() -> None:
    chip = _chip("a100-sxm-80gb", dvfs_voltage_slope=0.0)
    e = gpu_energy(chip)
    assert e.active_power_w(chip.clock_hz * 0.5) == pytest.approx(0.5 * e.active_w)


def test_active_power_and_clocked_energy_follow_the_voltage() -> None:
    """DVFS: at half the boost clock with slope 0.4 the voltage is 0.8 of boost, so active power
    is 0.5 x 0.64 of boost's and a clocked action costs 0.64 of its boost energy."""
    e = gpu_energy(_chip("a100-sxm-80gb", dvfs_voltage_slope=0.4))
    half = e.boost_clock_hz * 0.5
    assert e.voltage_scale(half) == pytest.approx(0.64)
    assert e.active_power_w(half) == pytest.approx(0.5 * 0.64 * e.active_w)
    assert e.voltage_scale(e.boost_clock_hz) == pytest.approx(1.0)


def test_a_voltage_slope_throttles_less_and_spends_less_per_flop() -> None:
    """The same over-limit kernel: with voltage following the clock, power falls faster than the
    clock, so the clock it fits at is higher; its clocked energy is scaled by (V/V_boost)^2."""
    chip = _chip("h100-sxm")
    flat = dataclasses.replace(gpu_energy(chip), tdp_w=300.0, voltage_slope=0.0)
    dvfs = dataclasses.replace(flat, voltage_slope=0.5)
    runs = [throttle(e, (50.0, 5.0), chip.clock_hz, fixed_s=0.0, clocked_s=0.1,
                     unclocked_s=0.0, bottleneck="tensor") for e in (flat, dvfs)]
    assert runs[0].voltage_scale == 1.0 and runs[1].voltage_scale < 1.0
    assert runs[1].clock_hz > runs[0].clock_hz
    run = runs[1]
    power = dvfs.idle_w + (run.active_j + 50.0 * run.voltage_scale + 5.0) / run.time_s
    assert power == pytest.approx(300.0, rel=1e-9)
    parts = run.scaled({"tensor": 40.0, "l2": 10.0, "offchip": 5.0})
    assert parts == pytest.approx({"tensor": 40.0 * run.voltage_scale,
                                   "l2": 10.0 * run.voltage_scale, "offchip": 5.0,
                                   "active": run.active_j})
    slow = chip.model_copy(update={"clock_hz": chip.clock_hz * 0.7})
    g = _gemm(1, 8192, 8192)
    assert _power_w(g, slow) < _power_w(g, chip)


def test_calibration_file_loads_and_names_its_provenance() -> None:
    c = load_calibration()
    assert c == GPU_CALIBRATION
    f = c.active_power_fraction
    assert 0 < f.value < 1 and f.source.strip()
    if f.status == "fitted":
        assert "hwsim/data/reference/gpu/" in f.fitted_on
    else:
        assert not f.fitted_on and "[assumption]" in f.source
    chip = _chip("h100-sxm")
    assert gpu_energy(chip).active_w == pytest.approx(f.value * (chip.tdp_w - chip.idle_power_w))


def test_schema_refuses_a_fitted_constant_without_rows(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        GpuPowerConstant(value=0.3, unit="x", status="fitted", source="s", fitted_on="")
    with pytest.raises(ValidationError):
        GpuPowerConstant(value=0.3, unit="x", status="assumption", source="s", fitted_on="r")
    fitted = GpuPowerConstant(value=0.25, unit="x", status="fitted", source="least squares",
                              fitted_on="hwsim/data/reference/gpu/x.csv row 1")
    out = write_calibration(tmp_path / "gpu.yaml", active_power_fraction=fitted)
    assert out.active_power_fraction.value == 0.25
    assert "0.25" in (tmp_path / "gpu.yaml").read_text(encoding="utf-8")


def test_refit_recovers_the_fraction_that_made_the_rows() -> None:
    """The fitter runs the engine: rows the engine itself made at a known fraction (a GEMV
    and a GEMM on two GPUs) re-fit to that fraction, from a start far from it."""
    made_at = 0.22
    rows = []
    for name in ("h100-sxm", "a100-sxm-80gb"):
        chip = _chip(name)
        for shape in ((1, 8192, 8192), (2048, 2048, 2048)):
            row = PowerRow(chip, _gemm(*shape), 1, 1.0, f"{name} {shape}")
            rows.append(dataclasses.replace(row, measured_w=predicted_power_w(row, made_at)))
    assert fit_active_power_fraction(rows, x0=0.6) == pytest.approx(made_at, rel=1e-4)
    with pytest.raises(ValueError):
        fit_active_power_fraction([])


def test_calibrate_energy_keeps_the_gemm_at_the_tdp() -> None:
    chip = _chip("h100-sxm")
    low, high = calibrate_energy(chip, 0.1), calibrate_energy(chip, 0.5)
    assert high.tensor_j_per_flop < low.tensor_j_per_flop  # active power takes from math power
    assert high.active_w > low.active_w


def test_a_tdp_that_idle_and_memory_power_fill_is_an_input_error() -> None:
    chip = _chip("h100-sxm", tdp_w=106.0)  # idle 105 W: nothing left for math
    with pytest.raises(HwsimError, match="no per-FLOP energy"):
        simulate(_gemm(1024, 1024, 1024), chip)
