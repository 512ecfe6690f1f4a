"""Closed-form compute timing of a dense GEMM on a systolic array, as SCALE-Sim v3 counts it.

GEMM convention: A is M x K, B is K x N, the output is M x N. A conv is lowered first
(:func:`hwsim.mapping.lowering.conv_to_gemm`): M = ofmap pixels, K = R*S*C, N = filters.

SCALE-Sim (v3.0.0, ``compute/systolic_compute_{os,ws,is}.py``) maps the GEMM onto a
``rows x cols`` array by naming a spatial-row dimension Sr, a spatial-col dimension Sc and a
temporal dimension T (:func:`operand_dims`), cuts Sr into ``ceil(Sr / rows)`` row folds and Sc
into ``ceil(Sc / cols)`` col folds, and runs the folds strictly one after another: every fold
pays its full pipeline fill, skew and drain, nothing overlaps between folds, and every fold, even
a partial edge fold, takes the same number of cycles (:func:`fold_cycles`).

Everything here is pure integer/float numpy and broadcasts over m, n, k, rows and cols, so one
call evaluates any number of design points. ``dataflow`` is one scalar string per call.
``rows`` is the array height (SCALE-Sim ``ArrayHeight``), ``cols`` its width (``ArrayWidth``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Dataflow = Literal["os", "ws", "is"]
IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

DATAFLOWS: tuple[str, ...] = ("os", "ws", "is")


def _ints(*values: ArrayLike) -> list[IntArray]:
    """Broadcast-ready int64 arrays; reject non-positive sizes (they have no meaningful timing)."""
    out = [np.asarray(v, dtype=np.int64) for v in values]
    for a in out:
        # Scalar fast path: a numpy reduction costs ~5 us, as much as the whole formula.
        if (int(a) <= 0) if a.ndim == 0 else bool((a <= 0).any()):
            raise ValueError(f"GEMM and array sizes must be >= 1, got min {int(a.min())}")
    return out


def _ceil_div(a: IntArray, b: IntArray) -> IntArray:
    # Exact integer ceiling; a float ceil would round wrongly past 2**53.
    return -(-a // b)


def _spatial_temporal(
    m: IntArray, n: IntArray, k: IntArray, dataflow: str
) -> tuple[IntArray, IntArray, IntArray]:
    if dataflow == "os":
        return m, n, k
    if dataflow == "ws":
        return k, n, m
    if dataflow == "is":
        return k, m, n
    raise ValueError(f"dataflow must be one of {DATAFLOWS}, got {dataflow!r}")


class _Mapping:
    """Validated, broadcast-ready operands of one call: (sr, sc, t) plus the array shape."""

    def __init__(self, m: ArrayLike, n: ArrayLike, k: ArrayLike, rows: ArrayLike,
                 cols: ArrayLike, dataflow: str) -> None:
        m_, n_, k_, self.rows, self.cols = _ints(m, n, k, rows, cols)
        self.macs = m_ * n_ * k_
        self.sr, self.sc, self.t = _spatial_temporal(m_, n_, k_, dataflow)
        self.dataflow = dataflow
        self.row_folds = _ceil_div(self.sr, self.rows)
        self.col_folds = _ceil_div(self.sc, self.cols)

    def fold_cycles(self) -> IntArray:
        if self.dataflow == "os":
            # t operand pairs stream in; the wavefront skews over rows-1 rows and cols-1 cols.
            return self.t + self.rows + self.cols - 2
        # rows cycles to preload the stationary operand, t streaming cycles, rows-1 cycles of
        # input skew, cols-1 cycles for the last partial sums to leave the array.
        return self.t + 2 * self.rows + self.cols - 2

    def total_cycles(self) -> IntArray:
        # SCALE-Sim reports the 0-based index of the last demand row, hence the - 1.
        return self.row_folds * self.col_folds * self.fold_cycles() - 1

    def mapping_efficiency(self) -> FloatArray:
        # Used rows over all row folds sum to sr (cols to sc), so the unweighted per-fold mean
        # of used_rows*used_cols/(rows*cols) collapses to this ratio.
        slots = self.row_folds * self.rows * self.col_folds * self.cols
        return (self.sr * self.sc) / slots.astype(np.float64)

    def utilization_window(self) -> IntArray:
        # SCALE-Sim divides each fold's MACs by "demand rows + demand cols - 1" of the matrix it
        # derives the metric from: the skewed ofmap demand for os (= the fold length), the
        # unskewed filter (ws) / ifmap (is) demand otherwise, which adds one more cols - 1.
        if self.dataflow == "os":
            return self.t + self.rows + self.cols - 2
        return self.t + 2 * self.rows + 2 * self.cols - 3


def operand_dims(
    m: ArrayLike, n: ArrayLike, k: ArrayLike, dataflow: Dataflow
) -> tuple[IntArray, IntArray, IntArray]:
    """Spatial-row, spatial-col and temporal extents ``(sr, sc, t)`` of an M x K x N GEMM.

    Units: elements (sr, sc) and streaming steps, one per cycle (t). As SCALE-Sim maps them:

    - ``os`` (output stationary): sr = M (ofmap pixels on rows), sc = N (filters on cols),
      t = K (the reduction streams through each PE).
    - ``ws`` (weight stationary): sr = K (reduction on rows), sc = N, t = M (pixels stream).
    - ``is`` (input stationary): sr = K, sc = M (ofmap pixels on cols), t = N (filters stream).
    """
    m_, n_, k_ = _ints(m, n, k)
    return _spatial_temporal(m_, n_, k_, dataflow)


def broadcast_cycles(
    m: ArrayLike, n: ArrayLike, k: ArrayLike, rows: ArrayLike, cols: ArrayLike,
    dataflow: Dataflow,
) -> IntArray:
    """Cycles of one GEMM on an array whose operands are broadcast to the PEs over a bus
    (Eyeriss's multicast network, ZigZag's arrays without ``systolic_dimensions``) instead of
    shifting PE to PE: the same folds, each lasting its temporal extent ``t``, with no fill,
    skew or drain (stationary operands load into the PEs' double-buffered registers under the
    previous fold)."""
    mp = _Mapping(m, n, k, rows, cols, dataflow)
    return np.asarray(mp.row_folds * mp.col_folds * mp.t)


def fold_counts(
    m: ArrayLike, n: ArrayLike, k: ArrayLike, rows: ArrayLike, cols: ArrayLike,
    dataflow: Dataflow,
) -> tuple[IntArray, IntArray]:
    """Row folds ``ceil(sr / rows)`` and col folds ``ceil(sc / cols)`` (counts)."""
    mp = _Mapping(m, n, k, rows, cols, dataflow)
    return np.asarray(mp.row_folds), np.asarray(mp.col_folds)


def fold_cycles(
    m: ArrayLike, n: ArrayLike, k: ArrayLike, rows: ArrayLike, cols: ArrayLike,
    dataflow: Dataflow,
) -> IntArray:
    """Cycles one fold occupies the array (SCALE-Sim's per-fold demand-matrix height).

    ``os``: ``t + rows + cols - 2``. ``ws`` / ``is``: ``t + 2*rows + cols - 2`` (``rows`` extra
    cycles to preload the stationary operand before streaming).
    """
    return np.asarray(_Mapping(m, n, k, rows, cols, dataflow).fold_cycles())


def compute_cycles(
    m: ArrayLike, n: ArrayLike, k: ArrayLike, rows: ArrayLike, cols: ArrayLike,
    dataflow: Dataflow,
) -> IntArray:
    """Cycles of one GEMM, equal to the "Total Cycles" column of SCALE-Sim's COMPUTE_REPORT.

    Formula: ``row_folds * col_folds * fold_cycles - 1`` array-clock cycles.

    Which column: SCALE-Sim writes "Total Cycles (incl. prefetch)" (first DRAM prefetch to last
    DRAM write, so it includes memory traffic outside compute), "Total Cycles" and "Stall
    Cycles". We match "Total Cycles", which is compute plus memory stall cycles; in the
    stall-free ``InterfaceBandwidth: CALC`` mode the stalls are 0, so it is pure compute
    including every fold's fill, skew and drain. SCALE-Sim takes it as the cycle *index* of the
    last ofmap demand row (numbered from 0), hence the ``- 1`` against the number of rows.
    """
    return np.asarray(_Mapping(m, n, k, rows, cols, dataflow).total_cycles())


def mapping_efficiency(
    m: ArrayLike, n: ArrayLike, k: ArrayLike, rows: ArrayLike, cols: ArrayLike,
    dataflow: Dataflow,
) -> FloatArray:
    """Fraction (0, 1] of PEs holding a mapped element, averaged over folds.

    SCALE-Sim's definition: per fold ``used_rows * used_cols / (rows * cols)``; its report's
    "Mapping Efficiency %" is 100 x the plain (unweighted) mean over all folds. The used rows of
    the row folds sum to sr (the used cols to sc), so the mean is exactly
    ``sr * sc / (row_folds * rows * col_folds * cols)``.
    """
    return np.asarray(_Mapping(m, n, k, rows, cols, dataflow).mapping_efficiency())


def compute_utilization(
    m: ArrayLike, n: ArrayLike, k: ArrayLike, rows: ArrayLike, cols: ArrayLike,
    dataflow: Dataflow,
) -> FloatArray:
    """Fraction (0, 1] of PE-cycles doing a MAC within the folds, SCALE-Sim's "Compute Util %"/100.

    SCALE-Sim's definition: per fold ``used_rows * used_cols * t / (rows * cols * window)``, then
    the unweighted mean over folds. ``window`` is ``t + rows + cols - 2`` for ``os`` (the fold
    length) and ``t + 2*rows + 2*cols - 3`` for ``ws``/``is`` (``cols - 1`` more than the fold
    length, a SCALE-Sim quirk kept on purpose). The window is the same for every fold, so the
    mean is ``mapping_efficiency * t / window``.
    """
    mp = _Mapping(m, n, k, rows, cols, dataflow)
    return np.asarray(mp.mapping_efficiency() * mp.t / mp.utilization_window())


def overall_utilization(
    m: ArrayLike, n: ArrayLike, k: ArrayLike, rows: ArrayLike, cols: ArrayLike,
    dataflow: Dataflow,
) -> FloatArray:
    """Fraction of all PE-cycles doing useful MACs: ``M*N*K / (compute_cycles * rows * cols)``.

    This is SCALE-Sim's "Overall Util %" / 100; it divides by "Total Cycles", so it carries the
    ``- 1`` of :func:`compute_cycles` too.
    """
    mp = _Mapping(m, n, k, rows, cols, dataflow)
    pe_cycles = mp.total_cycles() * mp.rows * mp.cols
    return np.asarray(mp.macs / pe_cycles.astype(np.float64))
