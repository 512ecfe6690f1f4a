"""The issue-17 GPU presets (L4, T4, V100 SXM2 32GB, H200 SXM, A100 PCIe 40GB, V100 PCIe 32GB,
B200 SXM)
reproduce their datasheets: dense tensor peaks (per clock per SM x SMs x boost clock), memory
bandwidth and TDP, each against the figure NVIDIA publishes (cited beside it); the tensor dtypes
and 2:4 support follow the architecture; and Llama-2-7B decode at batch 1 can be no faster than
reading its weights once."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.rates import cuda_peak, dram_bw, tensor_peak
from hwsim.engine.simulate import simulate
from hwsim.hardware.chips import load_chip
from hwsim.workload.load import load_model


class Datasheet(NamedTuple):
    """Published figures: dense 16-bit tensor FLOP/s, FP32 FLOP/s, DRAM bytes/s, TDP W."""

    fp16_flops: float
    fp32_flops: float
    bw_bytes_per_s: float
    tdp_w: float


DATASHEETS = {
    # NVIDIA L4 datasheet: FP16/BF16 tensor 242 TFLOPS "with sparsity" (dense = half),
    # FP32 30.3 TFLOPS, 24 GB GDDR6 at 300 GB/s, max TDP 72 W.
    "l4": Datasheet(242e12 / 2, 30.3e12, 300e9, 72.0),
    # NVIDIA T4 datasheet: mixed precision (FP16/FP32) 65 TFLOPS, single precision 8.1 TFLOPS,
    # 70 W; T4 board product brief: GDDR6 peak bandwidth up to 320 GB/s.
    "t4-pcie": Datasheet(65e12, 8.1e12, 320e9, 70.0),
    # NVIDIA V100 datasheet (SXM2 32GB): tensor 125 TFLOPS, single precision 15.7 TFLOPS,
    # HBM2 900 GB/s, 300 W.
    "v100-sxm2-32gb": Datasheet(125e12, 15.7e12, 900e9, 300.0),
    # NVIDIA H200 datasheet (SXM): FP16/BF16 tensor 1979 TFLOPS with sparsity (dense = half),
    # HBM3e 4.8 TB/s, up to 700 W. FP32: the 989.5 TFLOPS dense rate implies 1.83 GHz, where
    # 132 SMs x 256 FLOP give 61.8 TFLOPS (the datasheet's 67 is at the 1.98 GHz maximum boost).
    "h200-sxm": Datasheet(1979e12 / 2, 61.8e12, 4.8e12, 700.0),
    # NVIDIA A100 datasheet (40GB PCIe column): FP16 tensor 312 TFLOPS, FP32 19.5 TFLOPS,
    # HBM2 1555 GB/s, 250 W.
    "a100-pcie-40gb": Datasheet(312e12, 19.5e12, 1555e9, 250.0),
    # NVIDIA V100 PCIe datasheet (32GB): tensor 112 TFLOPS, single precision 14 TFLOPS,
    # HBM2 900 GB/s, 250 W.
    "v100-pcie-32gb": Datasheet(112e12, 14e12, 900e9, 250.0),
    # NVIDIA Blackwell datasheet as aiconfigurator-core 0.12.0 systems/b200_sxm.yaml carries it:
    # BF16 tensor 2250 TFLOPS dense, HBM3e 7.7 TB/s, 1000 W. FP32: one modelled clock, the
    # tensor peak's 1.855 GHz, x 148 SMs x 256 FLOP = 70.3 TFLOPS (75.0 at 1.98 GHz boost).
    "b200-sxm": Datasheet(2250e12, 70.3e12, 7.7e12, 1000.0),
}
# Architectures with BF16 and 2:4 sparse tensor cores (Ampere and later): Ampere, Ada, Hopper,
# Blackwell.
BF16_AND_SPARSE = {"l4", "h200-sxm", "a100-pcie-40gb", "b200-sxm"}


def _chip(name: str) -> GpuChip:
    chip = load_chip(name)
    assert isinstance(chip, GpuChip)
    return chip


@pytest.mark.parametrize("name", DATASHEETS)
def test_dense_tensor_peak_is_per_clock_per_sm_times_sms_times_boost(name: str) -> None:
    chip, sheet = _chip(name), DATASHEETS[name]
    assert chip.clock_hz == chip.boost_clock_hz
    per_clk = chip.tensor_flops_per_clk_per_sm["fp16"]
    assert per_clk * chip.sms * chip.boost_clock_hz == pytest.approx(sheet.fp16_flops, rel=0.01)
    assert tensor_peak(chip, "fp16") == pytest.approx(sheet.fp16_flops, rel=0.01)
    assert cuda_peak(chip) == pytest.approx(sheet.fp32_flops, rel=0.01)


@pytest.mark.parametrize("name", DATASHEETS)
def test_memory_bandwidth_and_tdp_are_the_datasheets(name: str) -> None:
    chip, sheet = _chip(name), DATASHEETS[name]
    assert chip.offchip.bw_bytes_per_s == sheet.bw_bytes_per_s
    assert chip.tdp_w == sheet.tdp_w


@pytest.mark.parametrize("name", DATASHEETS)
def test_tensor_dtypes_and_sparsity_follow_the_architecture(name: str) -> None:
    chip = _chip(name)
    dense, sparse = chip.tensor_flops_per_clk_per_sm, chip.tensor_flops_sparse_per_clk_per_sm
    if name in BF16_AND_SPARSE:
        assert dense["bf16"] == dense["fp16"]
        assert chip.sparse_features.nm == (2, 4)
        # The datasheets quote 2:4 peaks: twice the dense rate in every listed dtype.
        assert sparse == {dt: 2 * rate for dt, rate in dense.items()}
    else:
        # Volta and Turing tensor cores have no BF16 and no structured sparsity.
        assert "bf16" not in dense
        assert chip.sparse_features.nm is None and sparse == {}


@pytest.mark.parametrize("name", DATASHEETS)
def test_every_number_has_a_source(name: str) -> None:
    chip = _chip(name)
    # Software-stack switches (graphs, weight-only kernels, FlashAttention and cuBLAS/CUTLASS
    # GEMM kernel generations, PyTorch's softmax kernel) describe the framework, not the
    # datasheet; switches unset on datasheet presets (a user's cap, a power mode's base) need
    # no source.
    fields = set(type(chip).model_fields) - {"schema_version", "kind", "name", "description",
                                             "sources", "cuda_graphs", "int8_weight_only",
                                             "int4_weight_only_kernel",
                                             "module_power_w", "attention_kernel",
                                             "gemm_kernels",
                                             "softmax_smem", "norm_kernel", "power_limit_w",
                                             "sustained_load",
                                             # unset: the fitted default in
                                             # configs/calibration/gpu.yaml, with its rows
                                             "dvfs_voltage_slope",
                                             "power_mode_of",
                                             "math_energy_of", "active_power_of"}
    missing = {f for f in fields
               if not any(k == f or k.startswith(f + ".") for k in chip.sources)}
    assert not missing, f"{name}: no source for {sorted(missing)}"


@pytest.mark.parametrize("name", DATASHEETS)
def test_llama2_7b_decode_is_no_faster_than_reading_the_weights(name: str) -> None:
    chip = _chip(name)
    model = load_model("llama2-7b", seq=512, phase="decode")
    r = simulate(model, chip)
    weights_s = model.weight_bytes / chip.offchip.bw_bytes_per_s
    assert model.weight_bytes > 12e9  # ~6.7 B fp16 parameters
    assert r.total.latency_s >= weights_s
    # Memory-bound: streaming at the sustained rate plus launches, never twice that.
    assert r.total.latency_s <= 2.0 * model.weight_bytes / dram_bw(chip)
