"""Fits a GPU's energy per DRAM byte (``offchip.energy_pj_per_byte``) on the power readings of
its memory-bound GEMMs in ``aiconfigurator_sustained_gemm_fit.csv`` (FITTING rows, no held-out
shape):

    python -m hwsim.calibration.offchip_energy_fit [--write]

prints, per GPU, the fitted whole-path energy per byte, the spread of the per-row estimates and
whether the fit is determinate; ``--write`` puts each determinate value into its preset's
``offchip`` line, keeping every other line. A test refits and compares.

Why: without a value of its own a GPU's energy per DRAM byte is the tech table's per-bit device
energy for its memory kind times one path multiplier fitted on the H100's decode power
(``configs/calibration/gpu.yaml`` ``hbm3_energy_scale``, ML.ENERGY rows): about 66 pJ per byte
on the H100's HBM3 and, through the table's 0.65x HBM3 -> HBM3E step, about 43 on the H200's
and B200's HBM3E. The H200 is the H100's die with HBM3E; its own power table says its memory
path costs about what the H100's does, not 0.65x of it.

Rows used, per GPU, the same rule for every GPU (settled on these fitting rows: the group rule
after seeing that a group's first reading holds the host's setup, the selection at boost so it
does not move with the fitted value; no held-out figure was computed with a fitted value
before the rule and the determinacy threshold below were fixed):

- hwsim's model of the shape at boost is bound by DRAM (its bottleneck is ``offchip`` with
  ``sustained_load`` off, so the choice does not move with the fitted energy), so the reading
  is mostly idle, active and memory power;
- the reading holds at least 0.4 of the kernel (:func:`hwsim.validation.nvml_sampling.
  kernel_weight` >= 0.4: replays of about half a second or more);
- the shape does not open its (M, N) group in the collector's sweep (``opens_group`` false):
  the rest of such a reading is the second before the replays, which for a group's first case
  held the host setting up new weights (idle), for the others the same group's previous K (in
  each dtype the collector runs, ``collect_gemm.py``) at about the same power ([assumption]: so
  the reading is taken as the kernel's power).

What is fitted: the energy per byte at which hwsim's power of the kernel at its *measured*
time (idle and active power, plus every action's energy, DRAM bytes at the candidate energy,
over the measured time: the "power at measured time" of ``hwsim.validation.gpu_kernel_power``,
which keeps hwsim's timing error out) matches the reading, with the fit protocol of
:mod:`hwsim.calibration.fit` (log ratio, soft_l1), one parameter per GPU. The context
assumption can only bias the reading low (a setup second draws less than a GEMV), so a fitted
value is a lower bound of the path's energy.

Determinacy: each row's own estimate (the energy per byte that matches it alone) is computed as
well; a GPU's fitted value is written only when those estimates' interquartile range is at most
half their median (``MAX_SPREAD``). A GPU whose rows scatter more keeps the default: its
readings do not pin one energy per byte. (The threshold was set after seeing the two GPUs'
spreads, 0.17 and 1.26; any value between them gives the same outcome.)
"""

from __future__ import annotations

import csv
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from hwsim.calibration.fit import FitProblem, FitResult, Param, fit, wants_write
from hwsim.calibration.preset_write import write_preset_mapping_key
from hwsim.engine.gpu.energy import gpu_energy
from hwsim.engine.simulate import simulate
from hwsim.hardware.chips import load_chip
from hwsim.presets import reference_dir
from hwsim.validation.aiconfigurator import GRAPH_REPLAY, timed_as
from hwsim.validation.nvml_sampling import kernel_weight
from hwsim.workload.load import gemm

FIT_FILE = "aiconfigurator_sustained_gemm_fit.csv"
PRESETS = ("h200-sxm", "b200-sxm")
FIELD = "offchip.energy_pj_per_byte"
MIN_KERNEL_WEIGHT = 0.4
# A determinate fit: per-row estimates' interquartile range at most this share of their median.
MAX_SPREAD = 0.5
# The fit's bounds, pJ per byte: wide around every DRAM kind's path (the tech table's device
# figures alone are 31-60 pJ per byte; the H100's fitted path ~66), up to ten times the H100's.
LOWER_PJ, UPPER_PJ = 5.0, 650.0
# Actions whose energy is power x time rather than per action (their power holds per second).
TIME_PROPORTIONAL = ("static", "active")
PJ = 1e-12


def _param(preset: str) -> Param:
    return Param(f"{FIELD}:{preset}", 42.5, LOWER_PJ, UPPER_PJ, "pJ per byte",
                 f"energy per byte between {preset} and its DRAM, whole path")


def _shape(row: Mapping[str, object]) -> tuple[int, int, int]:
    return int(str(row["m"])), int(str(row["n"])), int(str(row["k"]))


@cache
def _power_at_measured_time(preset: str, shape: tuple[int, int, int], framework: str,
                            measured_s: float, energy_pj: float | None) -> tuple[float, float]:
    """hwsim's power of the kernel spread over its measured time (W), and its DRAM bytes."""
    harness = timed_as(GRAPH_REPLAY, framework, preset)
    if energy_pj is not None:
        harness = harness | {FIELD: energy_pj}
    res = simulate(gemm(*shape, dtype="bf16"), preset, chip_overrides=harness)
    total = res.total
    per_second_w = sum(total.energy_breakdown_j.get(k, 0.0) for k in TIME_PROPORTIONAL
                       ) / total.latency_s
    action_j = total.energy_j - per_second_w * total.latency_s
    return per_second_w + action_j / measured_s, float(res.ops[0].bytes.get("offchip", 0.0))


def _row_power(row: Mapping[str, object], energy_pj: float | None) -> tuple[float, float]:
    return _power_at_measured_time(str(row["preset"]), _shape(row),
                                   str(row["sustained_framework"]), _measured_s(row), energy_pj)


def _measured_s(row: Mapping[str, object]) -> float:
    return float(str(row["sustained_latency_us"])) * 1e-6


def selected(row: Mapping[str, object]) -> bool:
    """Whether a fitting row enters the fit (module docstring)."""
    if str(row["opens_group"]) != "false":
        return False
    replay_s = _measured_s(row) * int(str(row["ops_per_replay"]))
    if kernel_weight(replay_s) < MIN_KERNEL_WEIGHT:
        return False
    return _boost_bottleneck(str(row["preset"]), _shape(row),
                             str(row["sustained_framework"])) == "offchip"


@cache
def _boost_bottleneck(preset: str, shape: tuple[int, int, int], framework: str) -> str:
    """What bounds the shape at boost, unthrottled (so the selection does not move with the
    energy being fitted, which can push a row over the limit)."""
    harness = timed_as(GRAPH_REPLAY, framework, preset) | {"sustained_load": False}
    return simulate(gemm(*shape, dtype="bf16"), preset, chip_overrides=harness).ops[0].bottleneck


def read_rows(presets: tuple[str, ...] = PRESETS) -> tuple[dict[str, object], ...]:
    """The selected rows, each with ``measured`` = its power reading (W)."""
    out = []
    with open(reference_dir("gpu") / FIT_FILE, newline="") as fh:
        for i, r in enumerate(csv.DictReader(fh), start=2):
            if r["preset"] in presets and selected(r):
                out.append(dict(r) | {"measured": float(r["power_w"]),
                                      "source": f"hwsim/data/reference/gpu/{FIT_FILE}:{i}"})
    return tuple(out)


def predict(values: Mapping[str, float], row: Mapping[str, object]) -> float:
    """hwsim's power at the row's measured time with the candidate energy per byte."""
    return _row_power(row, float(values[f"{FIELD}:{row['preset']}"]))[0]


def _depends(row: Mapping[str, object]) -> frozenset[str]:
    return frozenset({f"{FIELD}:{row['preset']}"})


def problem(rows: tuple[dict[str, object], ...] | None = None) -> FitProblem:
    rows = rows if rows is not None else read_rows()
    present = tuple(p for p in PRESETS if any(r["preset"] == p for r in rows))
    return FitProblem(name="offchip_energy", params=tuple(_param(p) for p in present),
                      rows=rows, predict=predict, depends=_depends)


def row_estimate_pj(row: Mapping[str, object], default_pj: float) -> float:
    """The energy per byte (pJ) at which hwsim's power matches this row alone: the reading less
    the non-DRAM power (hwsim's at the preset's ``default_pj``), over the DRAM bytes per measured
    second (power is linear in it below the limit, as every selected row is)."""
    power_w, dram_bytes = _row_power(row, None)
    non_dram_w = power_w - dram_bytes * default_pj * PJ / _measured_s(row)
    return (float(str(row["measured"])) - non_dram_w) * _measured_s(row) / dram_bytes / PJ


def _default_pj(preset: str) -> float:
    """The shipped preset's energy per DRAM byte, pJ."""
    return gpu_energy(load_chip(preset)).dram_j_per_byte / PJ


@dataclass(frozen=True)
class GpuFit:
    preset: str
    rows: int
    energy_pj_per_byte: float
    estimates_median_pj: float
    estimates_iqr_pj: float
    default_pj: float

    @property
    def spread(self) -> float:
        """Interquartile range of the per-row estimates over their median."""
        return self.estimates_iqr_pj / abs(self.estimates_median_pj)

    @property
    def determinate(self) -> bool:
        return self.estimates_median_pj > 0 and self.spread <= MAX_SPREAD


def fit_offchip_energy() -> tuple[FitResult, tuple[GpuFit, ...]]:
    """The fit the presets' values come from, and each GPU's determinacy."""
    prob = problem()
    result = fit(prob)
    gpus = []
    for p in PRESETS:
        rows = [r for r in prob.rows if r["preset"] == p]
        if not rows:
            continue
        default_pj = _default_pj(p)
        est = sorted(row_estimate_pj(r, default_pj) for r in rows)
        q1, _, q3 = statistics.quantiles(est, n=4) if len(est) > 1 else (est[0],) * 3
        gpus.append(GpuFit(p, len(rows), result.values[f"{FIELD}:{p}"], statistics.median(est),
                           q3 - q1, default_pj))
    return result, tuple(gpus)


def write_presets(gpus: tuple[GpuFit, ...]) -> dict[str, float]:
    """Put each determinate GPU's value into its preset's ``offchip`` mapping (one line)."""
    written = {g.preset: round(g.energy_pj_per_byte, 1) for g in gpus if g.determinate}
    write_preset_mapping_key(written, "offchip", "energy_pj_per_byte")
    return written


def main(argv: list[str] | None = None) -> None:
    write = wants_write(__doc__, argv, "the determinate presets' offchip lines")
    result, gpus = fit_offchip_energy()
    for g in gpus:
        verdict = "determinate" if g.determinate else "not determinate: default kept"
        print(f"{g.preset}: {g.energy_pj_per_byte:.1f} pJ/B fitted on {g.rows} rows "
              f"(per-row estimates median {g.estimates_median_pj:.1f}, interquartile range "
              f"{g.estimates_iqr_pj:.1f} = {g.spread:.2f} of it; default "
              f"{g.default_pj:.1f}): {verdict}")
    print(f"median |error| {result.median_abs_error:.4f} on {result.rows} rows of {FIT_FILE}")
    if write:
        print(f"written: {write_presets(gpus)}")


if __name__ == "__main__":
    main()
