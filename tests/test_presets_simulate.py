"""Every model preset simulates on every accelerator preset, through the API and the CLI."""

from __future__ import annotations

import json
import math

import pytest

import hwsim
from hwsim.presets import list_presets

CHIPS = [p.name for p in list_presets("chips") if p.group == "accelerators"]
MODELS = [p.name for p in list_presets("models")]


@pytest.mark.parametrize("model", MODELS)
def test_model_on_every_accelerator(model):
    m = hwsim.load_model(model)
    assert m.source, "every model preset names the source of its shapes"
    for chip in CHIPS:
        r = hwsim.simulate(m, chip)
        t = r.total
        assert t.cycles > 0 and math.isfinite(t.energy_j) and t.energy_j > 0, chip
        assert t.macs == m.macs


@pytest.mark.parametrize("model", ["sln-kws", "mlperf-tiny-kws", "asa-gpt2-small"])
def test_cli_json_equals_api(run_cli, model):
    code, out, _ = run_cli("simulate", "--chip", "sparseflow-accel", "--model", model, "--json")
    assert code == 0
    assert json.loads(out)["total"] == hwsim.simulate(model, "sparseflow-accel").to_dict()[
        "total"]
