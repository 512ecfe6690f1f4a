"""configs/calibration/mcu.yaml: the MCU's fitted constants as data, each with what it was
fitted on; the engine reads it, hwsim.calibration.mcu writes it, the presets agree with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hwsim.calibration.mcu import write_calibration
from hwsim.config.calibration import McuCalibration
from hwsim.config.loading import read_yaml_file, validate
from hwsim.engine.mcu.library import CALIBRATION, CORE_FIELDS, CORE_KERNELS, NPU_KERNELS
from hwsim.errors import HwsimError
from hwsim.hardware.chips import load_chip
from hwsim.presets import calibration_path


def test_every_fitted_constant_names_what_it_was_fitted_on() -> None:
    fits = [*CALIBRATION.core_kernels.values(), *CALIBRATION.scaled_libraries.values(),
            *CALIBRATION.core_cycle_scales.values(), CALIBRATION.npu_kernels]
    for fit in fits:
        assert fit.source.strip() and fit.fitted_on.strip()
        assert "hwsim/data/reference/mcu/" in fit.fitted_on  # the measurements are reference data


def test_engine_constants_come_from_the_file() -> None:
    vendor = CALIBRATION.core_kernels["plumerai-2022"]
    assert CORE_KERNELS["vendor-optimized"].fc_cycles_per_mac == vendor.fc_cycles_per_mac
    factor = CALIBRATION.scaled_libraries["cmsis-nn"].factor
    for f in CORE_FIELDS:
        assert getattr(CORE_KERNELS["cmsis-nn"], f) == factor * getattr(vendor, f)
    assert NPU_KERNELS.scale_exponent == CALIBRATION.npu_kernels.scale_exponent


def test_presets_carry_the_fitted_core_cycle_scales() -> None:
    for fit in CALIBRATION.core_cycle_scales.values():
        for chip in fit.chips:
            assert load_chip(chip).core_cycle_scale == fit.value, chip


def test_the_fitting_code_writes_the_same_file(tmp_path: Path) -> None:
    out = tmp_path / "mcu.yaml"
    assert write_calibration(out) == CALIBRATION
    assert validate(read_yaml_file(out), McuCalibration, str(out)) == CALIBRATION
    stored = validate(read_yaml_file(calibration_path("mcu")), McuCalibration, "mcu.yaml")
    assert stored == CALIBRATION


def test_a_refit_without_provenance_is_refused(tmp_path: Path) -> None:
    import dataclasses

    from pydantic import ValidationError

    blank = dataclasses.replace(NPU_KERNELS, fitted_on="")
    with pytest.raises(ValidationError, match="fitted_on"):
        write_calibration(tmp_path / "mcu.yaml", npu=blank)


def test_a_bad_file_names_the_field(tmp_path: Path) -> None:
    doc = read_yaml_file(calibration_path("mcu"))
    doc["npu_kernels"]["fc_efficiency"] = -1
    with pytest.raises(HwsimError, match=r"npu_kernels\.fc_efficiency"):
        validate(doc, McuCalibration, str(tmp_path / "mcu.yaml"))
