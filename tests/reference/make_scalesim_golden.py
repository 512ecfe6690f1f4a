"""Regenerate scalesim_golden.csv: SCALE-Sim v3.0.0 outputs for a fixed set of layers.

Run from the repo root with the dev environment (numpy < 2.4, scalesim==3.0.0):

    .venv/bin/python tests/reference/make_scalesim_golden.py

Takes about a minute. The case list is hand-picked edge cases plus seeded random draws, so a
rerun reproduces the file byte for byte. hwsim is not imported: the file holds only SCALE-Sim's
own numbers (and, for convs, the GEMM dims SCALE-Sim lowers them to, by its own ceil rule).
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from tests.peers.scalesim_runner import (  # noqa: E402
    DATAFLOWS,
    ConvLayer,
    GemmLayer,
    run_layer,
)

OUT_CSV = Path(__file__).with_name("scalesim_golden.csv")
FIELDS = ["kind", "h", "w", "c", "filters", "r", "s", "stride", "m", "n", "k", "rows", "cols",
          "dataflow", "total_cycles", "stall_cycles", "mapping_efficiency_pct",
          "compute_util_pct", "overall_util_pct"]

# (layer, rows, cols): run under every dataflow. Chosen to hit the formula's corners.
EDGE_CASES: list[tuple[GemmLayer | ConvLayer, int, int]] = [
    (GemmLayer(1, 1, 1), 8, 8),  # smallest GEMM: pure fill/drain
    (GemmLayer(8, 8, 8), 8, 8),  # exactly one full fold
    (GemmLayer(9, 9, 9), 8, 8),  # one element past a fold edge in every dim
    (GemmLayer(300, 1, 1), 16, 8),  # tall and skinny
    (GemmLayer(1, 300, 1), 8, 16),  # short and wide
    (GemmLayer(1, 1, 300), 8, 8),  # long reduction only
    (GemmLayer(256, 256, 1), 256, 256),  # largest array, one fold
    (GemmLayer(7, 3, 2), 256, 8),  # tiny GEMM, very non-square arrays
    (GemmLayer(7, 3, 2), 8, 256),
    (ConvLayer(12, 10, 3, 20, 3, 3, 2), 8, 16),  # stride not dividing H-R: SCALE-Sim's ceil
    (ConvLayer(14, 14, 32, 64, 1, 1, 1), 32, 32),  # pointwise conv
    (ConvLayer(20, 20, 3, 16, 7, 7, 2), 64, 16),  # stem-like conv
]
RANDOM_PER_DATAFLOW = 16


def _gemm_dims(layer: GemmLayer | ConvLayer) -> tuple[int, int, int]:
    """SCALE-Sim's own lowering (topology_utils): E = ceil((H - R + stride) / stride)."""
    if isinstance(layer, GemmLayer):
        return layer.m, layer.n, layer.k
    e = math.ceil((layer.h - layer.r + layer.stride) / layer.stride)
    f = math.ceil((layer.w - layer.s + layer.stride) / layer.stride)
    return e * f, layer.filters, layer.r * layer.s * layer.c


def _random_cases(dataflow_index: int) -> list[tuple[GemmLayer | ConvLayer, int, int]]:
    rng = np.random.default_rng(7000 + dataflow_index)
    cases: list[tuple[GemmLayer | ConvLayer, int, int]] = []
    while len(cases) < RANDOM_PER_DATAFLOW:
        rows, cols = (round(2 ** rng.uniform(3, 8)) for _ in range(2))
        layer: GemmLayer | ConvLayer
        if len(cases) % 2 == 0:
            layer = GemmLayer(*(round(2 ** rng.uniform(0, 9)) for _ in range(3)))
        else:
            r = int(rng.choice([1, 3, 5]))
            layer = ConvLayer(h=int(rng.integers(r, 25)), w=int(rng.integers(r, 25)),
                              c=int(rng.integers(1, 17)), filters=int(rng.integers(1, 65)),
                              r=r, s=r, stride=int(rng.integers(1, 4)))
        m, n, k = _gemm_dims(layer)
        # Keep SCALE-Sim's trace walk short: bound the size of the GEMM per PE.
        if m * n * k <= 40 * rows * cols * max(rows, cols):
            cases.append((layer, rows, cols))
    return cases


def _row(layer: GemmLayer | ConvLayer, rows: int, cols: int, dataflow: str) -> dict[str, object]:
    res = run_layer(layer, rows, cols, dataflow)
    m, n, k = _gemm_dims(layer)
    conv = {} if isinstance(layer, GemmLayer) else {
        "h": layer.h, "w": layer.w, "c": layer.c, "filters": layer.filters, "r": layer.r,
        "s": layer.s, "stride": layer.stride}
    return {"kind": "gemm" if isinstance(layer, GemmLayer) else "conv", **conv,
            "m": m, "n": n, "k": k, "rows": rows, "cols": cols, "dataflow": dataflow,
            "total_cycles": res.total_cycles, "stall_cycles": res.stall_cycles,
            "mapping_efficiency_pct": repr(res.mapping_efficiency_pct),
            "compute_util_pct": repr(res.compute_util_pct),
            "overall_util_pct": repr(res.overall_util_pct)}


def main() -> None:
    out = []
    for index, dataflow in enumerate(DATAFLOWS):
        for layer, rows, cols in EDGE_CASES + _random_cases(index):
            out.append(_row(layer, rows, cols, dataflow))
            print(f"{len(out):3d} {dataflow} {layer} {rows}x{cols}: "
                  f"{out[-1]['total_cycles']} cycles", flush=True)
    with OUT_CSV.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(out)
    print(f"wrote {len(out)} rows to {OUT_CSV}")


if __name__ == "__main__":
    main()
