"""CTA-level event simulation of one GPU kernel (SimPy): SMs as a pool, CTAs dispatched in waves.

A kernel is a launch gap (``launch_s``) followed by its CTAs, given as groups of identical CTAs
in dispatch order (blockIdx order). One CTA occupies one SM (the GEMM tiles hwsim picks fill an
SM's shared memory; an elementwise kernel is bandwidth-bound, so its occupancy is moot). Whenever
SMs are free the dispatcher hands them the next CTAs; a CTA lasts

    max(sm_s, l2_bytes x running / L2 bandwidth, dram_bytes x running / DRAM bandwidth)

- its SM time (math at the tensor-core or CUDA-core rate and operands through the SM's own L2
port) and its bytes at its share of the L2 and DRAM bandwidth, split among the CTAs running when
it starts (the share is fixed at dispatch: a CTA that starts in a full GPU keeps its small share
when neighbours finish - a pessimism of at most one wave per kernel). The tail wave, with fewer
CTAs running, gets a larger share each.

Identical CTAs dispatched into a whole free GPU run as full waves in one event (exact: nothing
else is running), so a kernel costs a few events whatever its grid size.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import lru_cache

import simpy

from hwsim.engine.timeline import OpTimeline


@dataclass(frozen=True)
class CtaGroup:
    """``count`` identical CTAs: seconds of SM time each (math and the SM's own L2 port; its
    math unit ``unit``: tensor | cuda), L2 and DRAM bytes each."""

    count: int
    sm_s: float
    l2_bytes: float
    dram_bytes: float
    unit: str = "tensor"


@dataclass(frozen=True)
class GpuPorts:
    """What a kernel's CTAs share: the SMs and the sustained L2 and DRAM bandwidth (bytes/s)."""

    sms: int
    l2_bytes_per_s: float
    dram_bytes_per_s: float


@dataclass(frozen=True)
class KernelRun:
    """One kernel's schedule. Times in seconds from the kernel's launch."""

    time_s: float  # launch gap + last CTA's end
    launch_s: float
    compute_s: float  # SM time (math, SM's L2 port) over the SMs the kernel can fill
    ctas: int
    waves: int  # ceil(CTAs / SMs)
    occupancy: float  # busy SM-time / (SMs the kernel can fill x makespan)
    tail_fraction: float  # share of the makespan with fewer SMs busy than the kernel can fill
    bound_s: tuple[tuple[str, float], ...]  # wall time attributed to each limit
    busy_s: tuple[tuple[str, float], ...]  # per unit: sm, tensor|cuda (SM time / SMs), l2,
    # offchip (bytes / bandwidth)
    slices: tuple[tuple[str, str, float, float], ...] = ()

    @property
    def bottleneck(self) -> str:
        return max(self.bound_s, key=lambda kv: kv[1])[0]


def cta_time(g: CtaGroup, ports: GpuPorts, running: int) -> tuple[float, str]:
    """(seconds, limit) of one CTA of ``g`` while ``running`` CTAs share the DRAM bandwidth."""
    terms = ((g.sm_s, g.unit), (g.l2_bytes * running / ports.l2_bytes_per_s, "l2"),
             (g.dram_bytes * running / ports.dram_bytes_per_s, "offchip"))
    return max(terms, key=lambda kv: kv[0])


@lru_cache(maxsize=8192)
def run_kernel(groups: tuple[CtaGroup, ...], ports: GpuPorts, launch_s: float,
               name: str = "kernel", record: bool = False) -> KernelRun:
    """Simulate one kernel's CTAs on the SMs (cached: identical kernels recur across layers and
    samples, and the result is immutable)."""
    env = simpy.Environment()
    sms = ports.sms
    free = simpy.Container(env, capacity=sms, init=sms)
    total = sum(g.count for g in groups)
    fill = max(1, min(sms, total))
    state = {"running": 0, "end": launch_s}
    steps: list[tuple[float, int]] = []  # (time, CTAs running from then on)
    bound: dict[str, float] = {}
    busy: dict[str, float] = {}
    lanes: list[float] = []
    slices: list[tuple[str, str, float, float]] = []

    def batch(g: CtaGroup, n: int, waves: int):
        each, limit = cta_time(g, ports, state["running"])
        start = env.now
        yield env.timeout(each * waves)
        state["running"] -= n
        steps.append((env.now, state["running"]))
        state["end"] = max(state["end"], env.now)
        bound[limit] = bound.get(limit, 0.0) + each * waves * n / fill
        busy["sm"] = busy.get("sm", 0.0) + each * waves * n / sms
        busy[g.unit] = busy.get(g.unit, 0.0) + g.sm_s * waves * n / sms
        for unit, byts, bw in (("l2", g.l2_bytes, ports.l2_bytes_per_s),
                               ("offchip", g.dram_bytes, ports.dram_bytes_per_s)):
            busy[unit] = busy.get(unit, 0.0) + byts * waves * n / bw
        if record:
            lane = next((i for i, e in enumerate(lanes) if e <= start), len(lanes))
            lanes[lane:lane + 1] = [env.now]
            label = f"{name}: {n} CTAs" + (f" x {waves} waves" if waves > 1 else "")
            slices.append((f"sm.{lane}", label, start, env.now))
        yield free.put(n)

    def dispatcher():
        yield env.timeout(launch_s)
        queue = deque([g, g.count] for g in groups if g.count > 0)
        left = total
        while queue:
            yield free.get(1)
            extra = min(free.level, left - 1)
            if extra:
                yield free.get(extra)
            got = 1 + extra
            started: list[tuple[CtaGroup, int, int]] = []
            while got and queue:
                g, g_left = queue[0]
                if got == sms and g_left >= sms:  # a whole idle GPU: run the full waves at once
                    n, waves = sms, g_left // sms
                else:
                    n, waves = min(got, g_left), 1
                started.append((g, n, waves))
                got -= n
                left -= n * waves
                queue[0][1] -= n * waves
                if queue[0][1] == 0:
                    queue.popleft()
            if got:  # no CTAs left for these SMs
                yield free.put(got)
            state["running"] += sum(n for _, n, _ in started)
            steps.append((env.now, state["running"]))
            for g, n, waves in started:
                env.process(batch(g, n, waves))

    env.process(dispatcher())
    env.run()
    end = state["end"]
    span = end - launch_s
    occupied = partial = 0.0
    for (t0, running), (t1, _) in zip(steps, [*steps[1:], (end, 0)], strict=True):
        occupied += running * (t1 - t0)
        partial += (t1 - t0) if 0 < running < fill else 0.0
    # SM time spread over the SMs the kernel fills; a kernel shorter than a wave is all tail.
    compute = min(span, sum(g.sm_s * g.count for g in groups) / fill)
    bound["launch"] = launch_s
    if record:
        slices = [("kernels", name, 0.0, end), ("launch", name, 0.0, launch_s), *slices]
    return KernelRun(
        time_s=end, launch_s=launch_s, compute_s=compute, ctas=total,
        waves=-(-total // sms), occupancy=occupied / (fill * span) if span > 0 else 1.0,
        tail_fraction=partial / span if span > 0 else 0.0, bound_s=tuple(sorted(bound.items())),
        busy_s=tuple(sorted(busy.items())), slices=tuple(slices))


def timeline(runs: list[tuple[KernelRun, float, int]], clock_hz: float,
             record: bool) -> OpTimeline:
    """The op's timeline: its kernels end to end, each ``(run, seconds one launch really took,
    launches in a row)`` (a power-capped kernel is stretched, its slices with it). Cycles at
    ``clock_hz``; slices only when ``record``."""
    tl = OpTimeline(busy={})
    t0 = 0.0
    for run, took_s, repeats in runs:
        scale = took_s / run.time_s if run.time_s > 0 else 1.0
        for unit, s in (*run.busy_s, ("launch", run.launch_s)):
            tl.busy[unit] = tl.busy.get(unit, 0.0) + s * scale * clock_hz * repeats
        for _ in range(repeats if record else 0):
            tl.slices.extend((track, label, (t0 + a * scale) * clock_hz,
                              (t0 + b * scale) * clock_hz)
                             for track, label, a, b in run.slices)
            t0 += took_s
        if not record:
            t0 += took_s * repeats
    tl.cycles = t0 * clock_hz
    return tl
