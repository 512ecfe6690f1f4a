"""Alpha-beta cost of the collectives tensor, pipeline and expert parallelism issue.

NCCL's convention (nccl-tests doc/PERFORMANCE.md): a collective of ``size_bytes`` (the
per-rank buffer; all-gather's gathered output) over ``n`` ranks moves ``factor(n) * size``
bytes over each rank's link, where factor is 2(n-1)/n for all-reduce, (n-1)/n for all-gather,
reduce-scatter and all-to-all, and 1 for send/recv. "Bus bandwidth" is that traffic over the
time, so it is comparable across n and with the link rate. The model is

    time_s = steps(kind, algorithm, n) * alpha_s + factor(n) * size_bytes / bus_bw_bytes_per_s

with ``alpha_s`` the per-step latency and ``bus_bw`` the asymptotic bus bandwidth, both per
algorithm and fitted per system on published nccl-tests tables (configs/hardware/systems).
Ring: all-reduce is a reduce-scatter then an all-gather, 2(n-1) steps; the others n-1.
Tree (NCCL's double binary tree): a reduce up and a broadcast down, 2*ceil(log2 n) steps for
all-reduce; NCCL has tree only for all-reduce, so other collectives use the ring.
Energy: every byte that crosses a link, ``n * factor(n) * size`` over the group, at the
interconnect's energy per byte.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from hwsim.errors import input_error

CollectiveKind = Literal["all_reduce", "all_gather", "reduce_scatter", "all_to_all", "send_recv"]
KINDS: tuple[str, ...] = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all",
                          "send_recv")
ALGORITHMS: tuple[str, ...] = ("ring", "tree")


def bus_factor(kind: str, n: int) -> float:
    """Bytes over each rank's link per byte of the collective's buffer (nccl-tests busbw)."""
    _check(kind, n)
    if kind == "send_recv":
        return 1.0
    if n == 1:
        return 0.0
    return 2.0 * (n - 1) / n if kind == "all_reduce" else (n - 1) / n


def steps(kind: str, algorithm: str, n: int) -> int:
    """Latency-bound steps, each paying ``alpha_s``."""
    _check(kind, n)
    if algorithm not in ALGORITHMS:
        raise input_error("algorithm", "unknown collective algorithm", given=algorithm,
                          hint="use one of: " + ", ".join(ALGORITHMS))
    if kind == "send_recv":
        return 1
    if n == 1:
        return 0
    if kind == "all_reduce":
        return 2 * math.ceil(math.log2(n)) if algorithm == "tree" else 2 * (n - 1)
    return n - 1


def algorithm_for(kind: str, algorithm: str) -> str:
    """NCCL implements tree only for all-reduce; other collectives run the ring."""
    return algorithm if kind == "all_reduce" else "ring"


def collective_time_s(kind: str, size_bytes: float, n: int, *, alpha_s: float,
                      bus_bw_bytes_per_s: float, algorithm: str = "ring") -> float:
    """Seconds for one collective of ``size_bytes`` over ``n`` ranks (0 for n = 1, except
    send/recv, which is point to point)."""
    if size_bytes < 0:
        raise input_error("size_bytes", "a collective's size must be >= 0", given=size_bytes)
    if kind != "send_recv" and n == 1:
        return 0.0
    return (steps(kind, algorithm, n) * alpha_s
            + bus_factor(kind, n) * size_bytes / bus_bw_bytes_per_s)


def link_bytes(kind: str, size_bytes: float, n: int) -> float:
    """Bytes that cross links, summed over the group (each rank sends factor * size)."""
    ranks = 1 if kind == "send_recv" else n
    return ranks * bus_factor(kind, n) * size_bytes


@dataclass(frozen=True)
class Collective:
    """One collective of a parallel run: where it sits, what it is, what it costs."""

    op: str  # the op after which it runs ("layer0.attn_out") or the stage boundary
    kind: str  # one of KINDS
    size_bytes: float  # the per-rank buffer (nccl-tests "size")
    group: int  # ranks taking part
    count: int  # how many times one inference runs it (micro-batches, ...)
    algorithm: str
    time_s: float  # one occurrence
    energy_j: float  # one occurrence, whole group

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "kind": self.kind, "size_bytes": self.size_bytes,
                "group": self.group, "count": self.count, "algorithm": self.algorithm,
                "time_s": self.time_s, "energy_j": self.energy_j,
                "total_time_s": self.time_s * self.count,
                "total_energy_j": self.energy_j * self.count}


def _check(kind: str, n: int) -> None:
    if kind not in KINDS:
        raise input_error("collective", "unknown collective", given=kind,
                          hint="use one of: " + ", ".join(KINDS))
    if not isinstance(n, int) or n < 1:
        raise input_error("group", "a collective's group must be a whole number >= 1", given=n)
