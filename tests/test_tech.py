"""Technology tables: published points reproduced, fits monotone, scaling as the files say."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from hwsim.errors import HwsimError
from hwsim.hardware.tech import TECH_DIR, list_tech, load_tech
from hwsim.units import OFFCHIP_KINDS
from hwsim.units import TECH_DTYPES as DTYPES

SCALED = ("28nm", "16nm", "7nm", "5nm")
PJ = 1e-12


def raw(name: str) -> dict[str, Any]:
    return yaml.safe_load((TECH_DIR / f"{name}.yaml").read_text())


def write(tmp_path: Path, doc: dict[str, Any], name: str = "t.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(doc))
    return p


# --- 45 nm: the published numbers come back exactly -------------------------------------
@pytest.mark.parametrize(("op", "dtype", "pj"), [
    ("add", "int8", 0.03), ("add", "int32", 0.1), ("add", "fp16", 0.4), ("add", "fp32", 0.9),
    ("mult", "int8", 0.2), ("mult", "int32", 3.1), ("mult", "fp16", 1.1), ("mult", "fp32", 3.7),
])
def test_horowitz_points_reproduced(op: str, dtype: str, pj: float) -> None:
    tech = load_tech("45nm")
    got = tech.add_energy_j(dtype) if op == "add" else tech.mult_energy_j(dtype)
    assert got == pytest.approx(pj * PJ, rel=1e-12)


@pytest.mark.parametrize(("dtype", "pj"), [
    ("int8", 0.2 + 0.1), ("fp16", 1.1 + 0.9), ("fp32", 3.7 + 0.9),
    ("int16", math.sqrt(0.2 * 3.1) + 0.1), ("bf16", 1.1 * (8 / 11) ** 2 + 0.9),
])
def test_mac_is_mult_plus_accumulator_add(dtype: str, pj: float) -> None:
    assert load_tech("45nm").mac_energy_j(dtype) == pytest.approx(pj * PJ, rel=1e-4)


def test_mac_area_is_mult_plus_accumulator_adder() -> None:
    tech = load_tech("45nm")
    assert tech.mac_area_mm2("int8") == pytest.approx((282 + 137) * 1e-6)
    assert tech.mac_area_mm2("fp16") == pytest.approx((1640 + 4184) * 1e-6)


def test_every_dtype_priced_and_unknown_dtype_is_an_input_error() -> None:
    tech = load_tech("45nm")
    for d in DTYPES:
        assert tech.mac_energy_j(d) > tech.mult_energy_j(d) > 0
    with pytest.raises(HwsimError, match="fp8") as info:
        tech.mac_energy_j("fp8")
    assert "fp16" in str(info.value)


# --- SRAM fit --------------------------------------------------------------------------
@pytest.mark.parametrize(("size", "pj_per_64b"), [(8192, 10), (32768, 20), (1 << 20, 100)])
def test_sram_fit_passes_through_horowitz_points(size: int, pj_per_64b: float) -> None:
    per_byte = load_tech("45nm").sram_read_energy_j_per_byte(size)
    assert isinstance(per_byte, float)
    assert per_byte == pytest.approx(pj_per_64b / 8 * PJ, rel=1e-12)


def test_sram_fit_is_monotone_and_vectorised() -> None:
    tech = load_tech("45nm")
    sizes = np.logspace(0, 28, 400, base=2.0).reshape(20, 20)
    e = tech.sram_read_energy_j_per_byte(sizes)
    assert isinstance(e, np.ndarray) and e.shape == sizes.shape
    flat = e.ravel()
    assert np.all(np.diff(flat) >= 0)
    above = sizes.ravel() > tech.sram_min_size_bytes
    assert np.all(np.diff(flat[above]) > 0)  # strictly increasing where not clamped
    w = tech.sram_write_energy_j_per_byte(sizes)
    assert np.allclose(w / e, raw("45nm")["sram"]["write_to_read"]["ratio"])


def test_sram_below_min_size_is_clamped_and_bad_sizes_rejected() -> None:
    tech = load_tech("45nm")
    assert tech.sram_read_energy_j_per_byte(16) == tech.sram_read_energy_j_per_byte(1024)
    # the clamp sits above the register-file energy: small SRAMs never beat registers
    assert tech.sram_read_energy_j_per_byte(16) > tech.rf_energy_j_per_byte()
    for bad in (0, -5, float("nan")):
        with pytest.raises(HwsimError):
            tech.sram_read_energy_j_per_byte(bad)


@given(st.floats(min_value=1.0, max_value=2.0**32), st.floats(min_value=1.0, max_value=64.0))
def test_sram_energy_never_drops_with_size(size: float, grow: float) -> None:
    tech = load_tech("16nm")
    assert tech.sram_read_energy_j_per_byte(size * grow) >= tech.sram_read_energy_j_per_byte(size)


def test_gating_ratios_from_sparseloop_artifact() -> None:
    tech = load_tech("45nm")
    assert tech.gated_mac_energy_j("int8") / tech.mac_energy_j("int8") == pytest.approx(
        0.01798 / 0.5608)
    assert tech.gated_read_energy_j_per_byte(4096) / tech.sram_read_energy_j_per_byte(
        4096) == pytest.approx(0.0032 / 0.13003)
    assert tech.metadata_read_energy_j_per_byte(4096) / tech.sram_read_energy_j_per_byte(
        4096) == pytest.approx(0.14934 / 0.13003)


# --- scaled nodes ------------------------------------------------------------------------
@pytest.mark.parametrize("node", SCALED)
def test_scaled_node_applies_the_files_factors(node: str) -> None:
    base, tech, doc = load_tech("45nm"), load_tech(node), raw(node)
    e, la = doc["dynamic_energy"]["factor"], doc["logic_area"]["factor"]
    sa, stat = doc["sram_area"]["factor"], doc["static_power"]["factor"]
    for d in DTYPES:
        assert tech.mac_energy_j(d) == pytest.approx(base.mac_energy_j(d) * e, rel=1e-12)
        assert tech.mac_area_mm2(d) == pytest.approx(base.mac_area_mm2(d) * la, rel=1e-12)
    sizes = np.array([512, 8192, 1 << 20, 1 << 26])
    assert np.allclose(tech.sram_read_energy_j_per_byte(sizes),
                       base.sram_read_energy_j_per_byte(sizes) * e, rtol=1e-12)
    assert tech.rf_energy_j_per_byte() == pytest.approx(base.rf_energy_j_per_byte() * e)
    assert tech.sram_area_mm2(1 << 20) == pytest.approx(base.sram_area_mm2(1 << 20) * sa)
    # leakage factor is per component: per KiB directly, per mm^2 after the area shrink
    assert tech.static_power_w(0.0, 1 << 20) == pytest.approx(base.static_power_w(0.0, 1 << 20)
                                                               * stat)
    assert tech.static_power_w(la, 0) == pytest.approx(base.static_power_w(1.0, 0) * stat)


@pytest.mark.parametrize("node", SCALED)
def test_scaled_nodes_strictly_cheaper_than_45nm(node: str) -> None:
    base, tech = load_tech("45nm"), load_tech(node)
    for d in DTYPES:
        assert tech.mac_energy_j(d) < base.mac_energy_j(d)
        assert tech.mac_area_mm2(d) < base.mac_area_mm2(d)
    assert tech.sram_read_energy_j_per_byte(65536) < base.sram_read_energy_j_per_byte(65536)
    assert tech.sram_area_mm2(65536) < base.sram_area_mm2(65536)
    assert tech.static_power_w(0.0, 65536) < base.static_power_w(0.0, 65536)


def test_smaller_node_is_cheaper_in_order() -> None:
    nodes = ["45nm", *SCALED]
    energies = [load_tech(n).mac_energy_j("int8") for n in nodes]
    areas = [load_tech(n).mac_area_mm2("int8") for n in nodes]
    assert energies == sorted(energies, reverse=True)
    assert areas == sorted(areas, reverse=True)


@pytest.mark.parametrize("node", ["45nm", *SCALED])
def test_offchip_energy_unchanged_across_nodes(node: str) -> None:
    base, tech = load_tech("45nm"), load_tech(node)
    for kind in OFFCHIP_KINDS:
        assert tech.offchip_energy_j_per_byte(kind) == base.offchip_energy_j_per_byte(kind)
    assert base.offchip_energy_j_per_byte("ddr3") == pytest.approx(1.3e-9 / 8)  # Horowitz
    with pytest.raises(HwsimError, match="hbm4"):
        tech.offchip_energy_j_per_byte("hbm4")


# Stillmaker & Baas 2017 HP energy polynomials (a, b, c) of E(V) = aV^2 + bV + c, as cited in
# the scaled files; the files' factors must follow from them at the stated supply voltages.
STILLMAKER_HP = {45: (1.018, -0.3107, 0.1539), 32: (0.8367, -0.4341, 0.1701),
                 20: (0.373, -0.1582, 0.04104), 16: (0.2958, -0.1241, 0.03024),
                 7: (0.1776, -0.09097, 0.02447)}


def _poly(node: int, vdd: float) -> float:
    a, b, c = STILLMAKER_HP[node]
    return a * vdd**2 + b * vdd + c


def test_energy_factors_follow_the_cited_polynomials() -> None:
    e45 = _poly(45, raw("45nm")["supply"]["vdd_v"])
    e28 = _poly(32, 0.9) + (_poly(20, 0.9) - _poly(32, 0.9)) * 4 / 12
    expected = {"28nm": e28 / e45, "16nm": _poly(16, 0.85) / e45, "7nm": _poly(7, 0.7) / e45,
                "5nm": _poly(7, 0.7) / e45 * 0.70}
    for node, factor in expected.items():
        assert raw(node)["dynamic_energy"]["factor"] == pytest.approx(factor, rel=2e-4), node
    assert raw("5nm")["logic_area"]["factor"] == pytest.approx(
        raw("7nm")["logic_area"]["factor"] / 1.8, rel=1e-3)


# --- provenance --------------------------------------------------------------------------
def _numeric_entries_without_source(node: Any, path: str = "") -> list[str]:
    bad: list[str] = []
    if isinstance(node, dict):
        has_number = any(isinstance(v, int | float) and not isinstance(v, bool)
                         for v in node.values())
        src = node.get("source")
        if has_number and path and not (isinstance(src, str) and src.strip()):
            bad.append(path)
        for k, v in node.items():
            bad += _numeric_entries_without_source(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            bad += _numeric_entries_without_source(v, f"{path}[{i}]")
    return bad


@pytest.mark.parametrize("path", sorted(TECH_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_number_in_every_tech_file_has_a_source(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    top_numbers = {k for k, v in doc.items() if isinstance(v, int | float)}
    assert top_numbers <= {"schema_version", "node_nm"}  # everything else lives in entries
    assert _numeric_entries_without_source(doc) == []


def test_sources_cover_every_number_and_name_the_scaling() -> None:
    src = load_tech("7nm").sources()
    assert "Horowitz" in src["mult.int8"] and "dynamic_energy x0.06842" in src["mult.int8"]
    assert "Stillmaker" in src["scaling.dynamic_energy"]
    assert "scaled" not in src["offchip.hbm2"]
    assert all(v.strip() for v in src.values())


def test_list_tech_names_every_file_with_a_description() -> None:
    listed = list_tech()
    assert [n for n, _ in listed] == ["65nm", "45nm", "28nm", "16nm", "7nm", "5nm"]
    assert all(desc.strip() for _, desc in listed)


def test_loading_is_cached_per_file_version() -> None:
    assert load_tech("7nm") is load_tech("7nm")
    assert load_tech("45nm") is load_tech(TECH_DIR / "45nm.yaml")


# --- bad input ---------------------------------------------------------------------------
def test_missing_source_names_the_field(tmp_path: Path) -> None:
    doc = raw("45nm")
    del doc["mult"]["int8"]["source"]
    path = write(tmp_path, doc)
    with pytest.raises(HwsimError) as info:
        load_tech(path)
    assert str(path) in str(info.value) and "mult.int8.source" in str(info.value)


def test_blank_source_rejected(tmp_path: Path) -> None:
    doc = raw("45nm")
    doc["offchip"]["hbm3"]["source"] = "   "
    with pytest.raises(HwsimError, match=r"offchip\.hbm3\.source"):
        load_tech(write(tmp_path, doc))


def test_misspelt_key_suggests_the_right_one(tmp_path: Path) -> None:
    doc = raw("45nm")
    doc["add"]["fp16"]["energy_pJ"] = doc["add"]["fp16"].pop("energy_pj")
    with pytest.raises(HwsimError) as info:
        load_tech(write(tmp_path, doc))
    text = str(info.value)
    assert "add.fp16.energy_pJ" in text and "did you mean 'energy_pj'" in text


def test_wrong_kind_names_kind(tmp_path: Path) -> None:
    doc = raw("7nm")
    doc["kind"] = "scalde"
    with pytest.raises(HwsimError) as info:
        load_tech(write(tmp_path, doc))
    assert "kind" in str(info.value) and "'scaled'" in str(info.value)


def test_unordered_sram_points_rejected(tmp_path: Path) -> None:
    doc = raw("45nm")
    pts = doc["sram"]["read_64b"]
    pts[0], pts[1] = copy.deepcopy(pts[1]), copy.deepcopy(pts[0])
    with pytest.raises(HwsimError, match="increasing"):
        load_tech(write(tmp_path, doc))


def test_scaled_file_with_unknown_base(tmp_path: Path) -> None:
    doc = raw("7nm")
    doc["base"] = "46nm"
    with pytest.raises(HwsimError) as info:
        load_tech(write(tmp_path, doc))
    assert "base" in str(info.value) and "45nm" in str(info.value)


def test_user_scaled_file_resolves_builtin_base(tmp_path: Path) -> None:
    doc = raw("7nm")
    doc["name"] = "my7"
    tech = load_tech(write(tmp_path, doc, "my7.yaml"))
    assert tech.name == "my7"
    assert tech.mac_energy_j("int8") == pytest.approx(load_tech("7nm").mac_energy_j("int8"))


def test_scaled_base_must_be_a_base_table(tmp_path: Path) -> None:
    doc = raw("7nm")
    doc["base"] = str(TECH_DIR / "16nm.yaml")
    with pytest.raises(HwsimError, match="kind: base"):
        load_tech(write(tmp_path, doc))


def test_unknown_node_lists_close_matches_and_available() -> None:
    with pytest.raises(HwsimError) as info:
        load_tech("7mn")
    text = str(info.value)
    assert "did you mean '7nm'" in text
    for name in ("45nm", "28nm", "16nm", "7nm", "5nm"):
        assert name in text
