"""Memory traffic and stalls of GEMMs on a systolic array with double-buffered SRAMs.

Pure numpy over arrays (one element per GEMM x design point), so a sweep of thousands of designs
is one call. Operands: A (ifmap, MxK), B (filter, KxN), C (ofmap, MxN).

Model (documented in the README glossary):
- SRAM traffic: every fold streams its operand blocks from SRAM into the array edges, so an
  operand that is not stationary is read once per fold of the other spatial dimension; partial
  sums of the reduction folds (ws, is) are written and read back at accumulator width.
- Off-chip traffic: each SRAM is double-buffered, so half of it holds the working set. Two loop
  orders are candidates per dataflow; the mapper keeps the one with fewer off-chip bytes. An
  operand whose reuse set fits in its half-buffer is fetched once, otherwise once per fold of
  the outer loop. Outputs are written once at the op's dtype; partial sums that do not fit spill.
- Time: loads of tile i+1 overlap compute of tile i, so
  ``cycles = prologue + max(compute, offchip - prologue)``, where the prologue is the first
  tile's load, which nothing can hide. ``stall = cycles - compute``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.engine.accelerator.systolic import fold_counts
from hwsim.workload.ops import ACCUMULATOR_BYTES

ArrayLike = np.ndarray | int | float


@dataclass(frozen=True)
class GemmTraffic:
    """Bytes per level for ``count`` GEMMs, all arrays of the broadcast shape."""

    sram_read_a: np.ndarray  # bytes read from the ifmap SRAM into the array
    sram_read_b: np.ndarray
    sram_read_c: np.ndarray  # partial sums read back
    sram_write_c: np.ndarray  # outputs and partial sums written
    offchip_a: np.ndarray  # bytes fetched from off-chip into the ifmap SRAM
    offchip_b: np.ndarray
    offchip_c: np.ndarray  # bytes written to and (spills) read from off-chip for C
    prologue_bytes: np.ndarray  # first tile's load, cannot overlap compute
    epilogue_bytes: np.ndarray  # last tile's store, cannot overlap compute
    tiles: np.ndarray  # folds of one GEMM (row folds x col folds)
    loop_order: np.ndarray  # 0: first candidate order, 1: second (see ORDERS)

    @property
    def offchip_total(self) -> np.ndarray:
        return self.offchip_a + self.offchip_b + self.offchip_c


# Loop-order candidates per dataflow, outer loop first: (fold dimension of the outer loop).
ORDERS = {
    "os": ("row-folds(M) outer", "col-folds(N) outer"),
    "ws": ("col-folds(N) outer", "row-folds(K) outer"),
    "is": ("col-folds(M) outer", "row-folds(K) outer"),
}


def gemm_traffic(m: ArrayLike, n: ArrayLike, k: ArrayLike, count: ArrayLike,
                 dtype_bytes: ArrayLike, rows: ArrayLike, cols: ArrayLike,
                 ifmap_bytes: ArrayLike, filter_bytes: ArrayLike, ofmap_bytes: ArrayLike,
                 dataflow: str, b_shared: ArrayLike = False) -> GemmTraffic:
    """Traffic of ``count`` GEMMs per design point. Buffer sizes are full SRAM capacities."""
    m, n, k, count = (np.asarray(x, dtype=np.float64) for x in (m, n, k, count))
    b = np.asarray(dtype_bytes, dtype=np.float64)
    rows = np.asarray(rows, dtype=np.float64)
    cols = np.asarray(cols, dtype=np.float64)
    cap_a, cap_b, cap_c = (np.asarray(x, dtype=np.float64) / 2.0
                           for x in (ifmap_bytes, filter_bytes, ofmap_bytes))
    shared = np.asarray(b_shared, dtype=bool)
    rf, cf = (np.asarray(x, dtype=np.float64) for x in fold_counts(m, n, k, rows, cols, dataflow))
    acc = float(ACCUMULATOR_BYTES)
    a_bytes, b_bytes, c_bytes = m * k * b, k * n * b, m * n * b
    # Reduction folds produce partial sums (ws, is); os accumulates inside the PEs.
    k_folds = rf if dataflow in ("ws", "is") else np.ones_like(rf)
    if dataflow == "os":
        sram_a, sram_b = a_bytes * cf, b_bytes * rf
        # order 0: M-folds outer -> A block (rows x K) reused across N-folds, B re-read per M-fold
        a0 = np.where(np.minimum(rows, m) * k * b <= cap_a, a_bytes, a_bytes * cf)
        b0 = np.where(b_bytes <= cap_b, b_bytes, b_bytes * rf)
        a1 = np.where(a_bytes <= cap_a, a_bytes, a_bytes * cf)
        b1 = np.where(k * np.minimum(cols, n) * b <= cap_b, b_bytes, b_bytes * rf)
        c0 = c1 = c_bytes
        pro = np.minimum(np.minimum(rows, m) * k * b, cap_a) + np.minimum(
            k * np.minimum(cols, n) * b, cap_b)
    elif dataflow == "ws":
        sram_a, sram_b = a_bytes * cf, b_bytes
        b0 = b1 = b_bytes
        # order 0: N-folds outer, K-folds inner -> partials M x cols stay; A re-read per N-fold
        a0 = np.where(a_bytes <= cap_a, a_bytes, a_bytes * cf)
        c0 = _partials(m * np.minimum(cols, n) * acc, cap_c, c_bytes, m * n * acc, k_folds)
        # order 1: K-folds outer -> A block M x rows reused across N-folds; partials M x N stay
        a1 = np.where(m * np.minimum(rows, k) * b <= cap_a, a_bytes, a_bytes * cf)
        c1 = _partials(m * n * acc, cap_c, c_bytes, m * n * acc, k_folds)
        pro = np.minimum(np.minimum(rows, k) * np.minimum(cols, n) * b, cap_b) + np.minimum(
            m * np.minimum(rows, k) * b, cap_a)
    elif dataflow == "is":
        sram_a, sram_b = a_bytes, b_bytes * cf
        a0 = a1 = a_bytes
        # order 0: M-folds outer -> partials cols x N stay; B re-read per M-fold
        b0 = np.where(b_bytes <= cap_b, b_bytes, b_bytes * cf)
        c0 = _partials(np.minimum(cols, m) * n * acc, cap_c, c_bytes, m * n * acc, k_folds)
        # order 1: K-folds outer -> B block rows x N reused across M-folds; partials M x N stay
        b1 = np.where(np.minimum(rows, k) * n * b <= cap_b, b_bytes, b_bytes * cf)
        c1 = _partials(m * n * acc, cap_c, c_bytes, m * n * acc, k_folds)
        pro = np.minimum(np.minimum(rows, k) * np.minimum(cols, m) * b, cap_a) + np.minimum(
            np.minimum(rows, k) * n * b, cap_b)
    else:
        raise ValueError(f"unknown dataflow {dataflow!r}")
    t0, t1 = a0 + b0 + c0, a1 + b1 + c1
    order = (t1 < t0).astype(np.int8)
    off_a = np.where(order == 1, a1, a0)
    off_b = np.where(order == 1, b1, b0)
    off_c = np.where(order == 1, c1, c0)
    # A B shared by all `count` GEMMs (recurrent steps) is fetched once if it fits on chip.
    off_b_total = np.where(shared & (b_bytes <= cap_b), off_b, off_b * count)
    sram_write_c = (m * n * acc) * k_folds
    sram_read_c = (m * n * acc) * (k_folds - 1)
    return GemmTraffic(
        sram_read_a=sram_a * count, sram_read_b=sram_b * count, sram_read_c=sram_read_c * count,
        sram_write_c=sram_write_c * count, offchip_a=off_a * count, offchip_b=off_b_total,
        offchip_c=off_c * count, prologue_bytes=np.minimum(pro, (off_a + off_b + off_c)),
        epilogue_bytes=off_c / (rf * cf), tiles=rf * cf, loop_order=order)


def _partials(working_set: np.ndarray, cap_c: np.ndarray, c_bytes: np.ndarray,
              partial_bytes: np.ndarray, k_folds: np.ndarray) -> np.ndarray:
    """Off-chip bytes for C: final outputs once if partial sums fit, else every partial spills
    (written each reduction fold and read back for all but the first)."""
    spill = partial_bytes * k_folds + partial_bytes * (k_folds - 1)
    return np.where((working_set <= cap_c) | (k_folds <= 1), c_bytes, spill)


def overlap_cycles(compute_cycles: np.ndarray, offchip_bytes: np.ndarray,
                   prologue_bytes: np.ndarray, bw_bytes_per_cycle: ArrayLike,
                   epilogue_bytes: ArrayLike = 0.0, tiles: ArrayLike = 1.0) -> np.ndarray:
    """Total cycles of a double-buffered tile pipeline with one off-chip port.

    Compute-bound, the first tile's load and the last tile's store are exposed:
    ``prologue + compute + epilogue``. Memory-bound, the port is busy for all the traffic and
    only the part of the last tile's compute that the port cannot fill is added: the last load
    ends, the last tile computes, and meanwhile the port writes the previous tile's outputs
    (queued behind that load; one tile's share, ``epilogue``), so
    ``offchip + max(0, last - epilogue)`` with ``last = compute / tiles``. A single tile has no
    previous store: its compute is exposed whole. And no output can be written before the first
    tile is loaded and computed: ``prologue + last + stores`` (``stores = epilogue x tiles``;
    it binds when a few tiles write much more than they read). The largest of the three is the
    estimate; the cycle engine's event simulation is held within 2 % of it (and equals it on
    memory-bound GEMMs, tests/test_cycle_engine.py)."""
    bw = np.asarray(bw_bytes_per_cycle, dtype=np.float64)
    mem = offchip_bytes / bw
    pro = prologue_bytes / bw
    epi = np.asarray(epilogue_bytes, dtype=np.float64) / bw
    n_tiles = np.maximum(np.asarray(tiles, dtype=np.float64), 1.0)
    last = compute_cycles / n_tiles
    covered = np.where(n_tiles > 1, np.minimum(last, epi), 0.0)
    stores_after_first = pro + last + epi * n_tiles
    return np.ceil(np.maximum(np.maximum(pro + compute_cycles + epi, mem + last - covered),
                              stores_after_first))
