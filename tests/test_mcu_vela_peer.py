"""Peer check: the cached Vela 5.2.0 figures in hwsim/data/reference/mcu still match a live Vela.

Runs Vela 16 times (4 MLPerf Tiny models x U55-32/128/256, U65-256; about 10 s), then the 44
memory-mode and product runs (about 40 s). Skipped when
the dev extra (ethos-u-vela==5.2.0) is not installed.
"""

from __future__ import annotations

import importlib

import pytest

from hwsim.presets import reference_dir
from tests.peers.vela_runner import VelaUnavailable, require_vela


@pytest.mark.peer
def test_cached_vela_outputs_match_live_vela() -> None:
    try:
        require_vela()
    except VelaUnavailable as e:
        pytest.skip(str(e))
    module = importlib.import_module("hwsim.data.reference.mcu.make_vela_reference")
    summary, layers = module.render()
    assert summary == (reference_dir("mcu") / "vela_summary.csv").read_text(), \
        ("Vela's totals changed: rerun hwsim.data.reference.mcu.make_vela_reference and "
         "re-fit the NPU constants (configs/calibration/mcu.yaml)")
    assert layers == (reference_dir("mcu") / "vela_per_layer.csv").read_text()


@pytest.mark.peer
def test_cached_memory_mode_runs_match_live_vela() -> None:
    """The 44 held-out runs across memory modes and products (about 40 s)."""
    try:
        require_vela()
    except VelaUnavailable as e:
        pytest.skip(str(e))
    module = importlib.import_module("hwsim.data.reference.mcu.make_vela_memory_modes")
    assert module.render() == (reference_dir("mcu") / "vela_memory_modes.csv").read_text(), \
        "Vela's memory-mode runs changed: rerun hwsim.data.reference.mcu.make_vela_memory_modes"
