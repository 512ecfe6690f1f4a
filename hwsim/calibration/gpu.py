"""The GPU power model's constants (``configs/calibration/gpu.yaml``): load them, re-fit them.

:mod:`hwsim.engine.gpu.energy` reads :data:`GPU_CALIBRATION`. :func:`fit_active_power_fraction`
and :func:`fit_power_constants` re-fit the power constants to measured average kernel (or
decode-step) powers through the GPU fitting protocol (:mod:`hwsim.calibration.fit`: scipy
least squares in log space), running the engine itself for every candidate, so a fitted value
reproduces with the code that uses it. Measurements come in as arguments; nothing here holds
reference data. :func:`write_calibration` writes the file back,
refusing a fitted constant that does not name its rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from hwsim.calibration.fit import FitProblem, Param, fit
from hwsim.config.calibration import GpuCalibration, GpuPowerConstant
from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.analytic import simulate_gpu
from hwsim.engine.gpu.energy import GpuEnergy, calibrate_energy
from hwsim.engine.gpu.power_constants import GPU_CALIBRATION, load_calibration
from hwsim.engine.result import Total
from hwsim.workload.model import Model

__all__ = ["GPU_CALIBRATION", "PowerRow", "fit_active_power_fraction", "fit_power_constants",
           "load_calibration", "power_problem", "predicted_power_w", "step_cost",
           "write_calibration"]

# The fraction is of the TDP headroom; the fit stays strictly inside it.
FRACTION_BOUNDS = (1e-4, 0.95)
# The HBM per-bit scale: from a tenth to ten times the tech table's cited value.
HBM3_SCALE_BOUNDS = (0.1, 10.0)


@dataclass(frozen=True)
class PowerRow:
    """One measured average power: a workload on a GPU at a batch. A serving run's steady
    state also prefills the requests that replace finished ones: ``prefill`` (one request's
    prompt) runs ``prefills_per_step`` times per step of ``model`` (batch / mean output tokens)."""

    chip: GpuChip
    model: Model
    batch: int
    measured_w: float
    label: str  # names the row in fitted_on: file and row
    prefill: Model | None = None
    prefills_per_step: float = 0.0
    # A serving row's measured energy per output token (J) and mean step time (s: average
    # batch / output tokens per second). With them the fit matches energy at the measured
    # step time (:func:`power_problem`); without them, average power at the modelled time.
    measured_j_per_token: float | None = None
    measured_step_s: float | None = None


def _step_parts(row: PowerRow, energy: GpuEnergy) -> list[tuple[Total, float]]:
    """The engine's totals of one step of ``row``, each with its weight: the decode step, and
    its share of a prefill when the row has one."""
    _, total = simulate_gpu(row.model, row.chip, row.batch, energy=energy)
    parts = [(total, 1.0)]
    if row.prefill is not None and row.prefills_per_step > 0:
        _, pre = simulate_gpu(row.prefill, row.chip, 1, energy=energy)
        parts.append((pre, row.prefills_per_step))
    return parts


def step_cost(row: PowerRow, energy: GpuEnergy) -> tuple[float, float]:
    """``(time_s, energy_j)`` of one step of ``row`` (its prefill share included)."""
    parts = _step_parts(row, energy)
    return (sum(w * t.latency_s for t, w in parts), sum(w * t.energy_j for t, w in parts))


def action_energy_j(row: PowerRow, energy: GpuEnergy) -> float:
    """Energy of one step of ``row`` (prefill share included) spent by its actions - math and
    memory traffic - without the time-proportional idle and active power."""
    return sum(w * (t.energy_j - t.energy_breakdown_j["static"] - t.energy_breakdown_j["active"])
               for t, w in _step_parts(row, energy))


def energy_at_measured_time_j(row: PowerRow, energy: GpuEnergy) -> float:
    """A step's energy with its actions costed by the engine and idle + active power drawn over
    the *measured* step time. Fitting this keeps step-time errors of other kernels (which the
    power constants cannot fix) out of the power constants; decode steps run unthrottled, so
    active power is taken at the preset clock."""
    if row.measured_step_s is None:
        raise ValueError(f"{row.label}: no measured step time")
    busy_w = energy.idle_w + energy.active_power_w(row.chip.clock_hz)
    return action_energy_j(row, energy) + busy_w * row.measured_step_s


def predicted_power_w(row: PowerRow, active_power_fraction: float,
                      hbm3_energy_scale: float = 1.0) -> float:
    """The engine's average power for ``row`` with given power constants."""
    time_s, energy_j = step_cost(row, calibrate_energy(row.chip, active_power_fraction,
                                                       hbm3_energy_scale))
    return energy_j / time_s


def power_problem(rows: Sequence[PowerRow], x0: tuple[float, float] = (0.3, 1.0),
                  source: str = "power row") -> FitProblem:
    """The power fit as a :class:`hwsim.calibration.fit.FitProblem`: ``active_power_fraction``
    and ``hbm3_energy_scale``, each row simulated by the engine. A row with a measured step
    time is matched on its energy per output token with idle and active power drawn over that
    measured time (:func:`energy_at_measured_time_j`): measured power and energy per token of a
    serving run are then one quantity, and the per-action energies are not bent to absorb a
    step-time error of some kernel (with the modelled time, every such error moved into the
    power constants: the active term fell to its bound). Other rows match average power at
    the modelled time. The two constants separate because the HBM term scales with bytes per
    step, which differs between models, batches and contexts, while the active term follows
    time."""
    params = (
        Param("active_power_fraction", min(max(x0[0], FRACTION_BOUNDS[0]), FRACTION_BOUNDS[1]),
              *FRACTION_BOUNDS, "fraction of tdp_w - idle_power_w",
              "busy power beyond idle at the boost clock"),
        Param("hbm3_energy_scale",
              min(max(x0[1], HBM3_SCALE_BOUNDS[0]), HBM3_SCALE_BOUNDS[1]),
              *HBM3_SCALE_BOUNDS, "x configs/tech hbm3/hbm3e pJ/bit",
              "HBM3-generation energy per bit scale"))
    mapped = tuple(
        {"preset": r.chip.name, "source": f"{source}: {r.label}", "row": r,
         "measured": r.measured_w if r.measured_step_s is None or r.measured_j_per_token is None
         else r.measured_j_per_token} for r in rows)

    def predict(values: Mapping[str, float], row: Mapping[str, object]) -> float:
        r: PowerRow = row["row"]  # type: ignore[assignment]
        energy = calibrate_energy(r.chip, values["active_power_fraction"],
                                  values["hbm3_energy_scale"])
        if r.measured_step_s is None or r.measured_j_per_token is None:
            time_s, energy_j = step_cost(r, energy)
            return energy_j / time_s
        return energy_at_measured_time_j(r, energy) / r.batch

    return FitProblem("gpu_power", params, mapped, predict)


def fit_power_constants(rows: Sequence[PowerRow], x0: tuple[float, float] = (0.3, 1.0)
                        ) -> tuple[float, float]:
    """``(active_power_fraction, hbm3_energy_scale)`` fitted on ``rows`` by
    :func:`hwsim.calibration.fit.fit` (log power, soft_l1, bounded to :data:`FRACTION_BOUNDS`
    and :data:`HBM3_SCALE_BOUNDS`)."""
    if not rows:
        raise ValueError("no power rows to fit on")
    values = fit(power_problem(rows, x0)).values
    return values["active_power_fraction"], values["hbm3_energy_scale"]


def fit_active_power_fraction(rows: Sequence[PowerRow], x0: float = 0.3) -> float:
    """The fraction alone (HBM3 scale 1) by :func:`hwsim.calibration.fit.fit`."""
    if not rows:
        raise ValueError("no power rows to fit on")
    param = Param("active_power_fraction", min(max(x0, FRACTION_BOUNDS[0]), FRACTION_BOUNDS[1]),
                  *FRACTION_BOUNDS, "fraction of tdp_w - idle_power_w", "busy power beyond idle")
    mapped = tuple({"preset": r.chip.name, "measured": r.measured_w, "source": r.label,
                    "row": r} for r in rows)

    def predict(values: Mapping[str, float], row: Mapping[str, object]) -> float:
        return predicted_power_w(row["row"], values["active_power_fraction"])  # type: ignore[arg-type]

    return fit(FitProblem("gpu_active_power", (param,), mapped, predict)).values[
        "active_power_fraction"]


HEADER = ("# Constants of the GPU power model (schema: hwsim/config/calibration.py, "
          "GpuCalibration).\n# Written by hwsim.calibration.gpu.write_calibration; read by "
          "hwsim/engine/gpu/energy.py.\n")


def write_calibration(path: str | Path, *, active_power_fraction: GpuPowerConstant | None = None,
                      hbm3_energy_scale: GpuPowerConstant | None = None,
                      power_response_s: GpuPowerConstant | None = None,
                      dvfs_voltage_slope: GpuPowerConstant | None = None,
                      dvfs_min_voltage_ratio: GpuPowerConstant | None = None,
                      kernels: dict[str, GpuPowerConstant] | None = None,
                      base: GpuCalibration | None = None) -> GpuCalibration:
    """Write the file the engine reads: ``base`` (default: the file as it is on disk now, or
    the shipped constants for a new file, so fits written one after another in one process
    keep each other's values) with the re-fitted constants in place (a fitted constant without
    ``fitted_on`` is refused by the schema). Returns the document."""
    if base is None:
        base = load_calibration(path) if Path(path).exists() else GPU_CALIBRATION
    doc = base.model_dump(mode="json")
    for name, constant in (("active_power_fraction", active_power_fraction),
                           ("hbm3_energy_scale", hbm3_energy_scale),
                           ("power_response_s", power_response_s),
                           ("dvfs_voltage_slope", dvfs_voltage_slope),
                           ("dvfs_min_voltage_ratio", dvfs_min_voltage_ratio)):
        if constant is not None:
            doc[name] = constant.model_dump(mode="json")
    for name, constant in (kernels or {}).items():
        doc["kernels"][name] = constant.model_dump(mode="json")
    checked = GpuCalibration.model_validate(doc)
    text = yaml.safe_dump(checked.model_dump(mode="json"), sort_keys=False, width=100,
                          allow_unicode=True)
    Path(path).write_text(HEADER + text, encoding="utf-8")
    return checked
