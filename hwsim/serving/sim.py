"""The request-level serving simulation (SimPy): arrivals, a batching queue, one chip.

Model. Requests arrive at pre-drawn times (:mod:`hwsim.serving.arrivals`) and wait in one FIFO
queue. The chip is a single non-preemptive server. When it is free it dispatches the oldest
``min(max_batch, waiting)`` requests as one batch as soon as ``max_batch`` requests wait or the
oldest has waited ``timeout_s``, whichever comes first (``max_batch = 1``: plain FIFO, no
waiting). A batch holds the chip for :meth:`ServiceModel.cost` of its size and mean density.
Admission stops at ``duration_s``; every admitted request is served (the queue drains).

Determinism: all randomness is drawn before the event loop from generators spawned off the
run's seed, and SimPy orders simultaneous events by insertion, so the same inputs give the same
trace bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import simpy

from hwsim.serving.arrivals import arrival_times
from hwsim.serving.config import ServeConfig
from hwsim.serving.service_time import ServiceModel


@dataclass(frozen=True, eq=False)
class Trace:
    """Per-request and per-batch records of one run (seconds, joules)."""

    arrival_s: np.ndarray  # float64 (n,), non-decreasing
    start_s: np.ndarray  # float64 (n,): dispatch of the request's batch
    finish_s: np.ndarray  # float64 (n,): end of the request's batch
    density: np.ndarray  # float64 (n,): the request's reference density
    batch_index: np.ndarray  # int64 (n,): which batch served it
    batch_start_s: np.ndarray  # float64 (batches,)
    batch_size: np.ndarray  # int64 (batches,)
    batch_service_s: np.ndarray  # float64 (batches,)
    batch_energy_j: np.ndarray  # float64 (batches,): dynamic energy from the engine

    @property
    def latency_s(self) -> np.ndarray:
        """End-to-end latency per request: queueing + service (s)."""
        return self.finish_s - self.arrival_s

    @property
    def queueing_s(self) -> np.ndarray:
        """Time from arrival to dispatch per request (s); clipped at 0 against float rounding
        of the event clock (``now + (t - now)`` may land one ulp below ``t``)."""
        return np.maximum(self.start_s - self.arrival_s, 0.0)


def run(service: ServiceModel, config: ServeConfig) -> Trace:
    """Simulate ``config`` on ``service``; returns every request's and batch's times."""
    arrivals_ss, density_ss = np.random.SeedSequence(config.seed).spawn(2)
    arrivals = arrival_times(config, np.random.default_rng(arrivals_ss))
    densities = service.draw_densities(arrivals.shape[0], density_ss)
    return simulate_queue(service, arrivals, densities, max_batch=config.max_batch,
                          timeout_s=config.timeout_s)


def simulate_queue(service: ServiceModel, arrival_s: np.ndarray, density: np.ndarray, *,
                   max_batch: int, timeout_s: float) -> Trace:
    """The event loop: ``arrival_s`` (s, non-decreasing) and per-request ``density`` in."""
    n = int(arrival_s.shape[0])
    env = simpy.Environment()
    start = np.empty(n)
    finish = np.empty(n)
    batch_of = np.empty(n, dtype=np.int64)
    b_start: list[float] = []
    b_size: list[int] = []
    b_service: list[float] = []
    b_energy: list[float] = []
    times = arrival_s.tolist()  # Python floats: numpy scalars make SimPy's heap ~3x slower
    # Requests arrive in index order, so the queue is the index range [head, arrived).
    state = {"arrived": 0, "head": 0}
    wake: list[simpy.Event] = []  # the server's pending "a request arrived" event, if idle

    def arrivals() -> simpy.events.ProcessGenerator:
        for i, t in enumerate(times):
            if t > env.now:
                yield env.timeout(t - env.now)
            state["arrived"] = i + 1
            if wake:
                wake.pop().succeed()

    def server() -> simpy.events.ProcessGenerator:
        while state["head"] < n:
            head = state["head"]
            if state["arrived"] == head:  # idle: sleep until a request arrives
                wake.append(env.event())
                yield wake[0]
            deadline = times[head] + timeout_s
            # Wait for a full batch or the oldest request's deadline, whichever comes first.
            while state["arrived"] - head < max_batch and env.now < deadline:
                timer = env.timeout(deadline - env.now)
                wake.append(env.event())
                yield wake[0] | timer
                if wake:
                    wake.pop()  # the timer fired first; this arrival event is now moot
                if timer.processed:
                    break
            size = min(max_batch, state["arrived"] - head)
            stop = head + size
            service_s, energy_j = service.cost(size, float(density[head:stop].mean()))
            b_start.append(env.now)
            start[head:stop] = env.now
            batch_of[head:stop] = len(b_size)
            b_size.append(size)
            b_service.append(service_s)
            b_energy.append(energy_j)
            state["head"] = stop
            yield env.timeout(service_s)
            finish[head:stop] = env.now

    env.process(arrivals())
    env.process(server())
    env.run()
    return Trace(arrival_s=np.asarray(arrival_s, dtype=np.float64), start_s=start,
                 finish_s=finish, density=np.asarray(density, dtype=np.float64),
                 batch_index=batch_of, batch_start_s=np.asarray(b_start),
                 batch_size=np.asarray(b_size, dtype=np.int64),
                 batch_service_s=np.asarray(b_service), batch_energy_j=np.asarray(b_energy))
