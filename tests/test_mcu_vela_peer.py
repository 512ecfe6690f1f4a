"""Peer check: the cached Vela 5.2.0 figures in tests/reference/mcu still match a live Vela.

Runs Vela 16 times (4 MLPerf Tiny models x U55-32/128/256, U65-256; about 10 s), then the 44
memory-mode and product runs (about 40 s). Skipped when
the dev extra (ethos-u-vela==5.2.0) is not installed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.peers.vela_runner import VelaUnavailable, require_vela

HERE = Path(__file__).resolve().parent


@pytest.mark.peer
def test_cached_vela_outputs_match_live_vela() -> None:
    try:
        require_vela()
    except VelaUnavailable as e:
        pytest.skip(str(e))
    path = HERE / "reference" / "mcu" / "make_vela_reference.py"
    spec = importlib.util.spec_from_file_location("make_vela_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    summary, layers = module.render()
    assert summary == (HERE / "reference" / "mcu" / "vela_summary.csv").read_text(), \
        "Vela's totals changed: rerun make_vela_reference.py and re-fit NPU_KERNELS"
    assert layers == (HERE / "reference" / "mcu" / "vela_per_layer.csv").read_text()


@pytest.mark.peer
def test_cached_memory_mode_runs_match_live_vela() -> None:
    """The 44 held-out runs across memory modes and products (about 40 s)."""
    try:
        require_vela()
    except VelaUnavailable as e:
        pytest.skip(str(e))
    path = HERE / "reference" / "mcu" / "make_vela_memory_modes.py"
    spec = importlib.util.spec_from_file_location("make_vela_memory_modes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.render() == (HERE / "reference" / "mcu" / "vela_memory_modes.csv").read_text(), \
        "Vela's memory-mode runs changed: rerun make_vela_memory_modes.py"
