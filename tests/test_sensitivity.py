"""hwsim.sensitivity / `hwsim sensitivity`: elasticities by central difference, on every preset;
informational markers in the schema."""

from __future__ import annotations

import json
import math

import pytest
from pydantic import Field, TypeAdapter

import hwsim
from hwsim.config.base import StrictModel
from hwsim.config.knobs import chip_knobs, informational_fields, knobs
from hwsim.errors import HwsimError
from hwsim.presets import list_presets


def _small(name: str, **kw: object) -> object:
    return hwsim.load_model(name, overrides={f"builder.{k}": v for k, v in kw.items()})


def test_elasticity_is_the_central_difference_of_simulate() -> None:
    """Checked by hand against hwsim.simulate: the folded evaluation of repeated layers gives
    the whole model's numbers."""
    model = _small("llama2-7b", layers=3, seq=512, phase="decode")
    r = hwsim.sensitivity("h100-sxm", model, fields=["offchip.bw_bytes_per_s", "batch"],
                          step=0.1)
    row = {x.field: x for x in r.rows}["offchip.bw_bytes_per_s"]
    c = hwsim.load_chip("h100-sxm")
    bw = c.offchip.bw_bytes_per_s
    lo = hwsim.simulate(model, c, chip_overrides={"offchip.bw_bytes_per_s": bw * 0.9}).total
    hi = hwsim.simulate(model, c, chip_overrides={"offchip.bw_bytes_per_s": bw * 1.1}).total
    want = (math.log(hi.latency_s) - math.log(lo.latency_s)) / (math.log(1.1) - math.log(0.9))
    assert row.elasticity["latency_s"] == pytest.approx(want, rel=1e-9)
    assert -1.0 < want < -0.5  # decode streams weights: mostly bandwidth-bound
    assert row.elasticity["area_mm2"] == 0.0
    batch = {x.field: x for x in r.rows}["batch"]
    assert (batch.low, batch.high) == (1.0, 2.0)  # batch 0 is not valid: one-sided


@pytest.mark.parametrize("chip,model,field,sign", [
    ("systolic-32x32", "gpt2-small", "array.rows", "area+"),
    ("systolic-32x32", "gpt2-small", "clock_hz", "latency-"),
    ("a100-sxm-80gb", "llama2-7b", "die_area_mm2", "area1"),
    ("stm32h7a3-m7", "mlperf-tiny-kws", "clock_hz", "latency-"),
    ("ethos-u55-128", "mlperf-tiny-vww", "clock_hz", "latency-"),
])
def test_one_preset_per_kind(chip: str, model: str, field: str, sign: str) -> None:
    m = _small(model, layers=1, seq=64) if model in ("gpt2-small", "llama2-7b") else model
    r = hwsim.sensitivity(chip, m)
    rows = {x.field: x for x in r.rows}
    assert field in rows
    e = rows[field].elasticity
    if sign == "area+":
        assert e["area_mm2"] > 0
    elif sign == "area1":
        assert e["area_mm2"] == pytest.approx(1.0)
    else:
        assert e["latency_s"] < 0
    mags = [x.magnitude for x in r.rows]
    assert mags == sorted(mags, reverse=True)
    if chip.startswith("ethos-u55"):
        # x(1 +- step) of 128 MACs is no Ethos-U55 MAC configuration: skipped, saying so
        assert "MAC configuration" in r.skipped["npu.macs_per_cycle"]
    numeric = {k.path for k in chip_knobs(hwsim.load_chip(chip).kind) if k.numeric}
    assert numeric <= set(rows) | set(r.skipped)  # every numeric field: a row or a reason


def test_every_preset_with_a_few_fields() -> None:
    for p in list_presets("chips"):
        chip = hwsim.load_chip(p.path)
        model = "mlperf-tiny-kws" if chip.kind == "mcu" else hwsim.gemm(64, 256, 256)
        r = hwsim.sensitivity(chip, model, fields=["clock_hz", "batch"])
        assert {x.field for x in r.rows} | set(r.skipped) == {"clock_hz", "batch"}, p.name
        for row in r.rows:
            assert all(v is None or math.isfinite(v) for v in row.elasticity.values())


def test_density_and_seq_rows() -> None:
    r = hwsim.sensitivity("sparseflow-accel", "selective-gpt2-small", seq=64,
                          fields=["density", "seq"], phase="prefill")
    rows = {x.field: x for x in r.rows}
    assert rows["seq"].elasticity["latency_s"] > 0
    assert rows["density"].elasticity["energy_j"] > 0  # more active neurons cost more
    dense = hwsim.sensitivity("systolic-32x32", hwsim.gemm(8, 8, 8), fields=["density", "seq"])
    assert set(dense.skipped) == {"density", "seq"}


def test_bad_fields_name_the_problem() -> None:
    with pytest.raises(HwsimError, match="did you mean 'clock_hz'"):
        hwsim.sensitivity("systolic-32x32", "mlperf-tiny-kws", fields=["clok_hz"])
    with pytest.raises(HwsimError, match="'dataflow' is a choice field"):
        hwsim.sensitivity("systolic-32x32", "mlperf-tiny-kws", fields=["dataflow"])
    with pytest.raises(HwsimError, match="step"):
        hwsim.sensitivity("systolic-32x32", "mlperf-tiny-kws", step=1.5)


def test_cli_json_and_errors(run_cli) -> None:
    code, out, _ = run_cli("sensitivity", "--chip", "stm32h7a3-m7", "--model",
                           "mlperf-tiny-kws", "--fields", "clock_hz,sram_bytes", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["sensitivity"][0]["field"] == "clock_hz"
    assert set(doc["sensitivity"][0]["elasticity"]) == {"latency_s", "energy_j", "area_mm2"}
    code, out, _ = run_cli("sensitivity", "--chip", "stm32h7a3-m7", "--model",
                           "mlperf-tiny-kws", "--fields", "clock_hz")
    assert code == 0 and "clock_hz" in out and "latency_s" in out
    code, _, err = run_cli("sensitivity", "--chip", "stm32h7a3-m7", "--model",
                           "mlperf-tiny-kws", "--fields", "sram_byte")
    assert code == 2 and "did you mean 'sram_bytes'" in err and "Traceback" not in err
    code, _, err = run_cli("sensitivity", "--chip", "stm32h7a3-m7", "--model",
                           "mlperf-tiny-kws", "--fields", "kernel_library")
    assert code == 2 and "kernel_library" in err and "not a number" in err


class _Marked(StrictModel):
    rate_hz: float = Field(1.0, description="acts")
    label_hz: float = Field(1.0, description="does not act",
                            json_schema_extra={"informational": "shown only"})


def test_informational_marker_reaches_the_json_schema_and_the_knobs() -> None:
    props = TypeAdapter(_Marked).json_schema()["properties"]
    assert props["label_hz"]["informational"] == "shown only"
    assert "informational" not in props["rate_hz"]
    marked = {k.path: k.informational for k in knobs(_Marked)}
    assert marked == {"rate_hz": None, "label_hz": "shown only"}


def test_schema_cli_shows_every_informational_chip_field(run_cli) -> None:
    code, out, _ = run_cli("schema", "chip")
    assert code == 0
    text = json.dumps(json.loads(out))
    for _kind, path, reason in informational_fields():
        assert json.dumps(reason) in text, path
    code, out, _ = run_cli("schema", "chip", "--informational")
    assert code == 0 and "informational" in out
    code, _, err = run_cli("schema", "model", "--informational")
    assert code == 2 and "chip" in err
