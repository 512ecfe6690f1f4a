"""The fitted GPU power constants (issue 17, item 2): the refit reproduces the shipped values,
the HBM scale acts on HBM parts only, memory-bound work draws well above idle, the power limit
stretches time, and the Jetson power-mode presets order as their modes do."""

from __future__ import annotations

import csv
import itertools

import pytest

from hwsim.calibration.gpu_power_fit import refit
from hwsim.calibration.gpu_power_rows import FIT_FILE, HELDOUT_FILE, read_rows
from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.energy import calibrate_energy, gpu_energy
from hwsim.engine.gpu.power_constants import GPU_CALIBRATION
from hwsim.engine.simulate import simulate
from hwsim.errors import HwsimError
from hwsim.hardware.chips import load_chip
from hwsim.validation.gpu_power_heldout import power_report
from hwsim.workload.load import gemm, load_model

JETSON_MODES = ("jetson-agx-orin-64gb-15w", "jetson-agx-orin-64gb-30w",
                "jetson-agx-orin-64gb-50w", "jetson-agx-orin-64gb")


def _chip(name: str, **overrides: object) -> GpuChip:
    chip = load_chip(name, overrides or None)  # type: ignore[arg-type]
    assert isinstance(chip, GpuChip)
    return chip


def test_refit_reproduces_the_shipped_constants() -> None:
    fraction, scale = refit()
    assert fraction == pytest.approx(GPU_CALIBRATION.active_power_fraction.value, abs=1e-4)
    assert scale == pytest.approx(GPU_CALIBRATION.hbm3_energy_scale.value, abs=1e-4)
    for c in (GPU_CALIBRATION.active_power_fraction, GPU_CALIBRATION.hbm3_energy_scale):
        assert c.status == "fitted" and FIT_FILE in c.fitted_on
        assert HELDOUT_FILE not in c.fitted_on


def test_fit_and_heldout_rows_are_disjoint_models() -> None:
    fit = {r.label.split(" batch")[0].split(" ", 1)[1] for r in read_rows(FIT_FILE)}
    held = {r.label.split(" batch")[0].split(" ", 1)[1] for r in read_rows(HELDOUT_FILE)}
    assert fit and held and not fit & held


def _own_energy_cleared(name: str) -> GpuChip:
    chip = _chip(name)
    return chip.model_copy(update={"offchip": chip.offchip.model_copy(
        update={"energy_pj_per_byte": None})})


def test_hbm3_scale_acts_on_the_hbm3_generation_only() -> None:
    for name in ("h100-sxm", "h200-sxm", "b200-sxm"):
        chip = _own_energy_cleared(name)
        assert calibrate_energy(chip, 0.1, 2.0).dram_j_per_byte == pytest.approx(
            2 * calibrate_energy(chip, 0.1, 1.0).dram_j_per_byte)
    # HBM3E's device energy (Samsung, 3.9 pJ/bit) is below the table's HBM3 (6.0, an upper
    # bound), so without a value of its own an H200 byte costs 3.9 / 6.0 of an H100 byte under
    # the same path multiplier.
    assert calibrate_energy(_own_energy_cleared("h200-sxm"), 0.1, 2.0).dram_j_per_byte == \
        pytest.approx(3.9 / 6.0 * calibrate_energy(_chip("h100-sxm"), 0.1, 2.0).dram_j_per_byte)
    # The shipped H200 carries its own fitted figure (offchip_energy_fit), which no multiplier
    # touches.
    h200 = _chip("h200-sxm")
    assert h200.offchip.energy_pj_per_byte is not None
    for scale in (1.0, 2.0):
        assert calibrate_energy(h200, 0.1, scale).dram_j_per_byte == pytest.approx(
            h200.offchip.energy_pj_per_byte * 1e-12)
    for other in ("rtx-4090", "a100-sxm-80gb", "jetson-agx-orin-64gb"):
        chip = _chip(other)
        assert chip.offchip.kind not in ("hbm3", "hbm3e")
        assert calibrate_energy(chip, 0.1, 2.0).dram_j_per_byte == \
            calibrate_energy(chip, 0.1, 1.0).dram_j_per_byte


def test_memory_bound_kernel_draws_well_above_idle() -> None:
    """A GEMV streams HBM: its power is idle + active + HBM traffic, far above idle."""
    chip = _chip("h100-sxm")
    r = simulate(gemm(1, 8192, 8192, dtype="bf16"), chip).total
    power_w = r.energy_j / r.latency_s
    assert power_w > 2.5 * chip.idle_power_w
    assert r.energy_breakdown_j["offchip"] / r.latency_s > gpu_energy(chip).active_w


def test_power_limit_stretches_time_and_lowers_the_voltage() -> None:
    """Lowering the limit slows a compute-bound GEMM (the clock drops) while its power sits at
    the new limit. Its clocked per-action energies fall with the voltage at the lower clock
    (dvfs_voltage_slope), its DRAM energy does not; energy still does not fall to the cap."""
    g = gemm(8192, 8192, 8192, dtype="bf16")
    chip = _chip("h100-sxm")
    full_t = simulate(g, chip).total
    capped_t = simulate(g, _chip("h100-sxm", power_limit_w=450.0)).total
    assert capped_t.latency_s > 1.2 * full_t.latency_s
    assert capped_t.energy_j / capped_t.latency_s == pytest.approx(450.0, rel=1e-3)
    e = gpu_energy(chip)
    # A compute-bound kernel's clock: boost over its stretch from the burst time.
    burst_s = simulate(g, chip, chip_overrides={"sustained_load": False}).total.latency_s
    scale = (e.voltage_scale(e.boost_clock_hz * burst_s / capped_t.latency_s)
             / e.voltage_scale(e.boost_clock_hz * burst_s / full_t.latency_s))
    assert 0.5 < scale < 1.0
    for k in ("tensor", "l2", "smem"):
        assert capped_t.energy_breakdown_j[k] == pytest.approx(
            full_t.energy_breakdown_j[k] * scale, rel=0.02)
    assert capped_t.energy_breakdown_j["offchip"] == pytest.approx(
        full_t.energy_breakdown_j["offchip"])
    assert capped_t.energy_j > 450.0 * full_t.latency_s
    # With one voltage at every clock the per-action energies would not move.
    flat = [simulate(g, _chip("h100-sxm", dvfs_voltage_slope=0.0, **cap)).total
            for cap in ({}, {"power_limit_w": 450.0})]
    assert flat[1].energy_breakdown_j["tensor"] == pytest.approx(
        flat[0].energy_breakdown_j["tensor"])


def test_power_mode_costs_maxns_energy_per_flop_at_its_own_voltage() -> None:
    """A down-clocked mode is the same silicon: never more per FLOP than MAXN; less by the
    voltage curve at its clock (MAXN's boost the reference), and never below the curve's
    floor; with one voltage at every clock, exactly MAXN's."""
    g = gemm(4096, 4096, 4096, dtype="fp16")
    maxn = gpu_energy(_chip(JETSON_MODES[-1]))
    floor = GPU_CALIBRATION.dvfs_min_voltage_ratio.value ** 2
    tensor_j = [simulate(g, n).total.energy_breakdown_j["tensor"] for n in JETSON_MODES]
    for name, j in zip(JETSON_MODES, tensor_j, strict=True):
        scale = maxn.voltage_scale(_chip(name).clock_hz)
        assert j == pytest.approx(tensor_j[-1] * scale) and floor <= scale <= 1.0
    # Non-decreasing with the clock (modes at the voltage floor cost the same, to rounding).
    assert all(a <= b * (1 + 1e-12) for a, b in itertools.pairwise(tensor_j))
    assert tensor_j[0] < tensor_j[-1]
    flat = [simulate(g, n, chip_overrides={"dvfs_voltage_slope": 0.0}).total
            .energy_breakdown_j["tensor"] for n in JETSON_MODES]
    assert flat == pytest.approx([flat[-1]] * len(JETSON_MODES))
    with pytest.raises(HwsimError):
        gpu_energy(_chip("jetson-agx-orin-64gb", power_mode_of="jetson-agx-orin-64gb-15w"))


def test_jetson_power_modes_order() -> None:
    chips = [_chip(n) for n in JETSON_MODES]
    for lo, hi in itertools.pairwise(chips):
        assert lo.clock_hz < hi.clock_hz and lo.sms <= hi.sms
        assert lo.tdp_w < hi.tdp_w and (lo.module_power_w or 0) < (hi.module_power_w or 0)
        assert lo.offchip.bw_bytes_per_s <= hi.offchip.bw_bytes_per_s
    g = gemm(4096, 4096, 4096, dtype="fp16")
    gemm_s = [simulate(g, c).total.latency_s for c in chips]
    assert gemm_s == sorted(gemm_s, reverse=True) and len(set(gemm_s)) == len(gemm_s)
    decode = load_model("llama2-7b", seq=512, phase="decode")
    dec = [simulate(decode, c).total for c in chips]
    assert [d.latency_s for d in dec] == sorted((d.latency_s for d in dec), reverse=True)
    # The 15 W mode caps the memory clock: decode is slower there than in every other mode.
    assert dec[0].latency_s > 1.3 * dec[1].latency_s
    powers = [d.energy_j / d.latency_s for d in dec]
    assert powers == sorted(powers)
    assert all(p <= c.tdp_w * (1 + 1e-6) for p, c in zip(powers, chips, strict=True))


def test_heldout_power_report_covers_batches_1_to_64() -> None:
    rep = power_report()
    targets = {s["kind"]: s["target"] for s in rep["summary"]}
    assert targets == {"power": 0.10, "energy_per_token": 0.15, "step_time": None}
    assert all(r["chip"] == "h100-sxm" for r in rep["rows"])
    assert all(int(r["case"].rsplit(" ", 1)[1]) <= 64 for r in rep["rows"])
    # Each fitting model predicted by constants fitted on the other one alone.
    lomo = rep["leave_one_model_out"]
    assert set(lomo) == {"Qwen/Qwen3-8B", "Qwen/Qwen3-14B"}
    fit_rows = list(read_rows(FIT_FILE))
    for model, v in lomo.items():
        assert v["rows"] == sum(model in r.label for r in fit_rows) > 0
        assert 0 <= v["median_abs_error"] < 1


def test_power_mode_of_an_unknown_preset_names_the_field(tmp_path, run_cli) -> None:
    """A power mode whose base preset does not exist: exit 2, the chip, field and value named."""
    from hwsim.presets import resolve

    src = resolve("chips", "l4").read_text(encoding="utf-8")
    bad = tmp_path / "l4-mode.yaml"
    bad.write_text(src.replace("name: l4\n", "name: l4-mode\npower_mode_of: no-such-gpu\n"),
                   encoding="utf-8")
    code, _, err = run_cli("simulate", "--chip", str(bad), "--model", "llama2-7b",
                           "--phase", "decode", "--seq", "128")
    assert code == 2
    assert "power_mode_of" in err and "no-such-gpu" in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["no-such-gpu", "t4-pcie", "stm32h7a3-m7"])
def test_math_energy_of_a_bad_preset_names_the_field(tmp_path, run_cli, value: str) -> None:
    """math_energy_of naming a missing preset, a borrower (t4-pcie borrows V100's) or a non-GPU:
    exit 2 with the chip, field and value named."""
    from hwsim.presets import resolve

    src = resolve("chips", "l4").read_text(encoding="utf-8")
    bad = tmp_path / "l4-x.yaml"
    bad.write_text(src.replace("math_energy_of: h100-sxm\n", f"math_energy_of: {value}\n"),
                   encoding="utf-8")
    code, _, err = run_cli("simulate", "--chip", str(bad), "--model", "llama2-7b",
                           "--phase", "decode", "--seq", "128")
    assert code == 2
    assert "math_energy_of" in err and value in err and "Traceback" not in err


def test_math_energy_of_slows_a_power_limited_gemm() -> None:
    """The knob acts: unset, the L4 calibrates on its own 72 W and its FLOPs are cheaper, so an
    8192^3 bf16 GEMM runs faster than with the H100's energy per FLOP."""
    from hwsim.engine.simulate import simulate
    from hwsim.workload.model import Model
    from hwsim.workload.ops import MatmulOp

    gemm = Model(name="g", ops=(MatmulOp(name="g", m=8192, n=8192, k=8192, dtype="bf16"),))
    shared = simulate(gemm, _chip("l4")).total.latency_s
    own = simulate(gemm, _chip("l4", math_energy_of=None)).total.latency_s
    assert own < 0.9 * shared


def test_step_context_is_length_biased() -> None:
    """A step sees requests in proportion to their length: the step-weighted mean output
    (E[L^2]/E[L]) is at least the plain mean, and the decode context follows it."""
    from hwsim.calibration.gpu_power_rows import PROMPT_TOKENS, REFERENCE_DIR
    from hwsim.data.reference.gpu.make_mlenergy import step_mean_output

    assert step_mean_output({"bins": [0, 2, 4], "counts": [1, 1]}) == pytest.approx(10 / 4)
    for name in (FIT_FILE, HELDOUT_FILE):
        with open(REFERENCE_DIR / name, newline="") as fh:
            raw = list(csv.DictReader(fh))
        for r, row in zip(raw, read_rows(name), strict=True):
            assert float(r["step_mean_output_tokens"]) >= float(r["avg_output_tokens"])
            attn = next(op for op in row.model.ops if type(op).__name__ == "AttentionOp")
            assert attn.seq_kv == PROMPT_TOKENS + round(float(r["step_mean_output_tokens"]) / 2)


def test_fit_draws_idle_and_active_power_over_the_measured_step() -> None:
    """The fitted quantity: the engine's action energy plus idle + active power over the
    measured step time, so a longer measured step adds exactly that power times the extra."""
    from dataclasses import replace

    from hwsim.calibration.gpu import action_energy_j, energy_at_measured_time_j

    row = next(iter(read_rows(FIT_FILE))).power_row()
    energy = gpu_energy(row.chip)
    busy_w = energy.idle_w + energy.active_power_w(row.chip.clock_hz)
    assert row.measured_step_s is not None and busy_w > energy.idle_w
    base = energy_at_measured_time_j(row, energy)
    assert base == pytest.approx(action_energy_j(row, energy) + busy_w * row.measured_step_s)
    longer = replace(row, measured_step_s=row.measured_step_s + 1e-3)
    assert energy_at_measured_time_j(longer, energy) - base == pytest.approx(busy_w * 1e-3)
    with pytest.raises(ValueError, match="measured step time"):
        energy_at_measured_time_j(replace(row, measured_step_s=None), energy)
