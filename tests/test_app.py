"""The design explorer, headless (streamlit.testing.v1.AppTest): every page is driven through its
widgets and the numbers it shows are compared with ``hwsim.simulate`` for the same inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import hwsim
from hwsim.app import fmt
from hwsim.app.launch import app_script
from hwsim.errors import HwsimError

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]
MODEL = "selective-gpt2-small"  # small enough for seconds-long tests, with top-k FFN sparsity
CHIPS = ("sparseflow-accel", "systolic-32x32")


def spars(density: float, std: float = 0.0) -> list[str]:
    tail = f",variability={{std: {std!r}}}" if std else ""
    return [f"*.ffn_up:topk:density={density!r}{tail}",
            f"*.ffn_down:topk:density={density!r}{tail}"]


def start(chips: tuple[str, ...] = CHIPS, model: str = MODEL) -> AppTest:
    at = AppTest.from_file(str(app_script()), default_timeout=120)
    at.query_params["chips"] = ",".join(chips)
    at.query_params["model"] = model
    at.run()
    assert not at.exception, at.exception
    return at


def cards(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def card_values(at: AppTest, label: str) -> list[str]:
    return [m.value for m in at.metric if m.label == label]


def test_defaults_from_query_and_model_sparsity() -> None:
    at = start()
    assert list(at.multiselect(key="chips").value) == list(CHIPS)
    assert at.selectbox(key="sparsity_kind").value == "topk"
    assert at.text_input(key="sparsity_glob").value == "*.ffn_up, *.ffn_down"
    assert at.select_slider(key="density").value == pytest.approx(0.1)


def test_overview_matches_simulate_after_density_change() -> None:
    at = start()
    at.select_slider(key="density").set_value(0.05).run()
    assert not at.exception
    expected = [hwsim.simulate(MODEL, c, sparsity=spars(0.05), compare_dense=True) for c in CHIPS]
    assert card_values(at, "Energy / inference") == [fmt.joules(r.total.energy_j)
                                                     for r in expected]
    assert card_values(at, "Latency") == [fmt.seconds(r.total.latency_s) for r in expected]
    assert card_values(at, "Energy vs dense twin") == [fmt.ratio(r.vs_dense["energy_ratio"])
                                                       for r in expected]
    assert card_values(at, "Area") == [fmt.area(r.total.area_mm2) for r in expected]
    table = at.dataframe[0].value
    assert list(table["energy_j"]) == [r.total.energy_j for r in expected]
    assert list(table["latency_vs_dense"]) == [r.vs_dense["latency_ratio"] for r in expected]
    # the second chip's card carries its delta against the first
    deltas = [m.delta for m in at.metric if m.label == "Energy / inference"]
    assert deltas[0] in ("", None)
    assert deltas[1] == fmt.delta_pct(expected[1].total.energy_j, expected[0].total.energy_j)


def test_accuracy_card_shows_provenance() -> None:
    at = start(chips=("sparseflow-accel",), model="selective-llama2-7b")
    r = hwsim.simulate("selective-llama2-7b", "sparseflow-accel",
                       sparsity=["*.ffn_up:topk:density=0.11", "*.ffn_down:topk:density=0.11"],
                       compare_dense=True)
    acc = getattr(r, "accuracy", None)
    if acc is None:
        pytest.skip("Result.accuracy is not in this checkout")
    shown = [m for m in at.metric if m.label.startswith("Accuracy")]
    assert shown[0].value == fmt.accuracy_value(acc.value, acc.metric)
    assert any(f"provenance: {acc.provenance}" in c.value for c in at.caption)


def test_unknown_accuracy_says_unknown() -> None:
    at = start(chips=("sparseflow-accel",))
    assert card_values(at, "Accuracy") == ["unknown"]
    assert at.dataframe[0].value["accuracy_provenance"].tolist() == ["unknown"]


def test_edited_chip_parameter_is_an_override() -> None:
    at = start(chips=("sparseflow-accel",))
    at.number_input(key="p:sparseflow-accel:array.rows").set_value(32)
    at.number_input(key="p:sparseflow-accel:offchip.bw_bytes_per_s").set_value(25.6).run()
    assert not at.exception
    r = hwsim.simulate(MODEL, "sparseflow-accel", sparsity=spars(0.1), compare_dense=True,
                       chip_overrides={"array.rows": 32, "offchip.bw_bytes_per_s": 25.6e9})
    assert card_values(at, "Energy / inference") == [fmt.joules(r.total.energy_j)]
    assert at.dataframe[0].value["chip"].tolist() == ["sparseflow-accel (edited)"]


def test_bad_sparsity_glob_is_shown_not_raised() -> None:
    at = start(chips=("sparseflow-accel",))
    at.text_input(key="sparsity_glob").set_value("*.no_such_op").run()
    assert not at.exception
    assert any("no op of" in e.value for e in at.error)


def test_breakdown_page_matches_simulate() -> None:
    at = start()
    at.switch_page("breakdown.py").run()
    assert not at.exception
    r = hwsim.simulate(MODEL, CHIPS[0], sparsity=spars(0.1), compare_dense=True)
    ops = at.dataframe[0].value
    assert list(ops["name"]) == [op.name for op in r.ops]
    assert list(ops["latency_s"]) == [op.latency_s for op in r.ops]
    assert list(ops["bottleneck"]) == [op.bottleneck for op in r.ops]
    charts = {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    stack = next(s for s in charts.values() if s["layout"]["title"]["text"].startswith("Energy"))
    from hwsim.app.charts import unit_for

    both = (r, hwsim.simulate(MODEL, CHIPS[1], sparsity=spars(0.1), compare_dense=True))
    scale, unit = unit_for(max(sum(t.energy_breakdown_j.values()) for x in both
                               for t in (x.total, x.dense_total)), "J")
    assert stack["layout"]["yaxis"]["title"]["text"] == f"energy per inference ({unit})"
    mac = next(t for t in stack["data"] if t["name"] == "mac")
    assert mac["y"][0] == pytest.approx(r.total.energy_breakdown_j["mac"] * scale, rel=1e-12)
    roof = next(s for s in charts.values() if s["layout"]["title"]["text"].startswith("Roof"))
    assert any(t.get("mode") == "markers" for t in roof["data"])


def test_roofline_from_chip_fields() -> None:
    from hwsim.app.roofline import roofline

    accel = roofline(hwsim.load_chip("sparseflow-accel"))
    assert accel.peak_macs_per_s == 64 * 64 * 1.0e9
    assert accel.bw_bytes_per_s == 51.2e9
    gpu = roofline(hwsim.load_chip("a100-sxm-80gb"), "fp16")
    assert gpu.peak_macs_per_s == pytest.approx(312.0e12 / 2, rel=0.001)
    mcu = roofline(hwsim.load_chip("stm32h7a3-m7"))
    assert mcu.byte_level == "flash" and mcu.bw_bytes_per_s == 16 * 280.0e6 / 7


def test_distribution_page_matches_simulate_percentiles() -> None:
    at = start(chips=("sparseflow-accel",), model="sln-kws")
    at.slider(key="density_std").set_value(0.01).run()
    at.switch_page("distribution.py").run()
    at.number_input(key="dist_samples").set_value(30).run()
    assert not at.exception
    sp = ["*.cell:topk:density=0.02,variability={std: 0.01}",
          "readout:topk:density=0.02,variability={std: 0.01}"]
    r = hwsim.simulate("sln-kws", "sparseflow-accel", fidelity="cycle", samples=30, seed=0,
                       sparsity=sp)
    table = at.dataframe[0].value.set_index("stat")
    for stat in ("p50", "p90", "p99"):
        assert table.loc[stat, "latency_s"] == r.distribution["latency_s"][stat]
        assert table.loc[stat, "energy_j"] == r.distribution["energy_j"][stat]
    assert cards(at)["energy p99"] == fmt.joules(r.distribution["energy_j"]["p99"])
    assert len(at.get("plotly_chart")) == 2


def test_sweep_runs_a_study_and_loads_a_point() -> None:
    if not hasattr(pytest.importorskip("hwsim.study"), "run_study"):
        pytest.skip("hwsim.study.run_study is not in this checkout")
    at = start(chips=("sparseflow-accel",))
    at.switch_page("sweep.py").run()
    at.selectbox(key="sweep_param1").set_value("(none)").run()
    at.text_input(key="sweep_values0:array.rows").set_value("16, 64").run()
    at.multiselect(key="sweep_densities").set_value([0.05, 0.1]).run()
    at.button(key="sweep_run").click().run()
    assert not at.exception, at.exception
    front = at.dataframe[0].value
    assert len(front) >= 1
    row = front.iloc[0]
    rows = int(row["param.array.rows"])
    r = hwsim.simulate(MODEL, "sparseflow-accel", sparsity=spars(float(row["density"])),
                       chip_overrides={"array.rows": rows, "array.cols": rows})
    assert row["energy_j"] == pytest.approx(r.total.energy_j, rel=1e-9)
    assert row["latency_s"] == pytest.approx(r.total.latency_s, rel=1e-9)
    at.selectbox(key="sweep_point").set_value(row["point_id"])
    at.button(key="sweep_load").click().run()
    assert not at.exception
    assert at.number_input(key="p:sparseflow-accel:array.rows").value == rows
    assert at.number_input(key="p:sparseflow-accel:array.cols").value == rows
    assert at.select_slider(key="density").value == pytest.approx(float(row["density"]))


def test_claims_page_renders() -> None:
    at = start(chips=("sparseflow-accel",))
    at.switch_page("claims.py").run()
    assert not at.exception
    from hwsim.app import page

    if page.optional("hwsim.claims.run", "run_claims") is None:
        assert any("not available yet" in i.value for i in at.info)
    else:
        assert at.button(key="claims_run") is not None


def test_export_page_and_its_documents(tmp_path: Path) -> None:
    at = start()
    at.number_input(key="p:sparseflow-accel:array.rows").set_value(32).run()
    at.switch_page("export.py").run()
    assert not at.exception
    from hwsim.app import export
    from hwsim.app.design import ChipChoice

    chip = ChipChoice("sparseflow-accel", (("array.rows", 32),))
    path = tmp_path / "chip.yaml"
    path.write_text(export.chip_yaml(chip))
    exported = hwsim.load_chip(path).model_dump(exclude={"description"})
    assert exported == hwsim.load_chip("sparseflow-accel", {"array.rows": 32}).model_dump(
        exclude={"description"})
    assert yaml.safe_load(path.read_text())["array"]["rows"] == 32
    assert any("--set array.rows=32" in c.value for c in at.code)


def test_uploads_are_checked() -> None:
    from hwsim.app import compute

    with pytest.raises(HwsimError, match="unsupported"):
        compute.save_upload("model.exe", b"x")
    with pytest.raises(HwsimError, match="larger than"):
        compute.save_upload("big.onnx", b"\0" * (compute.MAX_UPLOAD_BYTES + 1))
    path = compute.save_upload("broken.yaml", b"name: [unclosed")
    with pytest.raises(HwsimError):
        hwsim.load_model(path)
    good = compute.save_upload("mine.yaml", (REPO / "models" / "sln-kws.yaml").read_bytes())
    assert hwsim.load_model(good).name == "sln-kws"


def test_sensitivity_page_tornado_matches_the_api() -> None:
    at = start(chips=("sparseflow-accel",), model="mlperf-tiny-kws")
    at.switch_page("sensitivity.py").run()
    assert not at.exception, at.exception
    r = hwsim.sensitivity("sparseflow-accel", "mlperf-tiny-kws", step=0.1)
    table = at.dataframe[0].value
    assert list(table["field"]) == [x.field for x in r.rows]
    assert list(table["latency_s"]) == [x.elasticity["latency_s"] for x in r.rows]
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    top = max(r.rows, key=lambda x: abs(x.elasticity["latency_s"] or 0.0))
    assert bars["y"][-1] == top.field  # the largest bar on top
    assert bars["x"][-1] == pytest.approx(top.elasticity["latency_s"])
    at.selectbox(key="sens_metric").set_value("area_mm2").run()
    assert not at.exception
