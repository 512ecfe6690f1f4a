"""Numba selection of the off-chip mapping of many work items on many designs (sweeps).

The rule is :func:`hwsim.engine.accelerator.mapper.select`'s (tests hold the two equal): among
the candidates whose tiles fit the buffers' working halves, the lowest objective, ties to the
earlier candidate; none fits: the smallest-footprint candidate. Candidates come sorted by
off-chip bytes, and every objective is bounded below by a function that grows with the bytes
(energy >= bytes x the cheapest operand's J/byte, cycles >= bytes / bw, their product with the
compute energy added), so the scan stops at the first candidate whose bound reaches the best
found.
"""

from __future__ import annotations

import numpy as np
from numba import njit

OBJECTIVE_CODES = {"energy": 0, "latency": 1, "edp": 2}


@njit(cache=True)
def select_many(total: np.ndarray, off_a: np.ndarray, off_b: np.ndarray, off_c: np.ndarray,
                need_a: np.ndarray, need_b: np.ndarray, need_c: np.ndarray,
                offsets: np.ndarray, smallest: np.ndarray, cap_a: np.ndarray,
                cap_b: np.ndarray, cap_c: np.ndarray, bw: np.ndarray, compute: np.ndarray,
                fixed_j: np.ndarray, j_a: np.ndarray, j_b: np.ndarray, j_c: np.ndarray,
                objective: int, shared_ac: bool) -> tuple[np.ndarray, np.ndarray]:
    """Chosen candidate (global index) and whether it fits, per (work, design).

    ``offsets[w]:offsets[w+1]`` are work ``w``'s candidates; ``compute`` is (works, designs)
    cycles and ``fixed_j`` per-work energy, both for one copy of the nest; ``j_a``, ``j_b``,
    ``j_c`` the per-design J per off-chip byte of each operand; ``shared_ac``: the ifmap and
    output tiles share one buffer of ``cap_a + cap_c``."""
    n_work = offsets.shape[0] - 1
    n_design = cap_a.shape[0]
    chosen = np.empty((n_work, n_design), dtype=np.int64)
    fits = np.zeros((n_work, n_design), dtype=np.bool_)
    for w in range(n_work):
        lo, hi = offsets[w], offsets[w + 1]
        for d in range(n_design):
            best = np.inf
            pick = -1
            comp = compute[w, d]
            j_min = min(j_a[d], min(j_b[d], j_c[d]))
            for i in range(lo, hi):
                t = total[i]
                if objective == 0:
                    bound = t * j_min
                elif objective == 1:
                    bound = t / bw[d]
                else:
                    bound = (t * j_min + fixed_j[w]) * max(comp, t / bw[d])
                if bound > best * (1.0 + 1e-12):  # margin: the bound and the sum round apart
                    break
                if need_b[i] > cap_b[d]:
                    continue
                if shared_ac:
                    if need_a[i] + need_c[i] > cap_a[d] + cap_c[d]:
                        continue
                elif need_a[i] > cap_a[d] or need_c[i] > cap_c[d]:
                    continue
                energy = off_a[i] * j_a[d] + off_b[i] * j_b[d] + off_c[i] * j_c[d]
                cycles = max(comp, t / bw[d])
                if objective == 0:
                    cost = energy
                elif objective == 1:
                    cost = cycles
                else:
                    cost = (energy + fixed_j[w]) * cycles
                if cost < best:
                    best = cost
                    pick = i
            if pick < 0:
                chosen[w, d] = smallest[w]
            else:
                chosen[w, d] = pick
                fits[w, d] = True
    return chosen, fits
