"""The GEMM kernel constants shared by every GPU, as the engine reads them:
``configs/calibration/gpu_gemm.yaml`` (validated by
:class:`hwsim.config.calibration.GpuGemmCalibration`; each says what it was fitted on).
:mod:`hwsim.calibration.gpu_gemm` re-fits them; while it tries candidate values it installs them
with :func:`use_gemm_constants` (a context variable, so the engine itself stays pure)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from hwsim.config.calibration import GpuGemmCalibration
from hwsim.config.loading import read_yaml_file, validate
from hwsim.presets import calibration_path


@dataclass(frozen=True)
class GemmConstants:
    """Values of the GEMM constants (units in the names)."""

    simt_tile_fill_cycles: float
    simt_mainloop_efficiency: float
    tensor_tile_fill_cycles: float
    sm90_tile_fill_cycles: float
    sm100_tile_fill_cycles: float
    sm90_fp8_tile_floor_cycles: float
    fp8_mainloop_efficiency: float
    quant_cta_launch_cycles: float
    aiconfigurator_v024_kernel_s: float
    aiconfigurator_v024_quant_kernel_s: float
    aiconfigurator_v024_b200_kernel_s: float
    aiconfigurator_v014_kernel_s: float
    aiconfigurator_a100_dram_efficiency: float
    aiconfigurator_trtllm_kernel_s: float


def load_gemm_calibration() -> GpuGemmCalibration:
    """The shipped GEMM constants with their provenance, validated."""
    path = calibration_path("gpu_gemm")
    return validate(read_yaml_file(path), GpuGemmCalibration,  # type: ignore[no-any-return]
                    str(path))


def constants_of(cal: GpuGemmCalibration) -> GemmConstants:
    """The values of a calibration document."""
    return GemmConstants(simt_tile_fill_cycles=cal.simt_tile_fill_cycles.value,
                         simt_mainloop_efficiency=cal.simt_mainloop_efficiency.value,
                         tensor_tile_fill_cycles=cal.tensor_tile_fill_cycles.value,
                         sm90_tile_fill_cycles=cal.sm90_tile_fill_cycles.value,
                         sm100_tile_fill_cycles=cal.sm100_tile_fill_cycles.value,
                         sm90_fp8_tile_floor_cycles=cal.sm90_fp8_tile_floor_cycles.value,
                         fp8_mainloop_efficiency=cal.fp8_mainloop_efficiency.value,
                         quant_cta_launch_cycles=cal.quant_cta_launch_cycles.value,
                         aiconfigurator_v024_kernel_s=cal.aiconfigurator_v024_kernel_s.value,
                         aiconfigurator_v024_quant_kernel_s=(
                             cal.aiconfigurator_v024_quant_kernel_s.value),
                         aiconfigurator_v024_b200_kernel_s=(
                             cal.aiconfigurator_v024_b200_kernel_s.value),
                         aiconfigurator_v014_kernel_s=cal.aiconfigurator_v014_kernel_s.value,
                         aiconfigurator_a100_dram_efficiency=(
                             cal.aiconfigurator_a100_dram_efficiency.value),
                         aiconfigurator_trtllm_kernel_s=cal.aiconfigurator_trtllm_kernel_s.value)


GEMM_CALIBRATION = load_gemm_calibration()
SHIPPED = constants_of(GEMM_CALIBRATION)
_ACTIVE: ContextVar[GemmConstants | None] = ContextVar("gemm_constants", default=None)


def gemm_constants() -> GemmConstants:
    """The constants in force (the shipped ones unless a re-fit installed candidates)."""
    return _ACTIVE.get() or SHIPPED


@contextmanager
def use_gemm_constants(values: GemmConstants) -> Iterator[None]:
    """Run the engine with ``values`` in place of the shipped constants (for a re-fit)."""
    token = _ACTIVE.set(values)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
