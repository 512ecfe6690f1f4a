"""Re-fit the MCU core and NPU constants, and the leave-one-out checks of those fits.

The constants :mod:`hwsim.engine.mcu.library` reads from ``configs/calibration/mcu.yaml``
(:func:`write_calibration` writes that file from a re-fit) are fitted to the same MLPerf Tiny
and Vela figures ``hwsim validate mcu`` compares with, so in-sample agreement says the model
*can* fit. Leave-one-out says how well it predicts: re-fit without one model (or board, or
Vela config), predict the held-out figures. Measurements come in as arguments (the report
layer reads them from ``hwsim/data/reference/mcu``); nothing here holds reference data.

Core model (per kernel library, relative to a Cortex-M4): cycles = s_board * (F . theta) +
flash stalls, where F = (conv MACs, depthwise MACs, FC MACs, outputs, vector ops) per core
MAC rate and theta the five cycles-per-unit constants; it is linear in theta, so F is read off
the engine's own cost functions with unit constants. NPU model: the engine's
:func:`~hwsim.engine.mcu.npu.npu_cost` with candidate constants. Fits are log-space least
squares (scipy.optimize.least_squares), constants kept positive.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml
from scipy.optimize import least_squares

from hwsim.config.calibration import McuCalibration
from hwsim.config.chip import McuChip
from hwsim.engine.mcu.analytic import (
    fm_placements,
    kernel_kind,
    npu_weight_passes,
    tcm_resident,
)
from hwsim.engine.mcu.core import core_cost
from hwsim.engine.mcu.library import (
    CALIBRATION,
    CORE_FIELDS,
    CORE_KERNELS,
    NPU_KERNELS,
    SCALED_LIBRARIES,
    CoreKernels,
    NpuKernels,
)
from hwsim.engine.mcu.npu import ifm_bytes, npu_cost, weight_zero_fractions
from hwsim.hardware.chips import load_chip
from hwsim.mapping.primitives import lower
from hwsim.units import DTYPE_BYTES
from hwsim.workload.load import load_model

NPU_FIELDS = ("conv_efficiency", "depthwise_efficiency", "fc_efficiency", "scale_exponent",
              "vector_elements_per_mac_lane", "dense_weight_ratio", "zero_weight_ratio")
# The bound the stored tflm-reference fit sits on (its per-output cost, 100 cycles).
CORE_UPPER = 100.0

# Dhrystone per MHz of each board's core from its datasheet front page, used only as the
# prior for a board a leave-one-board-out fold has no measurement of (its core_cycle_scale =
# M4 DMIPS/MHz / its DMIPS/MHz): ST DS12023 STM32L4R5 150 DMIPS at 120 MHz; ST DS10916
# STM32F746 462 DMIPS at 216 MHz; ST STM32U575/585 overview 240 DMIPS at 160 MHz.
DMIPS_PER_MHZ = {"stm32l4r5-m4": 150 / 120, "stm32f746-m7": 462 / 216,
                 "stm32u585-m33": 240 / 160}

Measured = Mapping[tuple[str, str], Mapping[str, float]]  # (board, library) -> model -> value


@dataclass(frozen=True)
class CoreCase:
    board: str
    library: str
    model: str
    features: np.ndarray  # (5,) units of work per constant, at core_cycle_scale 1
    stall_cycles: float
    clock_hz: float


@dataclass(frozen=True)
class Heldout:
    """One held-out prediction: which fold, what was left out, measured vs predicted."""

    group: str  # "core:<library>" | "npu"
    left_out: str  # "model=kws" | "board=stm32f746-m7" | "config=ethos-u55-32"
    case: str  # board/config and model of the held-out figure
    measured: float
    predicted: float
    in_sample: float  # the full fit's value for the same figure

    @property
    def error(self) -> float:
        return self.predicted / self.measured - 1.0


@lru_cache(maxsize=64)
def core_case(board: str, library: str, model: str) -> CoreCase:
    chip = load_chip(board, overrides={"kernel_library": library, "core_cycle_scale": 1.0})
    m = load_model(f"mlperf-tiny-{model}")
    basis = [CoreKernels(*(1.0 if i == j else 0.0 for j in range(5)), source="basis")
             for i in range(5)]
    zero = CoreKernels(0.0, 0.0, 0.0, 0.0, 0.0, source="basis")
    feats = np.zeros(5)
    stall = 0.0
    tcm = tcm_resident(m, chip, 1)
    for op in m.ops:
        for w in lower(op, 1, DTYPE_BYTES["int8"]):
            kind = kernel_kind(op, w)
            for i, lib in enumerate(basis):
                feats[i] += core_cost(w, kind, chip, op.dtype, lib).compute_cycles
            stall += core_cost(w, kind, chip, op.dtype, zero,
                               weights_in_tcm=op.name in tcm).stall_cycles
    return CoreCase(board, library, model, feats, stall, chip.clock_hz)


def core_latency_ms(case: CoreCase, theta: np.ndarray, scale: float) -> float:
    return (scale * float(case.features @ theta) + case.stall_cycles) / case.clock_hz * 1e3


def _fit_core(cases: list[CoreCase], measured: list[float], fit_scales: list[str],
              fixed_scales: Mapping[str, float], x0: np.ndarray) -> tuple[np.ndarray,
                                                                        dict[str, float]]:
    """Fit theta (and the scales of ``fit_scales``) to ``measured`` ms, log space."""
    n = len(fit_scales)
    y = np.log(np.asarray(measured))

    def scales_of(p: np.ndarray) -> dict[str, float]:
        return {**fixed_scales, **{b: float(np.exp(p[5 + i])) for i, b in enumerate(fit_scales)}}

    def resid(p: np.ndarray) -> np.ndarray:
        theta, sc = np.exp(p[:5]), scales_of(p)
        return np.log([core_latency_ms(c, theta, sc[c.board]) for c in cases]) - y

    p0 = np.concatenate([np.log(x0), np.zeros(n)])
    hi = np.concatenate([np.full(5, np.log(CORE_UPPER)), np.full(n, np.log(4.0))])
    lo = np.concatenate([np.full(5, np.log(1e-4)), np.full(n, np.log(0.1))])
    r = least_squares(resid, np.clip(p0, lo + 1e-9, hi - 1e-9), bounds=(lo, hi))
    return np.exp(r.x[:5]), scales_of(r.x)


def _theta(lib: CoreKernels) -> np.ndarray:
    return np.array([getattr(lib, f) for f in CORE_FIELDS])


def _fit_factor(cases: list[CoreCase], measured: list[float], theta: np.ndarray) -> float:
    """The one factor on ``theta`` (the base library's constants) that best fits ``measured``
    ms on boards with their presets' core scales, log space."""
    scales = {c.board: load_chip(c.board).core_cycle_scale or 1.0 for c in cases}
    y = np.log(np.asarray(measured))

    def resid(p: np.ndarray) -> np.ndarray:
        return np.log([core_latency_ms(c, theta * np.exp(p[0]), scales[c.board])
                       for c in cases]) - y

    return float(np.exp(least_squares(resid, [0.0]).x[0]))


def scaled_heldout(library: str, base: str, measured: Measured) -> list[Heldout]:
    """Leave-one-model-out for a library calibrated as one factor on ``base``'s constants."""
    rows = [(b, m, v) for (b, lib), per in measured.items() if lib == library
            for m, v in per.items()]
    cases = [core_case(b, library, m) for b, m, _ in rows]
    theta = _theta(CORE_KERNELS[base])
    scales = {c.board: load_chip(c.board).core_cycle_scale or 1.0 for c in cases}
    full = _theta(CORE_KERNELS[library])
    out: list[Heldout] = []
    for (b, m, v), c in zip(rows, cases, strict=True):
        keep = [j for j in range(len(rows)) if rows[j][1] != m]
        f = _fit_factor([cases[j] for j in keep], [rows[j][2] for j in keep], theta)
        out.append(Heldout(f"core:{library}", f"model={m}", f"{b} {m}", v,
                           core_latency_ms(c, theta * f, scales[b]),
                           core_latency_ms(c, full, scales[b])))
    return out


def core_heldout(measured: Measured) -> list[Heldout]:
    """Leave-one-model-out (per library) and leave-one-board-out (libraries with several
    boards) predictions of MLPerf Tiny latency, in ms.

    Model folds fit the same free parameters as the stored fit (the five constants, plus the
    core scales of every board but the Cortex-M4 anchor). A board fold cannot fit the left-out
    board's core scale, and with the anchor left out the remaining scales trade off against
    the constants, so board folds take every board's scale from its datasheet DMIPS/MHz
    (:data:`DMIPS_PER_MHZ`) and fit only the five constants."""
    out: list[Heldout] = []
    for library in sorted({lib for _, lib in measured}):
        if library in SCALED_LIBRARIES:
            out += scaled_heldout(library, SCALED_LIBRARIES[library], measured)
            continue
        boards = sorted(b for b, lib in measured if lib == library)
        rows = [(b, m, v) for b in boards for m, v in measured[(b, library)].items()]
        cases = [core_case(b, library, m) for b, m, _ in rows]
        x0 = _theta(CORE_KERNELS[library])
        anchor = boards[0] if "stm32l4r5-m4" not in boards else "stm32l4r5-m4"
        free = [b for b in boards if b != anchor]
        full_t, full_s = _fit_core(cases, [v for *_, v in rows], free, {anchor: 1.0}, x0)
        full = {(c.board, c.model): core_latency_ms(c, full_t, full_s[c.board]) for c in cases}
        for model in sorted({m for _, m, _ in rows}):
            keep = [i for i, r in enumerate(rows) if r[1] != model]
            t, s = _fit_core([cases[i] for i in keep], [rows[i][2] for i in keep], free,
                             {anchor: 1.0}, x0)
            out += [Heldout(f"core:{library}", f"model={model}", f"{b} {m}", v,
                            core_latency_ms(c, t, s[b]), full[(b, m)])
                    for (b, m, v), c in zip(rows, cases, strict=True) if m == model]
        if len(boards) < 2:
            continue
        prior = {b: DMIPS_PER_MHZ["stm32l4r5-m4"] / DMIPS_PER_MHZ[b] for b in boards}
        for board in boards:
            keep = [i for i, r in enumerate(rows) if r[0] != board]
            t, _ = _fit_core([cases[i] for i in keep], [rows[i][2] for i in keep], [], prior,
                             x0)
            out += [Heldout(f"core:{library}", f"board={board}", f"{b} {m}", v,
                            core_latency_ms(c, t, prior[b]), full[(b, m)])
                    for (b, m, v), c in zip(rows, cases, strict=True) if b == board]
    return out


# ------------------------------------------------------------------------------------- NPU


@lru_cache(maxsize=64)
def _npu_works(config: str, model: str) -> tuple[McuChip, tuple[tuple[object, ...], ...]]:
    chip = load_chip(config)
    m = load_model(f"mlperf-tiny-{model}")
    zeros = weight_zero_fractions(m)
    works = tuple((w, kernel_kind(op, w), zeros.get(op.name, 0.0), npu_weight_passes(w, chip),
                   ifm_bytes(op, w), fm)
                  for op, fm in zip(m.ops, fm_placements(m, chip, 1), strict=True)
                  for w in lower(op, 1, DTYPE_BYTES["int8"]))
    return chip, works


def npu_cycles(config: str, model: str, k: NpuKernels = NPU_KERNELS) -> float:
    """Total NPU cycles of an MLPerf Tiny model on an Ethos-U preset with constants ``k``."""
    chip, works = _npu_works(config, model)
    assert chip.npu is not None
    return sum(npu_cost(w, kind, chip.npu, z, p, k, ifm, fm).cycles  # type: ignore[arg-type]
               for w, kind, z, p, ifm, fm in works)


def _npu_kernels(p: np.ndarray) -> NpuKernels:
    return dataclasses.replace(NPU_KERNELS, **dict(zip(NPU_FIELDS, np.exp(p), strict=True)),
                               source="re-fit")


def fit_npu(cases: list[tuple[str, str]], cycles: list[float]) -> NpuKernels:
    """Fit the seven NPU constants to Vela ``cycles`` of (model, config) ``cases``."""
    y = np.log(np.asarray(cycles, dtype=float))

    def resid(p: np.ndarray) -> np.ndarray:
        k = _npu_kernels(p)
        return np.log([npu_cycles(c, m, k) for m, c in cases]) - y

    p0 = np.log([getattr(NPU_KERNELS, f) for f in NPU_FIELDS])
    lo, hi = np.full(7, np.log(1e-4)), np.full(7, np.log(1.0))
    r = least_squares(resid, np.clip(p0, lo + 1e-9, hi - 1e-9), bounds=(lo, hi),
                      x_scale=1.0, max_nfev=200)
    return _npu_kernels(r.x)


def npu_heldout(vela: Mapping[str, Mapping[str, float]]) -> list[Heldout]:
    """Leave-one-model-out and leave-one-config-out predictions of Vela's total cycles."""
    cases = [(m, c) for m, per in vela.items() for c in per]
    values = [float(vela[m][c]) for m, c in cases]
    full = fit_npu(cases, values)
    out: list[Heldout] = []
    folds: list[tuple[str, Callable[[tuple[str, str]], bool]]] = (
        [(f"model={m}", lambda mc, m=m: mc[0] == m) for m in vela]
        + [(f"config={c}", lambda mc, c=c: mc[1] == c) for c in sorted({c for _, c in cases})])
    for name, held in folds:
        keep = [i for i, mc in enumerate(cases) if not held(mc)]
        k = fit_npu([cases[i] for i in keep], [values[i] for i in keep])
        out += [Heldout("npu", name, f"{c} {m}", values[i], npu_cycles(c, m, k),
                        npu_cycles(c, m, full))
                for i, (m, c) in enumerate(cases) if held((m, c))]
    return out


# ------------------------------------------------------------------------------ the file

HEADER = ("# Fitted constants of the MCU core and Ethos-U NPU cost models (schema: "
          "hwsim/config/calibration.py).\n# Written by hwsim.calibration.mcu.write_calibration; "
          "read by hwsim/engine/mcu/library.py.\n")


def write_calibration(path: str | Path, *, core: Mapping[str, CoreKernels] | None = None,
                      npu: NpuKernels | None = None,
                      base: McuCalibration = CALIBRATION) -> McuCalibration:
    """Write the calibration file the engine reads: ``base`` (the stored constants) with the
    re-fitted ``core`` libraries and ``npu`` constants in place, each with its ``source`` and
    ``fitted_on`` (a re-fit must say what it was fitted on: empty ``fitted_on`` is refused).
    Returns the validated document."""
    doc = base.model_dump(mode="json")
    for library, k in (core or {}).items():
        doc["core_kernels"][library] = {**{f: float(getattr(k, f)) for f in CORE_FIELDS},
                                        "source": k.source, "fitted_on": k.fitted_on}
    if npu is not None:
        doc["npu_kernels"] = {**{f: float(getattr(npu, f)) for f in NPU_FIELDS},
                              "source": npu.source, "fitted_on": npu.fitted_on}
    checked = McuCalibration.model_validate(doc)
    text = yaml.safe_dump(checked.model_dump(mode="json"), sort_keys=False, width=100,
                          allow_unicode=True)
    Path(path).write_text(HEADER + text, encoding="utf-8")
    return checked
