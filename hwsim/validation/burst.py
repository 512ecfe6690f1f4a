"""A benchmark burst that outlasts the board's power response: how much of its timed window
runs at the power limit.

AIConfigurator's collector times a row without power measurement (its default) by running the
op ``WARMUPS`` times, capturing a CUDA graph and replaying it ``RUNS`` times
(``benchmark_with_power`` in ``collector/helper.py``; every collector calls it with 3 and 6),
and reports the mean replay. A board under a load above its power limit keeps its boost clock
for a while before its power management lowers it (``power_response_s``, fitted with the
boards' ``power_limit_slowdown`` on the H200's and B200's burst and sustained timings of the
same GEMMs: :mod:`hwsim.calibration.power_limit_slowdown`). So a burst of short kernels is timed
at boost, one of long kernels partly or wholly at the limit.

The model ([assumption]): the load starts with the first warm-up and runs without a gap (the
graph capture between warm-ups and replays is host work of a few milliseconds), the clock steps
from boost to the limit's clock at ``power_response_s`` of load, and a replay's time is the
boost one before that and the sustained one after; the timed window's mean is their blend by
the share of the window after the step. Window times use the boost replay time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hwsim.engine.gpu.power_constants import GPU_CALIBRATION

# collector/helper.py benchmark_with_power(num_warmups=3, num_runs=6); collect_gemm.py,
# collect_attn.py and collect_moe.py (balanced routes) call it with those.
WARMUPS = 3
RUNS = 6

Run = Callable[[dict[str, Any]], float]


def response_s() -> float:
    """The fitted time a board runs at boost under a load above its limit (s)."""
    return float(GPU_CALIBRATION.power_response_s.value)


def throttled_share(boost_s: float, ops_per_replay: int, response: float, *,
                    warmups: int = WARMUPS, runs: int = RUNS) -> float:
    """Share of a burst's timed window (replays ``warmups + 1`` to ``warmups + runs`` of
    ``ops_per_replay`` ops of ``boost_s`` each) that runs after ``response`` seconds of load."""
    replay = ops_per_replay * boost_s
    start, end = warmups * replay, (warmups + runs) * replay
    if end <= response or end <= start:
        return 0.0
    return min(1.0, (end - max(response, start)) / (end - start))


def blend(boost_s: float, sustained_s: float, ops_per_replay: int, response: float, *,
          warmups: int = WARMUPS, runs: int = RUNS) -> float:
    """A burst's mean op time from the op's time at boost and held at the limit."""
    share = throttled_share(boost_s, ops_per_replay, response, warmups=warmups, runs=runs)
    return boost_s + share * (sustained_s - boost_s)


def burst_s(run: Run, harness: dict[str, Any], ops_per_replay: int,
            response: float | None = None) -> float:
    """Seconds of one op timed in a burst: ``run(harness)`` at boost (``harness`` a burst,
    ``sustained_load`` false), blended with ``run`` sustained where the burst outlasts the
    power response (only then is the sustained time computed)."""
    response = response_s() if response is None else response
    boost = run(harness)
    if throttled_share(boost, ops_per_replay, response) == 0.0:
        return boost
    return blend(boost, run(harness | {"sustained_load": True}), ops_per_replay, response)
