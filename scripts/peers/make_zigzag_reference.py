"""Regenerate the cached ZigZag 3.9.1 per-layer results (needs the dev extra).

    .venv/bin/python scripts/peers/make_zigzag_reference.py           # rewrite both CSVs
    .venv/bin/python scripts/peers/make_zigzag_reference.py --check   # exit 1 if stale

For each shipped ZigZag hardware (eyeriss_like, tpu_like, edge_tpu_like, with the mapping file
``tests.peers.zigzag_runner.HARDWARE_MAPPINGS`` names), each workload (the four GEMMs of
``gemm_layers.yaml`` and the ONNX files ``models/onnx/resnet18.onnx`` and
``models/onnx/mobilenetv2.onnx``, byte-identical to the ones ZigZag ships) and each objective
(``energy`` and ``latency``) it runs ``zigzag.api.get_hardware_performance_zigzag`` with the
API's default mapper settings (LOMA, uneven temporal mappings, lpf_limit 6, 3 generated spatial
mappings) and writes, under ``hwsim/data/reference/accelerator/zigzag/``:

- ``zigzag_layers.csv``: one row per mapped layer (dims, ZigZag's chosen spatial and temporal
  mapping, MAC / memory / total energy in pJ, DRAM bytes read and written per operand, latency);
- ``zigzag_levels.csv``: one row per layer, operand and memory level (word accesses in the four
  directions, the word width in bits, and the pJ they cost).

``tests/test_zigzag_peer.py`` re-runs a few layers live and checks they still match.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # the runner lives in the test suite (tests/peers), like Vela's

from tests.peers.pinned import write_or_check  # noqa: E402
from tests.peers.zigzag_runner import (  # noqa: E402
    HARDWARE_MAPPINGS,
    LAYER_COLUMNS,
    LEVEL_COLUMNS,
    Settings,
    format_value,
    layer_rows,
    run_zigzag,
)

OUT_DIR = REPO / "hwsim" / "data" / "reference" / "accelerator" / "zigzag"
WORKLOADS = {"gemm": OUT_DIR / "gemm_layers.yaml",
             "resnet18": REPO / "models" / "onnx" / "resnet18.onnx",
             "mobilenetv2": REPO / "models" / "onnx" / "mobilenetv2.onnx"}
OBJECTIVES = ("energy", "latency")


def _csv(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([format_value(r[c]) for c in columns])
    return buf.getvalue()


def render(hardware: tuple[str, ...], workloads: tuple[str, ...], objectives: tuple[str, ...],
           lpf_limit: int, nb_spatial: int) -> tuple[str, str]:
    """(zigzag_layers.csv text, zigzag_levels.csv text) from fresh ZigZag runs."""
    layers: list[dict[str, Any]] = []
    levels: list[dict[str, Any]] = []
    for hw in hardware:
        for wl in workloads:
            for obj in objectives:
                start = time.perf_counter()
                settings = Settings(objective=obj, lpf_limit=lpf_limit,
                                    nb_spatial_mappings=nb_spatial)
                cmes = run_zigzag(WORKLOADS[wl], hw, settings)
                for cme in cmes:
                    row, lv = layer_rows(cme, hw, wl, obj)
                    layers.append(row)
                    levels.extend(lv)
                print(f"{hw:14s} {wl:12s} {obj:8s} {len(cmes):3d} layers "
                      f"{time.perf_counter() - start:7.1f} s", flush=True)
    return _csv(LAYER_COLUMNS, layers), _csv(LEVEL_COLUMNS, levels)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="exit 1 if the cached CSVs are stale")
    p.add_argument("--lpf-limit", type=int, default=Settings.lpf_limit)
    p.add_argument("--nb-spatial-mappings", type=int, default=Settings.nb_spatial_mappings)
    p.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = p.parse_args(argv)
    start = time.perf_counter()
    texts = render(tuple(HARDWARE_MAPPINGS), tuple(WORKLOADS), OBJECTIVES, args.lpf_limit,
                   args.nb_spatial_mappings)
    print(f"total {time.perf_counter() - start:.1f} s")
    files = dict(zip((args.out_dir / "zigzag_layers.csv", args.out_dir / "zigzag_levels.csv"),
                     texts, strict=True))
    return write_or_check(files, args.check)


if __name__ == "__main__":
    raise SystemExit(main())
