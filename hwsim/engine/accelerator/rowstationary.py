"""Row-stationary dataflow (Eyeriss; Chen et al., ISCA 2016 and JSSC 2017): compute cycles and
global-buffer traffic.

A 2-D convolution is broken into 1-D row convolutions. The *logical PE set* of one (image,
filter, channel) plane is FY x OY PEs: PE (i, j) keeps filter row i in its filter scratchpad,
slides it along ifmap row ``j*stride + i`` and produces a partial-sum row of output row j; the
FY partial rows of one output row are summed vertically through the column. Ifmap rows are
multicast diagonally, filter rows horizontally.

The set is folded onto the physical ``rows x cols`` array:

- rows: ``v = rows // FY`` sets stacked vertically when FY fits (each on another plane), else
  FY is cut into ``ceil(FY / rows)`` passes whose partial sums meet in the global buffer;
- cols: OY is cut into ``ceil(OY / cols)`` strips, or ``h = cols // OY`` sets side by side when
  OY is short.

Every PE runs one MAC per cycle; a plane's 1-D convolutions take ``OX x FX`` cycles per
strip and pass, so ``cycles = ceil(planes / (v h)) x strips x passes x OX x FX`` with
``planes = B x K x C``. In each PE's scratchpads ``p`` filters share one ifmap window of ``q``
channels (filter spad >= p q FX words, ifmap spad >= q FX, psum spad >= p): an ifmap row is read
from the global buffer once per ``p x v h`` filters, filter rows once per strip and image, and
partial sums leave the array once per ``q`` channels. ``p`` and ``q`` are chosen under the
scratchpad capacities to minimise global-buffer energy.

What hwsim does not model of Eyeriss: run-length compression of ifmaps off chip, the batch
dimension ``n`` kept in the psum spad (images are processed one after another), and the
filter path that bypasses the global buffer (filters are counted through the filter buffer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.mapping.loopnest import LoopNest
from hwsim.workload.ops import ACCUMULATOR_BYTES


@dataclass(frozen=True)
class RsMapping:
    """Row-stationary mapping of work items (arrays over works x designs, all repeats)."""

    compute_cycles: np.ndarray
    utilization: np.ndarray  # MACs / (cycles x PEs)
    read_a: np.ndarray  # global buffer -> array, ifmap bytes
    read_b: np.ndarray
    read_c: np.ndarray  # partial sums read back into the array
    write_c: np.ndarray  # partial sums and outputs written to the global buffer
    passes: np.ndarray  # strips x FY passes x set rounds (the pipeline's tiles)
    first_bytes: np.ndarray  # what the first pass needs before it starts
    p: np.ndarray  # filters sharing an ifmap window in a PE
    q: np.ndarray  # channels interleaved in a PE


def _dims(nests: list[LoopNest]) -> dict[str, np.ndarray]:
    names = ("b", "k", "c", "oy", "ox", "fy", "fx", "stride", "in_h", "in_w", "repeats")
    out = {n: np.array([float(getattr(x, n)) for x in nests])[:, None] for n in names}
    gemm = out["in_h"] == 0  # a GEMM: rows of A are output rows, one pixel wide
    out["in_h"] = np.where(gemm, out["oy"], out["in_h"])
    out["in_w"] = np.where(gemm, 1.0, out["in_w"])
    return out


def rs_mapping(nests: list[LoopNest], rows: np.ndarray, cols: np.ndarray, elem_bytes: int,
               rf_ifmap_bytes: float, rf_filter_bytes: float, rf_psum_bytes: float,
               read_j_per_byte: tuple[float, float, float],
               psum_bytes: int = ACCUMULATOR_BYTES) -> RsMapping:
    """Map every nest on every design (``rows``/``cols`` broadcast as (1, designs)).

    ``read_j_per_byte`` weighs the (ifmap, filter, psum) global-buffer bytes when choosing
    ``p`` and ``q``."""
    x = _dims(nests)
    r = np.asarray(rows, np.float64).reshape(1, -1)
    q_cols = np.asarray(cols, np.float64).reshape(1, -1)
    e, acc = float(elem_bytes), float(psum_bytes)
    fy, oy = x["fy"], x["oy"]
    fits_rows = fy <= r
    v = np.where(fits_rows, np.floor(r / fy), 1.0)
    fy_pass = np.where(fits_rows, 1.0, np.ceil(fy / r))
    strips = np.ceil(oy / q_cols)
    h = np.where(oy < q_cols, np.floor(q_cols / oy), 1.0)
    sets = v * h
    planes = x["b"] * x["k"] * x["c"]
    rounds = np.ceil(planes / sets)
    cycles = rounds * strips * fy_pass * x["ox"] * x["fx"]
    macs = planes * oy * x["ox"] * fy * x["fx"]
    util = macs / (cycles * r * q_cols)

    # Scratchpad reuse: p filters x q channels, the best (p, q) under the spad capacities.
    words_i, words_w, words_p = rf_ifmap_bytes / e, rf_filter_bytes / e, rf_psum_bytes / acc
    best = None
    ifmap_rows = np.minimum(x["in_h"], strips * ((q_cols - 1) * x["stride"] + fy))
    i_all = x["b"] * x["c"] * ifmap_rows * x["in_w"] * e  # ifmap rows each strip needs
    w_all = x["k"] * x["c"] * fy * x["fx"] * e
    o_all = x["b"] * x["k"] * oy * x["ox"] * acc
    ea, eb, ec = read_j_per_byte

    def traffic(pp: np.ndarray, qq: np.ndarray) -> tuple[np.ndarray, ...]:
        read_a = i_all * np.ceil(x["k"] / (pp * sets))
        read_b = w_all * strips * x["b"]
        groups = np.ceil(x["c"] / qq) * fy_pass
        write_c, read_c = o_all * groups, o_all * (groups - 1)
        cost = read_a * ea + read_b * eb + (read_c + write_c) * ec
        return cost, read_a, read_b, read_c, write_c, pp, qq

    # p = q = 1 is the fallback even where a filter row overflows the spads (it is then
    # streamed in pieces, which hwsim does not time separately).
    one = np.ones_like(cycles)
    best = traffic(one, one)
    for p in (1, 2, 4, 8, 16, 32, 64):
        for q in (1, 2, 4, 8, 16, 32):
            if p * q > words_w or q > words_i or p > words_p:
                continue
            ok = (p * q * x["fx"] <= words_w) & (q * x["fx"] <= words_i) & (p <= words_p)
            cand = traffic(np.minimum(p, x["k"]) + 0 * one, np.minimum(q, x["c"]) + 0 * one)
            take = ok & (cand[0] < best[0])
            best = tuple(np.where(take, c, b) for c, b in zip(cand, best, strict=True))
    _, read_a, read_b, read_c, write_c, p_arr, q_arr = best
    reps = x["repeats"]
    first = (fy * x["fx"] * np.minimum(sets, planes) + np.minimum(x["in_h"], fy) * x["in_w"]) * e
    return RsMapping(compute_cycles=cycles * reps, utilization=util, read_a=read_a * reps,
                     read_b=read_b * reps, read_c=read_c * reps, write_c=write_c * reps,
                     passes=rounds * strips * fy_pass * np.maximum(np.round(reps), 1.0),
                     first_bytes=first, p=p_arr, q=q_arr)
