"""Per-path energy per FLOP (issue 17): a SIMT FP32 FFMA moves its operands through the register
file, a tensor-core MMA shares them over a tile, so fp32 sgemm draws more power than a bf16
GEMM of the same time and hits the power limit on a 72 W L4."""

from __future__ import annotations

import pytest

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.energy import gpu_energy
from hwsim.engine.gpu.kernels import tensor_peak
from hwsim.engine.gpu.path_energy import simt_fma_j, simt_to_tensor_ratio, tensor_mac_j
from hwsim.engine.simulate import simulate
from hwsim.hardware.chips import load_chip
from hwsim.hardware.tech import load_tech
from hwsim.workload.model import Model
from hwsim.workload.ops import MatmulOp


def _chip(name: str, **overrides: object) -> GpuChip:
    chip = load_chip(name, overrides or None)  # type: ignore[arg-type]
    assert isinstance(chip, GpuChip)
    return chip


def test_simt_ffma_energy_is_the_horowitz_fma_plus_four_register_accesses() -> None:
    chip = _chip("a100-sxm-80gb", tech="45nm")
    tech = load_tech("45nm")
    rf = float(tech.sram_read_energy_j_per_byte(65536))  # one sub-partition's 64 KB RF
    # Horowitz ISSCC 2014: fp32 multiply 3.7 pJ + add 0.9 pJ; 3 reads and 1 write of 4 bytes.
    expected = 4.6e-12 + 4 * (3 * rf + rf * tech.sram_write_to_read)
    assert simt_fma_j(chip) == pytest.approx(expected)
    assert simt_fma_j(chip) > 10 * (3.7e-12 + 0.9e-12) / 2  # operand delivery dominates


def test_a_larger_mma_tile_makes_the_tensor_path_cheaper_per_flop() -> None:
    ampere = _chip("a100-sxm-80gb")
    volta = _chip("a100-sxm-80gb", mma_shape_mnk=(8, 8, 4))
    assert tensor_mac_j(ampere, "bf16") < tensor_mac_j(volta, "bf16")
    assert simt_to_tensor_ratio(ampere) > simt_to_tensor_ratio(volta) > 1.0


def test_cuda_core_flop_costs_the_ratio_times_a_tensor_flop() -> None:
    chip = _chip("l4")
    e = gpu_energy(chip)
    assert e.cuda_j(chip) == pytest.approx(e.tensor_j_per_flop * simt_to_tensor_ratio(chip))


def _gemm(dtype: str) -> Model:
    return Model(name="g", ops=(MatmulOp(name="g", m=8192, n=8192, k=8192, dtype=dtype),))


def test_l4_throttles_fp32_sgemm_harder_than_bf16() -> None:
    # L4 shares H100's energy per FLOP (math_energy_of): at 72 W both paths are power-limited,
    # and the SIMT path, ~13x the energy per FLOP, keeps a smaller share of its peak.
    chip = _chip("l4")
    fp32 = simulate(_gemm("fp32"), chip)
    bf16 = simulate(_gemm("bf16"), chip)
    assert fp32.ops[0].bottleneck == bf16.ops[0].bottleneck == "power"
    flop = 2 * 8192**3
    fp32_share = flop / fp32.total.latency_s / (chip.cuda_flops_per_clk_per_sm * chip.sms
                                                * chip.clock_hz)
    bf16_share = flop / bf16.total.latency_s / tensor_peak(chip, "bf16")
    assert fp32_share < 0.5 * bf16_share


def test_h100_bf16_gemm_runs_under_its_limit_in_a_burst_only() -> None:
    # The H100 is measured (on the H200) to run its large GEMMs ~1.3x slower held at 700 W
    # than at boost: in a burst the calibration GEMM runs at full clock, sustained at the limit.
    burst = _chip("h100-sxm", sustained_load=False)
    assert simulate(_gemm("bf16"), burst).ops[0].bottleneck != "power"
    assert simulate(_gemm("bf16"), _chip("h100-sxm")).ops[0].bottleneck == "power"
    # A board taken to just sustain its tensor peak (power_limit_slowdown 1) fits the TDP.
    sized = _chip("h100-sxm", power_limit_slowdown=1.0)
    assert simulate(_gemm("bf16"), sized).ops[0].bottleneck != "power"
