"""The off-chip mapper: which tile of a work item's loop nest each on-chip buffer holds, and in
which order the tiles are visited, chosen per design by an objective.

Two memory levels meet here: the chip's global buffers (ifmap, filter, ofmap SRAMs, each
double-buffered so half holds the tile in use) and off-chip memory. A mapping is

- a tile size per loop dimension (B, K, C, OY, OX; filters are never cut), candidates
  ``ceil(D / 2**j)`` so tiles split a dimension evenly, and
- a loop order over the tiles. Of the 5! orders only three classes differ in traffic, named by
  the operand whose tile stays resident while the innermost non-trivial loop turns
  (the classic result, e.g. Timeloop and ZigZag's reuse analysis):

  ``ws`` B, OY, OX innermost: each weight tile is fetched once; ifmaps are re-read per K tile;
  ``is`` K innermost: each ifmap tile (with its halo) is fetched once; weights are re-read per
        (B, OY, OX) tile;
  ``os`` C innermost: outputs are written once; ifmaps re-read per K tile, weights per
        (B, OY, OX) tile.

  Partial sums of a reduction cut into T_C tiles, outside the output's loops (``ws``, ``is``),
  spill: written T_C times and read back T_C - 1 times at accumulator width. A loop with one
  trip is free in every order, which is how the classes cover the mixed orders.

An ifmap tile holds ``((oy-1)*stride + FY) x ((ox-1)*stride + FX)`` input pixels (capped at the
input size), so neighbouring output tiles re-fetch their overlap (the halo) and a layer that
fits moves its real ifmap once, not its im2col matrix.

Objectives: ``energy`` takes the least energy of the traffic: each operand's bytes at the
off-chip energy plus its buffer's fill (ifmap, weights) or read-out (outputs, partial sums)
energy per byte; ``latency`` the fewest estimated cycles ``max(compute, bytes / bw)`` (the
pipeline's exposed prologue is the first fold's operands, whatever the tiling, so a mapping's
time follows its bytes); ``edp`` their product, with the compute's energy added. Ties go to
fewer bytes, then the smaller first tile. Every objective picks from the same candidates, so a
larger buffer (more candidates fit) never raises its objective.

The selection is plain numpy here (what :func:`hwsim.simulate` runs, one design);
:mod:`hwsim.kernels.mapper_kernel` is the same rule in numba for sweeps over many designs, held
equal to this one by tests.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

from hwsim.mapping.loopnest import LoopNest
from hwsim.workload.ops import ACCUMULATOR_BYTES

OBJECTIVES = ("energy", "latency", "edp")
ORDER_CLASSES = ("ws", "is", "os")
DIMS = ("b", "k", "c", "oy", "ox")


@dataclass(frozen=True)
class Candidates:
    """Every mapping of one nest, sorted by (off-chip bytes, first-tile bytes).

    Bytes are per copy of the nest (multiply by ``nest.repeats``); tile footprints are what each
    buffer's working half must hold."""

    offchip_a: np.ndarray  # ifmap bytes fetched
    offchip_b: np.ndarray  # weight bytes fetched
    offchip_c: np.ndarray  # output bytes written plus partial sums written and read back
    total: np.ndarray
    prologue: np.ndarray  # first ifmap + weight tile, bytes
    need_a: np.ndarray  # ifmap tile footprint, bytes
    need_b: np.ndarray
    need_c: np.ndarray  # output tile at accumulator width, bytes
    order: np.ndarray  # index into ORDER_CLASSES
    tile: np.ndarray  # (P, 5) tile sizes in DIMS order
    smallest: int  # the candidate with the smallest footprint (used when nothing fits)


def _splits(extent: int) -> np.ndarray:
    """Tile sizes ceil(extent / 2**j): even splits, from the whole dimension down to 1."""
    out = {-(-extent // (1 << j)) for j in range(int(np.ceil(np.log2(max(extent, 1)))) + 1)}
    return np.array(sorted(out, reverse=True), dtype=np.float64)


@functools.lru_cache(maxsize=4096)
def candidates(nest: LoopNest, elem_bytes: int,
               psum_bytes: int = ACCUMULATOR_BYTES) -> Candidates:
    """All candidate mappings of ``nest`` (per copy), operands stored at ``elem_bytes``,
    partial sums at ``psum_bytes``."""
    e, acc = float(elem_bytes), float(psum_bytes)
    grids = np.meshgrid(*(_splits(getattr(nest, d)) for d in DIMS), indexing="ij")
    b, k, c, oy, ox = (g.ravel() for g in grids)
    tb, tk, tc, toy, tox = (np.ceil(getattr(nest, d) / t) for d, t in zip(
        DIMS, (b, k, c, oy, ox), strict=True))
    if nest.in_h:  # a convolution: the tile's input window, halo included, inside the input
        ih = np.minimum((oy - 1) * nest.stride + nest.fy, nest.in_h)
        iw = np.minimum((ox - 1) * nest.stride + nest.fx, nest.in_w)
    else:
        ih, iw = oy, ox
    need_a = b * c * ih * iw * e
    need_b = k * c * nest.fy * nest.fx * e
    need_c = b * k * oy * ox * acc
    a_pass = need_a * tb * tc * toy * tox  # every ifmap tile once, halos re-fetched
    w_all = float(nest.k * nest.c * nest.fy * nest.fx) * e
    outputs = float(nest.b * nest.k * nest.oy * nest.ox)
    spill = np.where(tc > 1, outputs * acc * (2 * tc - 1), outputs * e)
    spatial = tb * toy * tox
    a = np.concatenate([a_pass * tk, a_pass, a_pass * tk])
    w = np.concatenate([np.full_like(a_pass, w_all), w_all * spatial, w_all * spatial])
    o = np.concatenate([spill, spill, np.full_like(a_pass, outputs * e)])
    n = a_pass.size
    order = np.repeat(np.arange(3, dtype=np.int8), n)
    total = a + w + o
    pro = np.tile(need_a + need_b, 3)
    rank = np.lexsort((pro, total))
    tile = np.tile(np.stack([b, k, c, oy, ox], axis=1), (3, 1))
    foot = np.tile(need_a + need_b + need_c, 3)[rank]
    return Candidates(
        offchip_a=a[rank], offchip_b=w[rank], offchip_c=o[rank], total=total[rank],
        prologue=pro[rank], need_a=np.tile(need_a, 3)[rank], need_b=np.tile(need_b, 3)[rank],
        need_c=np.tile(need_c, 3)[rank], order=order[rank],
        tile=tile[rank], smallest=int(np.argmin(foot)))


ByteEnergies = tuple[float, float, float]  # J per off-chip byte of ifmap, weights, outputs


def objective_cost(objective: str, cands: Candidates, compute_cycles: float | np.ndarray,
                   bw_bytes_per_cycle: float | np.ndarray, byte_j: ByteEnergies,
                   fixed_energy_j: float | np.ndarray) -> np.ndarray:
    """The objective of each candidate (lower is better), per copy of the nest."""
    energy = (cands.offchip_a * byte_j[0] + cands.offchip_b * byte_j[1]
              + cands.offchip_c * byte_j[2])
    if objective == "energy":
        return energy
    cycles = np.maximum(compute_cycles, cands.total / bw_bytes_per_cycle)
    if objective == "latency":
        return cycles
    if objective == "edp":
        return (energy + fixed_energy_j) * cycles
    raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")


def select(cands: Candidates, cap_a: float, cap_b: float, cap_c: float, objective: str,
           compute_cycles: float, bw_bytes_per_cycle: float, byte_j: ByteEnergies,
           fixed_energy_j: float, shared_ac: bool = False) -> tuple[int, bool]:
    """Index of the best candidate that fits the working halves of the buffers (capacities in
    bytes), and whether any fits (if none does, the smallest-footprint one). ``shared_ac``:
    the ifmap and output tiles share one buffer of ``cap_a + cap_c``."""
    if shared_ac:
        fits = (cands.need_a + cands.need_c <= cap_a + cap_c) & (cands.need_b <= cap_b)
    else:
        fits = (cands.need_a <= cap_a) & (cands.need_b <= cap_b) & (cands.need_c <= cap_c)
    if not fits.any():
        return cands.smallest, False
    cost = objective_cost(objective, cands, compute_cycles, bw_bytes_per_cycle, byte_j,
                          fixed_energy_j)
    # argmin returns the first minimum: ties go to fewer bytes, then the smaller first tile.
    return int(np.argmin(np.where(fits, cost, np.inf))), True


@dataclass(frozen=True)
class OffchipMapping:
    """The chosen mapping of each work item (arrays over works, bytes for all repeats)."""

    offchip_a: np.ndarray
    offchip_b: np.ndarray
    offchip_c: np.ndarray
    order: list[str]
    tile: list[dict[str, int]]
    fits: np.ndarray


def map_works(nests: list[LoopNest], elem_bytes: int, cap_a: float, cap_b: float, cap_c: float,
              objective: str, compute_cycles: np.ndarray, bw_bytes_per_cycle: float,
              byte_j: ByteEnergies, fixed_energy_j: np.ndarray,
              shared_ac: bool = False, psum_bytes: int = ACCUMULATOR_BYTES) -> OffchipMapping:
    """Map every work item on one design. ``compute_cycles`` and ``fixed_energy_j`` are per
    work item, all repeats (the objective sees one copy's share)."""
    n = len(nests)
    out = {f: np.zeros(n) for f in ("a", "b", "c")}
    orders: list[str] = []
    tiles: list[dict[str, int]] = []
    fits = np.zeros(n, dtype=bool)
    comp = np.broadcast_to(np.asarray(compute_cycles, np.float64), (n,))
    fixed = np.broadcast_to(np.asarray(fixed_energy_j, np.float64), (n,))
    for j, nest in enumerate(nests):
        cands = candidates(_one_copy(nest), elem_bytes, psum_bytes)
        reps = max(nest.repeats, 0.0)
        per = max(reps, 1e-12)
        i, ok = select(cands, cap_a, cap_b, cap_c, objective, comp[j] / per,
                       bw_bytes_per_cycle, byte_j, fixed[j] / per, shared_ac)
        out["a"][j] = cands.offchip_a[i] * reps
        out["b"][j] = cands.offchip_b[i] * reps
        out["c"][j] = cands.offchip_c[i] * reps
        orders.append(ORDER_CLASSES[int(cands.order[i])])
        tiles.append({d: int(v) for d, v in zip(DIMS, cands.tile[i], strict=True)})
        fits[j] = ok
    return OffchipMapping(out["a"], out["b"], out["c"], orders, tiles, fits)


def map_designs(nests: list[LoopNest], elem_bytes: int, cap_a: np.ndarray, cap_b: np.ndarray,
                cap_c: np.ndarray, objective: str, compute_cycles: np.ndarray,
                bw_bytes_per_cycle: np.ndarray, byte_j: tuple[np.ndarray, np.ndarray, np.ndarray],
                fixed_energy_j: np.ndarray, shared_ac: bool = False,
                psum_bytes: int = ACCUMULATOR_BYTES) -> dict[str, np.ndarray]:
    """Map every work item on every design (a sweep): arrays of shape (works, designs), bytes for
    all repeats. Capacities are the buffers' working halves; ``compute_cycles`` is
    (works, designs) and ``fixed_energy_j`` per work, both for all repeats. The selection runs
    in :func:`hwsim.kernels.mapper_kernel.select_many` (numba: sweeps only, so a single
    simulate never pays its import)."""
    from hwsim.kernels.mapper_kernel import OBJECTIVE_CODES, select_many

    cands = [candidates(_one_copy(n), elem_bytes, psum_bytes) for n in nests]
    sizes = np.array([c.total.size for c in cands], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def cat(field: str) -> np.ndarray:
        return np.concatenate([getattr(c, field) for c in cands])

    reps = np.array([max(n.repeats, 0.0) for n in nests])
    per = np.maximum(reps, 1e-12)[:, None]
    n_design = np.size(cap_a)
    comp = np.ascontiguousarray(np.broadcast_to(compute_cycles, (len(nests), n_design)) / per)
    fixed = np.ascontiguousarray(np.broadcast_to(fixed_energy_j, (len(nests),)) / per[:, 0])
    smallest = offsets[:-1] + np.array([c.smallest for c in cands], dtype=np.int64)

    def design(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.broadcast_to(np.asarray(x, np.float64), (n_design,)))

    pick, fits = select_many(cat("total"), cat("offchip_a"), cat("offchip_b"), cat("offchip_c"),
                             cat("need_a"), cat("need_b"),
                             cat("need_c"), offsets, smallest, design(cap_a), design(cap_b),
                             design(cap_c), design(bw_bytes_per_cycle), comp, fixed,
                             design(byte_j[0]), design(byte_j[1]), design(byte_j[2]),
                             OBJECTIVE_CODES[objective],
                             bool(shared_ac))
    r = reps[:, None]
    return {"a": cat("offchip_a")[pick] * r, "b": cat("offchip_b")[pick] * r,
            "c": cat("offchip_c")[pick] * r, "fits": fits}


def _one_copy(nest: LoopNest) -> LoopNest:
    """The nest of one copy: candidates do not depend on ``repeats``, so they are cached once."""
    return nest if nest.repeats == 1.0 else replace(nest, repeats=1.0)
