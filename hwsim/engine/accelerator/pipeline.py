"""The cycle engine's event simulation (SimPy): load, compute and store engines per op.

Each op's work is cut into tiles (GEMM folds, vector chunks). A DMA loader brings a tile's
operands in, the unit that owns the work (PE array, vector unit, router unit) computes it, and a
DMA storer writes its outputs back. Input and output buffers are double-buffered (two tile slots
each, so the loader runs one tile ahead), and the loader and storer share one off-chip port:
a transfer of b bytes holds it for b / bandwidth cycles. Ops run one after another (an op's
inputs are the previous op's outputs), so each op's pipeline starts empty, as in the analytic
model. Cycles, stalls and per-engine busy time come out of the simulation.

Each GEMM's off-chip reads are spread evenly over its tiles after the first (the loader
prefetches operand blocks in the order the folds use them); the first tile carries the
prologue, the load nothing can hide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import simpy

from hwsim.engine.accelerator.tiling import WorkTiming
from hwsim.engine.timeline import OpTimeline


@dataclass(frozen=True)
class Tile:
    unit: str
    label: str
    load_bytes: float
    compute_cycles: float
    store_bytes: float


ENGINES = ("load", "array", "vector_unit", "router_unit", "store")


MAX_TILES_PER_WORK = 64  # beyond this, consecutive tiles are simulated in groups


def tiles_of(works: list[WorkTiming]) -> list[Tile]:
    """Tiles of each work, as :func:`_tile_arrays` groups them."""
    out: list[Tile] = []
    for w in works:
        for load, comp, store in zip(*_tile_arrays(w), strict=True):
            out.append(Tile(w.unit, w.label, float(load), float(comp), float(store)))
    return out


def run_op(works: list[WorkTiming], bw_bytes_per_cycle: float, *, record: bool = False,
           slots: int = 2) -> OpTimeline:
    """Simulate one op's tiles through the load -> compute -> store pipeline."""
    tiles = tiles_of(works)
    env = simpy.Environment()
    port = simpy.Resource(env, capacity=1)  # the shared off-chip interface
    free_in = simpy.Container(env, capacity=slots, init=slots)
    free_out = simpy.Container(env, capacity=slots, init=slots)
    loaded = simpy.Store(env)
    computed = simpy.Store(env)
    tl = OpTimeline(busy=dict.fromkeys(ENGINES, 0.0))

    def note(track: str, name: str, start: float, end: float) -> None:
        tl.busy[track] += end - start
        if record:
            tl.slices.append((track, name, start, end))

    def loader():
        for t in tiles:
            yield free_in.get(1)
            if t.load_bytes > 0:
                with port.request() as req:
                    yield req
                    start = env.now
                    yield env.timeout(t.load_bytes / bw_bytes_per_cycle)
                    note("load", t.label, start, env.now)
            yield loaded.put(t)

    def computer():
        for _ in tiles:
            t = yield loaded.get()
            yield free_out.get(1)
            start = env.now
            yield env.timeout(t.compute_cycles)
            note(t.unit, t.label, start, env.now)
            yield free_in.put(1)
            yield computed.put(t)

    def storer():
        for _ in tiles:
            t = yield computed.get()
            if t.store_bytes > 0:
                with port.request() as req:
                    yield req
                    start = env.now
                    yield env.timeout(t.store_bytes / bw_bytes_per_cycle)
                    note("store", t.label, start, env.now)
            yield free_out.put(1)

    env.process(loader())
    env.process(computer())
    done = env.process(storer())
    env.run(until=done)
    tl.cycles = float(np.ceil(env.now))
    return tl


def replay_op(works: list[WorkTiming], bw_bytes_per_cycle: float, slots: int = 2
              ) -> OpTimeline:
    """The same pipeline as :func:`run_op`, computed by the numba replay
    (:mod:`hwsim.kernels.pipeline_kernel`, held equal to SimPy by tests): used for the many
    inputs of ``samples`` runs, where only the totals are kept."""
    from hwsim.kernels.pipeline_kernel import pipeline_cycles

    busy = dict.fromkeys(ENGINES, 0.0)
    loads, comps, stores = [], [], []
    for w in works:
        load, comp, store = _tile_arrays(w)
        loads.append(load)
        comps.append(comp)
        stores.append(store)
        busy[w.unit] += float(comp.sum())
    end, busy_l, _, busy_s = pipeline_cycles(np.concatenate(loads) / bw_bytes_per_cycle,
                                             np.concatenate(comps),
                                             np.concatenate(stores) / bw_bytes_per_cycle, slots)
    busy["load"], busy["store"] = float(busy_l), float(busy_s)
    return OpTimeline(cycles=float(np.ceil(end)), busy=busy)


def _tile_arrays(w: WorkTiming) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(load bytes, compute cycles, store bytes) per tile of one work.

    The first tile carries the prologue load; the others share the rest evenly. The last tile
    stays single (its store is the epilogue nothing overlaps); a work with more tiles than
    MAX_TILES_PER_WORK has the tiles in between merged into that many groups of consecutive
    tiles (sums of their compute and bytes), so the event count stays bounded while each group
    still follows its own tiles' slowest lanes."""
    n = max(1, w.tiles)
    comp = (np.full(n, w.compute_cycles / n) if w.tile_compute is None
            else np.asarray(w.tile_compute, dtype=np.float64))
    n = comp.size
    if n == 1:
        return np.array([w.load_bytes]), comp, np.array([w.store_bytes])
    first = min(w.prologue_bytes, w.load_bytes)
    rest_each = (w.load_bytes - first) / (n - 1)
    store_each = w.store_bytes / n
    middle = comp[1:-1]
    if middle.size:
        k = min(middle.size, MAX_TILES_PER_WORK)
        # np.array_split's group sizes: the first (size % k) groups get one extra element.
        base, extra = divmod(middle.size, k)
        sizes = np.full(k, base)
        sizes[:extra] += 1
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        grouped = np.add.reduceat(middle, starts)
    else:
        sizes = np.zeros(0)
        grouped = np.zeros(0)
    comp_t = np.concatenate(([comp[0]], grouped, [comp[-1]]))
    load_t = np.concatenate(([first], rest_each * sizes, [rest_each]))
    store_t = np.concatenate(([store_each], store_each * sizes, [store_each]))
    return load_t, comp_t, store_t
