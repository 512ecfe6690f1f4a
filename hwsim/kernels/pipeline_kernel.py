"""Numba replay of the SimPy tile pipeline (hwsim/engine/accelerator/pipeline.py), for
many-sample runs.

The same three engines and rules: the loader may start tile i once tile i-1 is loaded and an
input slot is free (tile i-slots computed); compute of tile i starts when it is loaded, tile
i-1 is computed and an output slot is free (tile i-slots stored); the store of tile i starts
when it is computed and tile i-1 is stored. Loads and stores share one port, granted in order of
request time; on a tie the load goes first, as in the SimPy model, where the computer frees the
input slot (waking the loader) before it hands the tile to the storer. Tests hold it equal to
the SimPy run for generic times; when many events fall on exactly the same instant, SimPy's
event-queue order can grant the port differently, moving the end by at most one transfer.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def pipeline_cycles(load: np.ndarray, compute: np.ndarray, store: np.ndarray,
                    slots: int) -> np.ndarray:
    """Returns [end time, load busy, compute busy, store busy] for tiles in order (cycles)."""
    n = load.shape[0]
    end_l = np.zeros(n)
    end_c = np.zeros(n)
    end_s = np.zeros(n)
    port_free = 0.0
    li = 0  # next tile to load
    ci = 0  # next tile to compute
    si = 0  # next tile to store
    busy_l = 0.0
    busy_c = 0.0
    busy_s = 0.0
    while si < n:
        # Resolve every compute whose inputs are known: loaded, previous computed, out slot.
        while ci < li and (ci < slots or ci - slots < si):
            start = end_l[ci]
            if ci > 0:
                start = max(start, end_c[ci - 1])
            if ci >= slots:
                start = max(start, end_s[ci - slots])
            end_c[ci] = start + compute[ci]
            busy_c += compute[ci]
            ci += 1
        req_l = np.inf
        if li < n and (li < slots or li - slots < ci):
            req_l = end_l[li - 1] if li > 0 else 0.0
            if li >= slots:
                req_l = max(req_l, end_c[li - slots])
        req_s = np.inf
        if si < ci:
            req_s = end_c[si]
            if si > 0:
                req_s = max(req_s, end_s[si - 1])
        if req_l <= req_s:
            begin = max(req_l, port_free) if load[li] > 0 else req_l
            end_l[li] = begin + load[li]
            if load[li] > 0:
                port_free = end_l[li]
            busy_l += load[li]
            li += 1
        else:
            begin = max(req_s, port_free) if store[si] > 0 else req_s
            end_s[si] = begin + store[si]
            if store[si] > 0:
                port_free = end_s[si]
            busy_s += store[si]
            si += 1
    out = np.empty(4)
    out[0] = end_s[n - 1] if n else 0.0
    out[1] = busy_l
    out[2] = busy_c
    out[3] = busy_s
    return out
