"""Kernel-library calibration for MCU cores and the Ethos-U NPU model, with their sources.

Every constant here is *fitted*, not taken from a datasheet, and lives in
``configs/calibration/mcu.yaml`` with what it was fitted on (``fitted_on``) and how
(``source``), validated by :class:`hwsim.config.calibration.McuCalibration`. The figures they
were fitted on are reference data, kept out of the engine in ``hwsim/data/reference/mcu/`` (MLPerf
Tiny latency and energy with their result-file paths, Vela 5.2.0 cycle estimates with the
command that made them; see SOURCES.md there). :mod:`hwsim.calibration.mcu` re-does the fits
(and the leave-one-out checks ``hwsim validate mcu`` prints) and can rewrite the file;
``tests/test_mcu.py`` checks how close the model lands. Re-fit them together when the model's
form changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.config.calibration import McuCalibration
from hwsim.config.chip import KernelLibrary  # noqa: F401  (re-export: the names a chip uses)
from hwsim.config.loading import read_yaml_file, validate
from hwsim.presets import calibration_path

# The Cortex-M4's DSP extension issues one SMLAD (two 16-bit MACs) per cycle (Arm Cortex-M4
# TRM r0p1, instruction timings): the cycles-per-MAC below are relative to that rate, so a
# core with more int8 MACs per cycle (Helium, Xtensa SIMD) divides them by its own rate / 2.
M4_INT8_MACS_PER_CYCLE = 2.0


@dataclass(frozen=True)
class CoreKernels:
    """Cycles of a kernel library on a Cortex-M4 (core_cycle_scale 1), per unit of work."""

    conv_cycles_per_mac: float  # standard conv via im2col + SIMD MACs (incl. pointwise)
    depthwise_cycles_per_mac: float
    fc_cycles_per_mac: float  # fully connected, recurrent cells, attention GEMMs
    per_output_cycles: float  # requantise, clamp, store, loop set-up per output element
    vector_cycles_per_op: float  # pooling, softmax, elementwise
    source: str
    fitted_on: str = ""


CORE_FIELDS = ("conv_cycles_per_mac", "depthwise_cycles_per_mac", "fc_cycles_per_mac",
               "per_output_cycles", "vector_cycles_per_op")


def load_calibration() -> McuCalibration:
    """The fitted constants file, validated (a bad edit is an exit-2 error naming the field)."""
    path = calibration_path("mcu")
    return validate(read_yaml_file(path), McuCalibration, str(path))  # type: ignore[no-any-return]


CALIBRATION = load_calibration()
# Per library, fitted in log space (scipy.optimize.least_squares) to MLPerf Tiny latency:
#   cycles = s_core * (conv*a + dw*b + fc*c + outputs*d + vector_ops*e) + fc_weight_bytes*flash
# with flash = (wait states + 1) / flash_line_bytes of each board's preset.
CORE_KERNELS: dict[str, CoreKernels] = {
    name: CoreKernels(*(getattr(fit, f) for f in CORE_FIELDS), source=fit.source,
                      fitted_on=fit.fitted_on)
    for name, fit in CALIBRATION.core_kernels.items()}
# CMSIS-NN: four measurements on one board cannot fix five constants, so CMSIS-NN is the
# vendor-optimized kernel mix run slower by one fitted factor (every constant times the same
# factor; flash stalls unchanged); AD is held out (its figure in the file's source).
_CMSIS = CALIBRATION.scaled_libraries["cmsis-nn"]
CMSIS_NN_FACTOR = _CMSIS.factor
CMSIS_NN_BASE = _CMSIS.base
CMSIS_NN_FIT_MODELS = _CMSIS.fitted_models  # fitted; the other models held out
CORE_KERNELS["cmsis-nn"] = CoreKernels(
    *(CMSIS_NN_FACTOR * getattr(CORE_KERNELS[CMSIS_NN_BASE], f) for f in CORE_FIELDS),
    source=f"{CMSIS_NN_BASE} constants x {CMSIS_NN_FACTOR}: {_CMSIS.source}",
    fitted_on=_CMSIS.fitted_on)
# Libraries calibrated as one factor on another library's constants: name -> base.
SCALED_LIBRARIES: dict[str, str] = {name: fit.base
                                    for name, fit in CALIBRATION.scaled_libraries.items()}
# Vendor runtimes (X-CUBE-AI per major version, Plumerai 2023, Bosch HALE): per-kernel-kind
# factors on a fitted library, fitted on one board's MLPerf Tiny rows (named in the file).
KIND_FIELDS = {"conv_factor": ("conv_cycles_per_mac",),
               "depthwise_factor": ("depthwise_cycles_per_mac",),
               "other_factor": ("fc_cycles_per_mac", "per_output_cycles", "vector_cycles_per_op")}


def kind_scaled(base: CoreKernels, factors: dict[str, float], source: str,
                fitted_on: str) -> CoreKernels:
    """``base`` with each constant times its kind's factor (:data:`KIND_FIELDS`)."""
    per_field = {f: factors[k] for k, fs in KIND_FIELDS.items() for f in fs}
    return CoreKernels(*(per_field[f] * getattr(base, f) for f in CORE_FIELDS), source=source,
                       fitted_on=fitted_on)


for _name, _fit in CALIBRATION.runtime_libraries.items():
    CORE_KERNELS[_name] = kind_scaled(
        CORE_KERNELS[_fit.base], {k: getattr(_fit, k) for k in KIND_FIELDS},
        f"{_fit.base} constants x per-kind factors: {_fit.source}", _fit.fitted_on)
# Aliases (vendor-optimized = the Plumerai 2022 constants the presets were built on).
LIBRARY_ALIASES: dict[str, str] = dict(CALIBRATION.library_aliases)
for _alias, _target in LIBRARY_ALIASES.items():
    CORE_KERNELS[_alias] = CORE_KERNELS[_target]


def canonical_library(name: str) -> str:
    """The library an alias names (a library's own name is returned unchanged)."""
    return LIBRARY_ALIASES.get(name, name)

# Software zero-skip in FC/recurrent kernels: per input element a load and a
# compare-and-branch before the MAC loop over that row of weights. Cortex-M4 TRM: LDRB 2 cycles,
# CMP 1, a not-taken branch 1 -> 4 cycles on a single-issue core [derived from the TRM timings].
ZERO_CHECK_CYCLES = 4.0


@dataclass(frozen=True)
class NpuKernels:
    """Ethos-U cycle model constants: fraction of peak MACs per op kind at 32 MACs/cycle,
    falling as (macs_per_cycle / 32) ** -scale_exponent (wider arrays fill less of their
    blocks), and the weight compression of Vela's MLW encoder."""

    conv_efficiency: float
    depthwise_efficiency: float
    fc_efficiency: float
    scale_exponent: float
    vector_elements_per_mac_lane: float  # elementwise/pool ops per cycle per MAC lane
    dense_weight_ratio: float  # encoded / raw bytes for non-zero weights
    zero_weight_ratio: float  # encoded / raw bytes for zero weights
    source: str
    fitted_on: str = ""


NPU_KERNELS = NpuKernels(**CALIBRATION.npu_kernels.model_dump())
