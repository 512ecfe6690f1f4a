"""Trace sparsity on the engines that price density only (MCU, GPU): the trace's measured
density drives them, as a relu spec of that density would (before: silently dense)."""

from __future__ import annotations

import numpy as np
import pytest

import hwsim
from hwsim.sparsity.traces import save_trace

K = 256


@pytest.fixture()
def trace(tmp_path):
    rng = np.random.default_rng(3)
    mask = rng.random((64, K)) < 0.3
    path = save_trace(tmp_path / "t.npz", {"gemm": mask})
    return path, float(mask.mean())


def _latency(chip: str, spec: str) -> float:
    return hwsim.simulate(_gemm(), chip, sparsity=[spec]).total.latency_s


def _gemm():
    from hwsim.workload.load import gemm

    return gemm(64, 128, K)


@pytest.mark.parametrize(("chip", "skips"), [("stm32u585-m33", True), ("alif-m55-u55", False)])
def test_mcu_prices_the_measured_density(trace, chip: str, skips: bool) -> None:
    # The M33's CMSIS-NN-style kernels skip zero inputs in software; the U55 NPU does not.
    path, density = trace
    traced = _latency(chip, f"gemm:trace:path={path}")
    assert traced == pytest.approx(_latency(chip, f"gemm:relu:density={density!r}"), rel=1e-12)
    assert (traced < _latency(chip, "gemm:dense")) == skips


def test_gpu_accepts_traces(trace) -> None:
    path, density = trace
    # A dense-kernel GPU gains nothing from activation zeros: same as relu at that density.
    assert _latency("rtx-4090", f"gemm:trace:path={path}") == pytest.approx(
        _latency("rtx-4090", f"gemm:relu:density={density!r}"), rel=1e-12)


def test_trace_errors_on_mcu(tmp_path, run_cli) -> None:
    wrong_k = save_trace(tmp_path / "k.npz", {"gemm": np.ones((4, 100), bool)})
    code, _, err = run_cli("simulate", "--chip", "stm32u585-m33", "--gemm", f"64,128,{K}",
                           "--sparsity", f"gemm:trace:path={wrong_k}")
    assert code == 2 and "K=100" in err and str(K) in err
    other = save_trace(tmp_path / "o.npz", {"fc9": np.ones((4, K), bool)})
    code, _, err = run_cli("simulate", "--chip", "rtx-4090", "--gemm", f"64,128,{K}",
                           "--sparsity", f"gemm:trace:path={other}")
    assert code == 2 and "no mask for op 'gemm'" in err and "fc9" in err


def test_mcu_samples_use_the_trace(trace) -> None:
    path, _ = trace
    dense = hwsim.simulate(_gemm(), "stm32u585-m33").total.latency_s
    res = hwsim.simulate(_gemm(), "stm32u585-m33", sparsity=[f"gemm:trace:path={path}"],
                         fidelity="cycle", samples=5, seed=1)
    assert res.distribution is not None
    assert res.distribution["latency_s"]["max"] < 0.5 * dense
