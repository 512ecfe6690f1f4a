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


def step_cost(row: PowerRow, energy: GpuEnergy) -> tuple[float, float]:
    """``(time_s, energy_j)`` of one step of ``row`` (its prefill share included)."""
    _, total = simulate_gpu(row.model, row.chip, row.batch, energy=energy)
    time_s, energy_j = total.latency_s, total.energy_j
    if row.prefill is not None and row.prefills_per_step > 0:
        _, pre = simulate_gpu(row.prefill, row.chip, 1, energy=energy)
        time_s += row.prefills_per_step * pre.latency_s
        energy_j += row.prefills_per_step * pre.energy_j
    return time_s, energy_j


def predicted_power_w(row: PowerRow, active_power_fraction: float,
                      hbm3_energy_scale: float = 1.0) -> float:
    """The engine's average power for ``row`` with given power constants."""
    time_s, energy_j = step_cost(row, calibrate_energy(row.chip, active_power_fraction,
                                                       hbm3_energy_scale))
    return energy_j / time_s


def power_problem(rows: Sequence[PowerRow], x0: tuple[float, float] = (0.3, 1.0),
                  source: str = "power row") -> FitProblem:
    """The power fit as a :class:`hwsim.calibration.fit.FitProblem`: ``active_power_fraction``
    and ``hbm3_energy_scale`` against measured average power, each row simulated by the
    engine. The two separate on decode rows because the HBM term scales with bytes per second,
    which differs between models and batches, while the active term does not."""
    params = (
        Param("active_power_fraction", min(max(x0[0], FRACTION_BOUNDS[0]), FRACTION_BOUNDS[1]),
              *FRACTION_BOUNDS, "fraction of tdp_w - idle_power_w",
              "busy power beyond idle at the boost clock"),
        Param("hbm3_energy_scale",
              min(max(x0[1], HBM3_SCALE_BOUNDS[0]), HBM3_SCALE_BOUNDS[1]),
              *HBM3_SCALE_BOUNDS, "x configs/tech hbm3 pJ/bit", "HBM3 energy per bit scale"))
    mapped = tuple({"preset": r.chip.name, "measured": r.measured_w,
                    "source": f"{source}: {r.label}", "row": r} for r in rows)

    def predict(values: Mapping[str, float], row: Mapping[str, object]) -> float:
        return predicted_power_w(row["row"], values["active_power_fraction"],  # type: ignore[arg-type]
                                 values["hbm3_energy_scale"])

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
                      base: GpuCalibration = GPU_CALIBRATION) -> GpuCalibration:
    """Write the file the engine reads: ``base`` with the re-fitted constant in place (a
    fitted constant without ``fitted_on`` is refused by the schema). Returns the document."""
    doc = base.model_dump(mode="json")
    if active_power_fraction is not None:
        doc["active_power_fraction"] = active_power_fraction.model_dump(mode="json")
    if hbm3_energy_scale is not None:
        doc["hbm3_energy_scale"] = hbm3_energy_scale.model_dump(mode="json")
    checked = GpuCalibration.model_validate(doc)
    text = yaml.safe_dump(checked.model_dump(mode="json"), sort_keys=False, width=100,
                          allow_unicode=True)
    Path(path).write_text(HEADER + text, encoding="utf-8")
    return checked
