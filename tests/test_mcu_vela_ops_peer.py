"""Peer check: a sample of the cached Vela op sweep (vela_ops_runs.csv, vela_ops_layers.csv)
regenerated with a live Vela 5.2.0 from the sample's .tflite files (tests/peers/data/vela_ops,
built by scripts/peers/make_vela_op_models.py). Six ops x 7 cases, a few seconds. Skipped when
the dev extra (ethos-u-vela==5.2.0) is not installed."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from hwsim.data.reference.mcu.make_vela_ops import render
from hwsim.data.reference.mcu.vela_op_sweep import OPS, op_key
from hwsim.presets import reference_dir
from tests.peers.vela_runner import VelaUnavailable, require_vela

SAMPLE_DIR = Path(__file__).parent / "peers" / "data" / "vela_ops"


def _rows(text: str, keys: set[str]) -> list[dict[str, str]]:
    return [r for r in csv.DictReader(io.StringIO(text)) if r["op"] in keys]


@pytest.mark.peer
def test_cached_op_sweep_sample_matches_live_vela() -> None:
    try:
        require_vela()
    except VelaUnavailable as e:
        pytest.skip(str(e))
    sample = tuple(o for o in OPS if (SAMPLE_DIR / f"{op_key(o)}.tflite").exists())
    assert len(sample) == 6
    keys = {op_key(o) for o in sample}
    runs, layers = render(SAMPLE_DIR, sample)
    here = reference_dir("mcu")
    assert _rows(runs, keys) == _rows((here / "vela_ops_runs.csv").read_text(), keys), \
        "Vela's runs changed: rebuild and rerun hwsim.data.reference.mcu.make_vela_ops"
    assert _rows(layers, keys) == _rows((here / "vela_ops_layers.csv").read_text(), keys)
