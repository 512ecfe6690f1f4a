"""bf16 GEMMs on GPUs without bf16 tensor cores (Volta, Turing) run on the CUDA cores, not at
the fp16 tensor rate (hwsim.engine.gpu.rates.native_bf16; PTX ISA: bf16 ``mma`` needs sm_80).
Public square torch.mm runs put a V100's bf16 at 0.73x its fp32 and a T4's at ~0.5x
(hwsim/data/reference/gpu/torch_mm_square_crowd.csv), nowhere near their fp16 tensor rates."""

from __future__ import annotations

from typing import Any

import pytest

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.rates import cuda_peak, native_bf16, tensor_16bit_dtype, tensor_peak
from hwsim.engine.result import Result
from hwsim.engine.simulate import simulate
from hwsim.hardware.chips import load_chip
from hwsim.workload.load import gemm


def _run(preset: str, dtype: str, overrides: dict[str, Any] | None = None) -> Result:
    return simulate(gemm(4096, 4096, 4096, dtype=dtype), preset, chip_overrides=overrides)


@pytest.mark.parametrize("preset", ["v100-sxm2-32gb", "v100-pcie-32gb", "t4-pcie"])
def test_bf16_runs_on_the_cuda_cores_without_bf16_tensor_cores(preset: str) -> None:
    chip = load_chip(preset)
    assert isinstance(chip, GpuChip)
    assert not native_bf16(chip) and tensor_16bit_dtype(chip) == "fp16"
    # Every bf16 kernel (GEMM, attention, roofline) sees the CUDA cores' rate, not the fp16's.
    assert tensor_peak(chip, "bf16") == cuda_peak(chip) < tensor_peak(chip, "fp16") / 4.0
    bf16, fp16, fp32 = (_run(preset, d) for d in ("bf16", "fp16", "fp32"))
    parts = bf16.total.energy_breakdown_j
    assert parts["tensor"] == 0.0 and parts["cuda"] > 0.0
    # On the FP32 pipes: near the sgemm's time (fewer operand bytes), several times the fp16's.
    assert bf16.total.latency_s == pytest.approx(fp32.total.latency_s, rel=0.1)
    assert bf16.total.latency_s > 4.0 * fp16.total.latency_s


def test_listing_a_bf16_tensor_rate_moves_bf16_to_the_tensor_cores() -> None:
    """The knob: the same V100 given a bf16 tensor rate runs bf16 as it runs fp16."""
    native = {"tensor_flops_per_clk_per_sm": {"fp16": 1024, "bf16": 1024}}
    chip = load_chip("v100-sxm2-32gb", native)
    assert isinstance(chip, GpuChip) and native_bf16(chip)
    with_mma = _run("v100-sxm2-32gb", "bf16", native)
    without = _run("v100-sxm2-32gb", "bf16")
    fp16 = _run("v100-sxm2-32gb", "fp16")
    assert with_mma.total.latency_s == pytest.approx(fp16.total.latency_s, rel=1e-9)
    assert without.total.latency_s > 4.0 * with_mma.total.latency_s


@pytest.mark.parametrize("preset", ["a100-sxm-80gb", "h100-sxm", "l4", "rtx-4090"])
def test_bf16_and_fp16_share_the_tensor_rate_from_ampere_on(preset: str) -> None:
    assert _run(preset, "bf16").total.latency_s == pytest.approx(
        _run(preset, "fp16").total.latency_s, rel=1e-9)


def test_bf16_attention_without_bf16_tensor_cores_costs_cuda_core_energy() -> None:
    """A non-GEMM bf16 kernel runs at the CUDA cores' rate there, and costs their energy per
    FLOP (as the GEMM path does), not a tensor energy scaled to the slower rate."""
    from hwsim.workload.load import load_model
    from hwsim.workload.model import Model

    attention = next(op for op in load_model("gpt2-small").ops if op.kind == "attention")
    model = Model(name="att", ops=(attention.model_copy(update={"dtype": "bf16"}),),
                  origin="validation")
    for preset in ("v100-sxm2-32gb", "t4-pcie"):
        parts = simulate(model, preset, batch=8).total.energy_breakdown_j
        assert parts["tensor"] == 0.0 and parts["cuda"] > 0.0
    parts = simulate(model, "a100-sxm-80gb", batch=8).total.energy_breakdown_j
    assert parts["tensor"] > parts["cuda"] > 0.0


def test_bf16_two_four_weights_without_bf16_tensor_cores_stay_on_the_cuda_cores() -> None:
    """A what-if T4 with 2:4 sparse tensor cores (an override) has none for bf16: bf16 2:4
    weights run on the CUDA cores, skipping half the MACs, never slower than dense bf16."""
    over = {"sparse_features.nm": [2, 4]}
    dense = _run("t4-pcie", "bf16", over)
    sparse = simulate(gemm(4096, 4096, 4096, dtype="bf16"), "t4-pcie", chip_overrides=over,
                      sparsity=["*:nm:n=2,m=4"])
    assert sparse.total.latency_s < dense.total.latency_s
    assert sparse.total.energy_breakdown_j["tensor"] == 0.0
