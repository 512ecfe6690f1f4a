"""Integrity of the cached ZigZag 3.9.1 results (hwsim/data/reference/accelerator/zigzag) and of
the ONNX workloads they were run on. No ZigZag needed: the live re-run is tests/test_zigzag_peer.py.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections import defaultdict

import pytest

from hwsim.presets import onnx_dir, zigzag_reference_dir
from hwsim.validation.zigzag_reference import (
    HARDWARE,
    OBJECTIVES,
    WORKLOADS,
    load_zigzag_layers,
)

try:  # repo root on sys.path (python -m pytest) or tests/ itself (pytest's rootdir insertion)
    from tests.peers import zigzag_runner as zz
except ImportError:  # pragma: no cover - depends on how pytest was launched
    from peers import zigzag_runner as zz  # type: ignore[no-redef]

# pJ per MAC, array size and DRAM word of each shipped design (docs/zigzag.md tables).
MAC_PJ = {"eyeriss_like": 0.5, "tpu_like": 0.04, "edge_tpu_like": 0.04}
ARRAY_MACS = {"eyeriss_like": 14 * 12, "tpu_like": 32 * 32, "edge_tpu_like": 8 * 8 * 4 * 4}
DRAM_WORD_BITS = 64
LAYER_COUNTS = {"gemm": 4, "resnet18": 21}  # ZigZag maps Conv/Gemm only (20 convs + the fc)


def _rows(name: str) -> list[dict[str, str]]:
    with (zigzag_reference_dir() / name).open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == (zz.LAYER_COLUMNS if name == "zigzag_layers.csv"
                                                  else zz.LEVEL_COLUMNS)
        return list(reader)


def test_every_hardware_workload_and_objective_is_cached_with_the_same_layers() -> None:
    layers = _rows("zigzag_layers.csv")
    names: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for r in layers:
        names[(r["hardware"], r["workload"], r["objective"])].append(r["layer_name"])
    assert set(names) == {(h, w, o) for h in HARDWARE for w in WORKLOADS for o in OBJECTIVES}
    for w in WORKLOADS:
        runs = {tuple(v) for k, v in names.items() if k[1] == w}
        assert len(runs) == 1, f"{w}: hardware or objectives cover different layers"
        if w in LAYER_COUNTS:
            assert len(next(iter(runs))) == LAYER_COUNTS[w]


def test_layer_rows_are_physical() -> None:
    for r in _rows("zigzag_layers.csv"):
        where = f"{r['hardware']}/{r['workload']}/{r['objective']}/{r['layer_name']}"
        dims = {d: int(r[f"dim_{d}"]) for d in zz.LOOP_DIMS}
        macs = int(r["macs"])
        assert macs == math.prod(dims.values()), where
        # MAC energy is unit_energy x MACs: pins the pJ unit and the hardware of every row.
        assert float(r["mac_energy_pJ"]) == pytest.approx(macs * MAC_PJ[r["hardware"]]), where
        assert float(r["energy_total_pJ"]) == pytest.approx(
            float(r["mac_energy_pJ"]) + float(r["mem_energy_pJ"])), where
        assert float(r["mem_energy_pJ"]) > 0, where
        ideal = math.ceil(macs / ARRAY_MACS[r["hardware"]])
        assert float(r["ideal_cycles"]) == ideal, where
        assert (float(r["latency_total_cycles"]) >= float(r["latency_compute_cycles"])
                >= float(r["ideal_temporal_cycles"]) >= ideal), where
        # Every weight is read from DRAM at least once and every output written once (bytes).
        # ZigZag truncates access counts to integers and spreads a spatial unrolling that does
        # not divide the layer (K 14 on K 1280) fractionally: 16 bytes short of 409 600 is the
        # worst case in the cache, hence 0.1 %.
        weights = dims["G"] * dims["K"] * dims["C"] * dims["FY"] * dims["FX"]
        outputs = dims["B"] * dims["G"] * dims["K"] * dims["OY"] * dims["OX"]
        assert float(r["dram_W_read_bytes"]) >= 0.999 * weights * int(r["precision_W_bits"]) / 8
        assert float(r["dram_O_write_bytes"]) >= 0.999 * outputs * int(
            r["precision_O_final_bits"]) / 8, where
        assert float(r["dram_I_read_bytes"]) > 0, where
        assert float(r["dram_I_write_bytes"]) == 0 and float(r["dram_W_write_bytes"]) == 0
        assert r["spatial_mapping"].startswith("D1:[") and "dram[" in r["temporal_mapping"]


def test_level_rows_add_up_to_the_layer_rows() -> None:
    layers = {(r["hardware"], r["workload"], r["objective"], r["layer_id"]): r
              for r in _rows("zigzag_layers.csv")}
    mem_pj: dict[tuple[str, ...], float] = defaultdict(float)
    cost_per_word: dict[tuple[str, str, str], set[float]] = defaultdict(set)
    for r in _rows("zigzag_levels.csv"):
        key = (r["hardware"], r["workload"], r["objective"], r["layer_id"])
        mem_pj[key] += float(r["energy_pJ"])
        for d in zz.DIRECTIONS:
            words, pj = float(r[f"{d}_words"]), float(r[f"{d}_pJ"])
            assert words >= 0 and pj >= 0
            if words:  # one r_cost / w_cost per memory: reads and writes each a fixed pJ/word
                kind = "read" if d.startswith("rd") else "write"
                cost_per_word[(r["hardware"], r["memory"], kind)].add(round(pj / words, 9))
        if r["memory"] == "dram":
            row = layers[key]
            op = r["operand"]
            read = (float(r["rd_out_to_low_words"]) + float(r["rd_out_to_high_words"])) \
                * DRAM_WORD_BITS / 8
            write = (float(r["wr_in_by_low_words"]) + float(r["wr_in_by_high_words"])) \
                * DRAM_WORD_BITS / 8
            assert float(row[f"dram_{op}_read_bytes"]) == read
            assert float(row[f"dram_{op}_write_bytes"]) == write
    assert set(mem_pj) == set(layers)
    for key, pj in mem_pj.items():
        assert pj == pytest.approx(float(layers[key]["mem_energy_pJ"]), rel=1e-9), key
    for key, costs in cost_per_word.items():
        assert len(costs) == 1, (key, costs)
    # docs/zigzag.md: DRAM costs 1000 pJ per 64-bit access on eyeriss_like, 700 / 750 on the TPUs.
    assert cost_per_word[("eyeriss_like", "dram", "read")] == {1000.0}
    assert cost_per_word[("tpu_like", "dram", "read")] == {700.0}
    assert cost_per_word[("edge_tpu_like", "dram", "write")] == {750.0}


def test_loader_returns_typed_records() -> None:
    rows = load_zigzag_layers("tpu_like", "resnet18")
    assert len(rows) == LAYER_COUNTS["resnet18"]
    first = rows[0]
    assert first.objective == "energy" and first.dims["FY"] == 7 and first.stride_x == 2
    assert first.dram_bytes == sum(first.dram_read_bytes.values()) + first.dram_write_bytes["O"]
    assert sum(first.energy_by_memory_pj().values()) == pytest.approx(first.mem_energy_pj)
    assert {lv.memory for lv in first.levels} == {"rf_128B", "rf_2B", "sram_2MB", "dram"}
    assert len(load_zigzag_layers(objective=None)) == len(_rows("zigzag_layers.csv"))
    with pytest.raises(ValueError, match="unknown ZigZag hardware"):
        load_zigzag_layers("tpu")


def test_sources_say_every_csv_is_held_out() -> None:
    folder = zigzag_reference_dir()
    text = (folder / "SOURCES.md").read_text(encoding="utf-8")
    section = text.split("## Fitted or held out", 1)[1].split("\n## ", 1)[0]
    for path in sorted(folder.glob("*.csv")):
        row = next((line for line in section.splitlines() if f"`{path.name}`" in line), "")
        assert "held out" in row.lower() and "fitted" not in row.lower().replace(
            "not used for fitting", ""), f"{path.name}: {row!r}"


def test_shipped_onnx_files_match_their_sources() -> None:
    with (onnx_dir() / "SOURCES.csv").open(newline="", encoding="utf-8") as f:
        sources = {r["file"]: r for r in csv.DictReader(f)}
    files = sorted(onnx_dir().glob("*.onnx"))
    assert {"resnet18.onnx", "mobilenetv2.onnx"} <= {p.name for p in files}
    for path in files:
        row = sources[path.name]
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"] and len(data) == int(row["bytes"])
        assert row["license"] and row["version"]


@pytest.mark.parametrize("workload", ["resnet18", "mobilenetv2"])
def test_hwsim_imports_the_same_macs_zigzag_mapped(workload: str) -> None:
    """`hwsim import` of the shipped ONNX file counts the MACs ZigZag's Conv/Gemm layers hold."""
    from hwsim.workload.importers import import_model

    model = import_model(onnx_dir() / f"{workload}.onnx")
    zigzag_macs = sum(r.macs for r in load_zigzag_layers("tpu_like", workload))
    assert model.macs == zigzag_macs


def test_sources_totals_table_matches_the_csvs() -> None:
    text = (zigzag_reference_dir() / "SOURCES.md").read_text(encoding="utf-8")
    table = text.split("## Totals", 1)[1]
    checked = 0
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != 9 or cells[0] not in HARDWARE:
            continue
        rows = load_zigzag_layers(cells[0], cells[1], cells[2])
        assert int(cells[3]) == len(rows)
        energy_uj = float(cells[6].split()[0].replace(",", ""))
        assert energy_uj == pytest.approx(sum(r.energy_total_pj for r in rows) / 1e6, abs=0.06)
        assert float(cells[5]) == pytest.approx(sum(r.dram_bytes for r in rows) / 1e6, abs=6e-4)
        checked += 1
    assert checked == len(HARDWARE) * len(WORKLOADS) * len(OBJECTIVES)
