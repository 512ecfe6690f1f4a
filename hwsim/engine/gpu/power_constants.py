"""The GPU power model's constants as the engine reads them: ``configs/calibration/gpu.yaml``,
validated by :class:`hwsim.config.calibration.GpuCalibration` (each constant says whether it
was fitted, on what, or why it is assumed). :mod:`hwsim.calibration.gpu` re-fits and writes it."""

from __future__ import annotations

from pathlib import Path

from hwsim.config.calibration import GpuCalibration
from hwsim.config.loading import read_yaml_file, validate
from hwsim.presets import calibration_path


def load_calibration(path: str | Path | None = None) -> GpuCalibration:
    """The GPU power constants of ``path`` (default: the shipped file) as it is now, validated."""
    path = Path(path) if path is not None else calibration_path("gpu")
    return validate(read_yaml_file(path), GpuCalibration, str(path))  # type: ignore[no-any-return]


GPU_CALIBRATION = load_calibration()
