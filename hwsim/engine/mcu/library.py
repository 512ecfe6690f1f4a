"""Kernel-library calibration for MCU cores and the Ethos-U NPU model, with their sources.

Every constant here is *fitted*, not taken from a datasheet. The figures they were fitted on
are reference data, kept out of the engine in ``hwsim/data/reference/mcu/`` (MLPerf Tiny latency and
energy with their result-file paths, Vela 5.2.0 cycle estimates with the command that made
them; see SOURCES.md there). :mod:`hwsim.calibration.mcu` re-does the fits (and the
leave-one-out checks ``hwsim validate mcu`` prints); ``tests/test_mcu.py`` checks how close the
model lands. Re-fit them together when the model's form changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

KernelLibrary = Literal["tflm-reference", "cmsis-nn", "vendor-optimized"]

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


# Least-squares fit in log space (scipy.optimize.least_squares) of
#   cycles = s_core * (conv*a + dw*b + fc*c + outputs*d + vector_ops*e) + fc_weight_bytes*flash
# to MLPerf Tiny latency (hwsim/data/reference/mcu/mlperf_tiny_latency.csv);
# flash = (wait states + 1) / flash_line_bytes of each board's preset.
CORE_KERNELS: dict[str, CoreKernels] = {
    "tflm-reference": CoreKernels(
        6.076, 5.167, 3.557, 100.0, 0.051,
        source="fitted to MLPerf Tiny v0.5 reference submission (TFLM 2.3.1 reference kernels,"
               " Nucleo-L4R5ZI, 120 MHz): 4 models, 4 measurements; per-output cost at the "
               "fit's upper bound of 100 cycles"),
    "vendor-optimized": CoreKernels(
        1.475, 3.635, 2.463, 41.97, 0.552,
        source="fitted to MLPerf Tiny v1.0 Plumerai submissions (L4R5 M4 120 MHz, F746 M7 "
               "216 MHz, U585 M33 160 MHz): 12 measurements, with core_cycle_scale of M7 and "
               "M33 fitted jointly"),
    # No CMSIS-NN submission is in the calibration set; CMSIS-NN is an optimised SIMD library
    # like Plumerai's, so it takes the vendor-optimized fit [uncalibrated assumption].
    "cmsis-nn": CoreKernels(
        1.475, 3.635, 2.463, 41.97, 0.552,
        source="[uncalibrated] vendor-optimized fit reused: no CMSIS-NN measurement in the "
               "calibration set"),
}

# Core cycle scales fitted with the vendor-optimized constants (relative to Cortex-M4 = 1).
CORE_CYCLE_SCALE_M7 = 0.579  # STM32F746 (dual-issue M7 with L1 caches)
CORE_CYCLE_SCALE_M33 = 0.801  # STM32U585 (M33 with ICACHE/DCACHE)

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


NPU_KERNELS = NpuKernels(
    conv_efficiency=0.8837, depthwise_efficiency=0.0588, fc_efficiency=0.0409,
    scale_exponent=0.2499, vector_elements_per_mac_lane=0.0054,
    dense_weight_ratio=0.8241, zero_weight_ratio=0.1305,
    source="fitted (log-space least squares) to Vela 5.2.0 cycles_total with its "
           "internal-default system configs on the four MLPerf Tiny models x U55-32/128/256 and "
           "U65-256 (16 figures, hwsim/data/reference/mcu/vela_summary.csv); the fit also had a "
           "per-op cost (4741 cycles) that the cost model never used, so 7 constants act; "
           "per-op zero-weight fractions from the presets' import comments. The vector rate is "
           "small because it also absorbs the fixed cost of Vela's pooling/softmax passes on "
           "tiny tensors")
