"""The kernel-timing constants shared by every GPU (``configs/calibration/gpu.yaml``, section
``kernels``; each entry says what it was fitted on), as the kernel models read them. Fitted by
:mod:`hwsim.calibration.attention_fit`."""

from __future__ import annotations

from hwsim.config.calibration import GpuCalibration
from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.flash import FlashConstants
from hwsim.engine.gpu.power_constants import GPU_CALIBRATION

FLASH_KEYS = {"fa2_efficiency": "fa2_mainloop_efficiency",
              "fa3_efficiency": "fa3_mainloop_efficiency",
              "cta_fixed_s": "flash_cta_fixed_s",
              "kernel_fixed_s": "flash_kernel_fixed_s"}


def _value(cal: GpuCalibration, key: str) -> float:
    try:
        return cal.kernels[key].value
    except KeyError:
        raise ValueError(f"configs/calibration/gpu.yaml: kernels.{key} is missing "
                         f"(have {sorted(cal.kernels)})") from None


def flash_constants(cal: GpuCalibration = GPU_CALIBRATION) -> FlashConstants:
    """The FlashAttention kernel model's constants."""
    return FlashConstants(**{f: _value(cal, key) for f, key in FLASH_KEYS.items()})


def flash_kernel_s(chip: GpuChip, k: FlashConstants) -> float:
    """Fixed time of one attention-path kernel: the fitted GPU time per kernel inside a CUDA
    graph (the CTAs' own prologue/epilogue are counted separately), the host launch otherwise."""
    return k.kernel_fixed_s if chip.cuda_graphs else chip.launch_overhead_s


FLASH = flash_constants()
