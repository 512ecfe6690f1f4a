"""Buffer traffic of GEMMs on a systolic array, and the time of a double-buffered tile pipeline.

Pure numpy over arrays (one element per GEMM x design point), so a sweep of thousands of designs
is one call. Operands: A (ifmap, MxK), B (filter, KxN), C (ofmap, MxN).

- SRAM traffic (global buffer -> array), counted on the lowered GEMM as SCALE-Sim counts it:
  every fold streams its operand blocks from SRAM into the array edges, so an operand that is not
  stationary is read once per fold of the other spatial dimension; partial sums of the reduction
  folds (ws, is) are written and read back at accumulator width.
- Off-chip traffic (off-chip -> global buffer) follows the work's own loop nest and the tiling
  the mapper picks (:mod:`hwsim.engine.accelerator.mapper`).
- Time: loads of tile i+1 overlap compute of tile i (:func:`overlap_cycles`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.engine.accelerator.systolic import fold_counts
from hwsim.workload.ops import ACCUMULATOR_BYTES

ArrayLike = np.ndarray | int | float


@dataclass(frozen=True)
class SramTraffic:
    """Bytes between the global buffers and the array for ``count`` GEMMs (broadcast arrays)."""

    read_a: np.ndarray  # bytes read from the ifmap SRAM into the array
    read_b: np.ndarray
    read_c: np.ndarray  # partial sums read back
    write_c: np.ndarray  # outputs and partial sums written
    folds: np.ndarray  # folds of one GEMM (row folds x col folds)
    first_fold_bytes: np.ndarray  # operand blocks the first fold needs before it can start


def sram_traffic(m: ArrayLike, n: ArrayLike, k: ArrayLike, count: ArrayLike,
                 dtype_bytes: ArrayLike, rows: ArrayLike, cols: ArrayLike,
                 dataflow: str, psum_bytes: int = ACCUMULATOR_BYTES,
                 k_reduce: ArrayLike | None = None) -> SramTraffic:
    """Global-buffer traffic of ``count`` GEMMs per design point (os, ws, is arrays); partial
    sums move at ``psum_bytes``. ``k_reduce`` is the K the array reduces over when sparsity
    compacts it (N:M slots, skipped rows; default K): on ws/is arrays the reduction folds, and
    so the partial sums written and read back, follow it (operand bytes stay relative to K)."""
    m, n, k, count = (np.asarray(x, dtype=np.float64) for x in (m, n, k, count))
    b = np.asarray(dtype_bytes, dtype=np.float64)
    k_arr = k if k_reduce is None else np.asarray(k_reduce, dtype=np.float64)
    rf, cf = (np.asarray(x, dtype=np.float64)
              for x in fold_counts(m, n, k_arr, rows, cols, dataflow))
    acc = float(psum_bytes)
    a_bytes, b_bytes = m * k * b, k * n * b
    if dataflow == "os":  # rows of A (M) and cols of B (N) on the array edges, K streamed
        read_a, read_b = a_bytes * cf, b_bytes * rf
        first = (np.minimum(rows, m) * k + k * np.minimum(cols, n)) * b
    elif dataflow == "ws":  # a rows x cols block of B resident, A streamed (M x rows)
        read_a, read_b = a_bytes * cf, b_bytes
        first = (np.minimum(rows, k) * np.minimum(cols, n) + m * np.minimum(rows, k)) * b
    elif dataflow == "is":  # a rows x cols block of A resident, B streamed (rows x N)
        read_a, read_b = a_bytes, b_bytes * cf
        first = (np.minimum(rows, k) * np.minimum(cols, m) + np.minimum(rows, k) * n) * b
    else:
        raise ValueError(f"unknown dataflow {dataflow!r}")
    # Reduction folds produce partial sums (ws, is); os accumulates inside the PEs.
    k_folds = rf if dataflow in ("ws", "is") else np.ones_like(rf)
    return SramTraffic(read_a=read_a * count, read_b=read_b * count,
                       read_c=(m * n * acc) * (k_folds - 1) * count,
                       write_c=(m * n * acc) * k_folds * count, folds=rf * cf,
                       first_fold_bytes=first)


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
    it binds when a few tiles write much more than they read). Memory-bound with several
    tiles, the port also idles while the first tile computes, except for loading the second
    (``front_idle``). The largest of the three is the
    estimate; the cycle engine's event simulation is held within 2 % of it (and equals it on
    memory-bound GEMMs, tests/test_cycle_engine.py)."""
    bw = np.asarray(bw_bytes_per_cycle, dtype=np.float64)
    mem = offchip_bytes / bw
    pro = prologue_bytes / bw
    epi = np.asarray(epilogue_bytes, dtype=np.float64) / bw
    n_tiles = np.maximum(np.asarray(tiles, dtype=np.float64), 1.0)
    last = compute_cycles / n_tiles
    covered = np.where(n_tiles > 1, np.minimum(last, epi), 0.0)
    # While the first tile computes, the port can only load the second (two slots): with
    # little to load it idles; this binds when stores dominate the traffic.
    next_load = np.maximum(mem - epi * n_tiles - pro, 0.0) / np.maximum(n_tiles - 1, 1.0)
    front_idle = np.where(n_tiles > 1, np.maximum(last - next_load, 0.0), 0.0)
    stores_after_first = pro + last + epi * n_tiles
    return np.ceil(np.maximum(np.maximum(pro + compute_cycles + epi,
                                         mem + last - covered + front_idle),
                              stores_after_first))
