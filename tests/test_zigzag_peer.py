"""Peer check: the cached ZigZag 3.9.1 rows (hwsim/data/reference/accelerator/zigzag) still match a
live ZigZag, so the cache cannot drift silently from the peer it names.

Re-runs the two small GEMMs of gemm_layers.yaml (64x64x64 and 256x256x256) on ZigZag's three
shipped hardware descriptions under both objectives (12 layer mappings, about 15 s) and compares
every column of the per-layer and per-level rows as the generator writes them. Skipped when the
dev extra (zigzag-dse==3.9.1) is not installed.
"""

from __future__ import annotations

import csv

import pytest

from hwsim.config.loading import safe_load
from hwsim.presets import zigzag_reference_dir

try:  # repo root on sys.path (python -m pytest) or tests/ itself (pytest's rootdir insertion)
    from tests.peers import zigzag_runner as zz
except ImportError:  # pragma: no cover - depends on how pytest was launched
    from peers import zigzag_runner as zz  # type: ignore[no-redef]

LAYERS = ("gemm_64x64x64", "gemm_256x256x256")


def _cached(name: str, hardware: str, objective: str) -> list[dict[str, str]]:
    with (zigzag_reference_dir() / name).open(newline="", encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r["hardware"] == hardware
                and r["workload"] == "gemm" and r["objective"] == objective]


@pytest.mark.peer
@pytest.mark.parametrize("objective", ["energy", "latency"])
@pytest.mark.parametrize("hardware", list(zz.HARDWARE_MAPPINGS))
def test_cached_gemm_rows_match_live_zigzag(hardware: str, objective: str) -> None:
    try:
        zz.require_zigzag()
    except zz.ZigZagUnavailable as e:
        pytest.skip(str(e))
    doc = safe_load((zigzag_reference_dir() / "gemm_layers.yaml").read_text(encoding="utf-8"))
    layers = [d for d in doc if d["name"] in LAYERS]
    assert len(layers) == len(LAYERS)
    cmes = zz.run_zigzag(layers, hardware, zz.Settings(objective=objective))
    cached_layers = {r["layer_id"]: r for r in _cached("zigzag_layers.csv", hardware, objective)}
    cached_levels = {(r["layer_id"], r["operand"], r["level"]): r
                     for r in _cached("zigzag_levels.csv", hardware, objective)}
    assert len(cmes) == len(LAYERS)
    for cme in cmes:
        row, levels = zz.layer_rows(cme, hardware, "gemm", objective)
        cached = cached_layers[str(row["layer_id"])]
        live = {c: zz.format_value(row[c]) for c in zz.LAYER_COLUMNS}
        assert live == {c: cached[c] for c in zz.LAYER_COLUMNS}, \
            ("ZigZag's result changed: rerun scripts/peers/make_zigzag_reference.py and say "
             "why in SOURCES.md")
        for lv in levels:
            key = (str(lv["layer_id"]), lv["operand"], str(lv["level"]))
            assert {c: zz.format_value(lv[c]) for c in zz.LEVEL_COLUMNS} == \
                {c: cached_levels[key][c] for c in zz.LEVEL_COLUMNS}, key
