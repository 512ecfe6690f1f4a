"""Tiles for the cycle engine: how each work item of an op is cut up and what each tile moves.

GEMMs are cut into their folds x count; on an output-stationary array that skips zeros, a
realised mask sets each row fold's time by its slowest lane. Streamed work (vector, router)
moves in DMA chunks. :mod:`hwsim.engine.accelerator.pipeline` runs the tiles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from hwsim.config.chip import AcceleratorChip
from hwsim.engine.accelerator.costs import STREAM_CHUNK_BYTES, Costs
from hwsim.engine.accelerator.sparse_effects import SparseEffect
from hwsim.mapping.primitives import GemmWork
from hwsim.sparsity.masks import PackedMask


@dataclass(frozen=True)
class WorkTiming:
    """One work item's timing inputs for the cycle engine (all cycles and bytes totals)."""

    op_index: int
    unit: str  # array | vector_unit | router_unit
    label: str
    compute_cycles: float
    load_bytes: float  # off-chip reads (operands in)
    store_bytes: float  # off-chip writes (outputs, spilled partial sums)
    prologue_bytes: float  # the first tile's load, which nothing can hide
    tiles: int  # tiles the work is cut into (folds x count for GEMMs)
    tile_compute: np.ndarray | None = None  # per-tile compute when tiles differ (realised masks)



def gemm_timings(gemms: list[tuple[int, GemmWork]], g: Costs, effects: list[SparseEffect],
                  chip: AcceleratorChip, masks: Mapping[int, PackedMask] | None
                  ) -> list[WorkTiming]:
    """Tiles of each GEMM: its folds x count. On an output-stationary array that skips zeros,
    a realised mask sets each row fold's time by its slowest lane (one token per PE row)."""
    from hwsim.engine.accelerator.systolic import fold_counts
    from hwsim.kernels.sparsity_kernels import lane_work

    assert g.prologue_bytes is not None and g.offchip_by_operand is not None
    n = len(gemms)

    def col(x: np.ndarray) -> np.ndarray:
        return np.broadcast_to(np.asarray(x, dtype=np.float64), (n,))

    comp, pro = col(g.compute_cycles), col(g.prologue_bytes)
    load = col(g.offchip_by_operand["a"]) + col(g.offchip_by_operand["b"])
    store = col(g.offchip_by_operand["c"])
    rows, cols = chip.array.rows, chip.array.cols
    f = chip.sparse_features
    out: list[WorkTiming] = []
    assert g.tiles is not None
    n_tiles = col(g.tiles)
    for j, (i, w) in enumerate(gemms):
        eff = effects[j]
        count = max(1, round(w.count))
        tiles = max(1, round(float(n_tiles[j])))
        per_tile = None
        mask = None if masks is None else masks.get(j)
        if (mask is not None and f.zero_skipping and chip.dataflow == "os"
                and w.sparse_dim == "k" and mask.k_dim == w.k):
            k_c = eff.k_compute or w.k
            n_c = eff.n_compute or w.n
            rf, cf = (int(x) for x in fold_counts(w.m, n_c, k_c, rows, cols, chip.dataflow))
            block = f.skip_block_elements if f.skip_granularity == "block" else 1
            max_lane, _ = lane_work(mask.bits, mask.k_dim, rows, block)
            work = max_lane.astype(np.float64) * block
            decode = f.decode_cycles_per_block * max_lane
            fold = np.maximum(work, 1.0) + decode + rows + cols - 2
            fold = fold[:rf] if fold.size >= rf else np.resize(fold, rf)
            per_tile = np.tile(np.repeat(fold, cf), count)
            per_tile *= comp[j] / max(per_tile.sum(), 1.0)  # same total as the cost model
            tiles = per_tile.size
        out.append(WorkTiming(int(i), "array", f"gemm {w.m}x{w.n}x{w.k}", float(comp[j]),
                              float(load[j]), float(store[j]), float(pro[j]), tiles, per_tile))
    return out


def stream_timings(items: list[tuple[int, object]], c: Costs, unit: str,
                    chip: AcceleratorChip) -> list[WorkTiming]:
    """Vector/router work streams through the buffers in DMA chunks (STREAM_CHUNK_BYTES, or
    half the ifmap buffer if smaller), so its loads, compute and stores overlap."""
    n = len(items)
    comp = np.broadcast_to(np.asarray(c.compute_cycles, np.float64), (n,))
    total_off = np.broadcast_to(np.asarray(c.offchip_bytes, np.float64), (n,))
    chunk = max(1.0, min(STREAM_CHUNK_BYTES, chip.buffers.ifmap.size_bytes / 2))
    out = []
    for j, (i, w) in enumerate(items):
        b_out = float(getattr(w, "bytes_out", 0.0) or 0.0)
        if unit == "router_unit":
            gw = w  # a GemmWork on the router unit: outputs are M x N
            b_out = float(gw.m * gw.n * gw.count * gw.dtype_bytes)  # type: ignore[attr-defined]
        b_in = float(total_off[j]) - b_out
        tiles = max(1, int(np.ceil(max(b_in, 1.0) / chunk)))
        out.append(WorkTiming(int(i), unit, unit, float(comp[j]), b_in, b_out,
                              min(b_in, chunk), tiles))
    return out
