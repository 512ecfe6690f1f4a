"""How much of a kernel a power reading in AIConfigurator's B200 tables contains.

The collector behind those tables (``benchmark_with_power`` and ``PowerMonitor`` in
``collector/helper.py`` of ai-dynamo/aiconfigurator: every version from 8f277a2f6, 2025-12-12,
to 894e279d1, 2026-07-23, the commit that added the B200 vLLM 0.22 power tables, has the rule
below; called by ``collector/vllm/collect_attn.py`` with 3 warm-ups and 6 runs, and by
``collect_moe.py`` with the same for balanced routing) measures a row like this:

- it replays the kernel ``runs`` times back to back, ``runs = max(6, target / t + 1)`` for a
  kernel of ``t`` seconds, at most 3000, with ``target`` 0.3 s below 0.1 ms and otherwise
  ``COLLECTOR_POWER_MIN_DURATION`` (default 1.0 s), so the replays last ``runs x t``;
- a thread polls ``nvmlDeviceGetPowerUsage`` every 100 ms from just before the first replay
  (its first poll) until the replays end, and the row's ``power`` is the mean of the polls;
- on Ampere (except GA100) and newer GPUs that call returns the power *averaged over the last
  second* (NVML API reference, ``nvmlDeviceGetPowerUsage``; cuda.bindings.nvml
  ``device_get_power_usage``), not the power at the poll.

So a poll ``s`` seconds into the replays holds ``min(s, 1)`` seconds of the kernel and the rest
of the second before it started (the previous row's replays, this row's setup, warm-ups and
graph capture). The mean over the polls weighs the kernel by :func:`kernel_weight`: 0 when the
replays are shorter than one polling period (a single poll, taken before the first replay:
every kernel under 33 us, whose 3000 replays last < 0.1 s); about 0.5 for every kernel from 0.33 ms
to 0.17 s (one second of replays); more only for longer kernels, whose six replays outlast the
second - never the 1 a power measurement of a single kernel needs.

Evidence in the tables themselves (``b200_power_consistency.py`` in the reference folder, over
the whole B200 vLLM 0.22 tables): decode-attention kernels streaming >= 6 TB/s read 458 W median
at weight 0 and 688 W at weight 0.5; context-attention readings rise with kernel time until
0.33 ms and then stay flat, where the replays reach the 1 s target.
``[assumption]`` the environment default of 1.0 s was used (the flat readings from 0.33 ms, i.e.
3000 x 0.33 ms = 1 s, agree), and the warm-up's eager iteration takes the graph replay's time
(where Python dispatch makes it slower, ``runs`` and the weight are lower still).
"""

from __future__ import annotations

import math

# collector/helper.py, PowerMonitor.SAMPLE_INTERVAL_MS.
POLL_PERIOD_S = 0.1
# NVML: nvmlDeviceGetPowerUsage averages over 1 s on Ampere (except GA100) and newer GPUs.
SENSOR_AVERAGE_S = 1.0
# collector/helper.py, benchmark_with_power: the run count's bounds and targets.
MAX_RUNS = 3000
MIN_RUNS = 6  # collect_attn.py test_ite; collect_moe.py num_runs for balanced routing
TINY_KERNEL_S = 1e-4
TINY_TARGET_S = 0.3
TARGET_S = 1.0  # COLLECTOR_POWER_MIN_DURATION's default


def replay_runs(kernel_s: float) -> int:
    """How many times the collector replays a kernel of ``kernel_s`` seconds while it polls."""
    if kernel_s <= 0:
        raise ValueError(f"kernel time {kernel_s!r} s: must be positive")
    target = min(TARGET_S, TINY_TARGET_S) if kernel_s < TINY_KERNEL_S else TARGET_S
    return min(MAX_RUNS, max(MIN_RUNS, int(target / kernel_s) + 1))


def window_s(kernel_s: float) -> float:
    """How long the polled replays of a kernel of ``kernel_s`` seconds last."""
    return replay_runs(kernel_s) * kernel_s


def kernel_weight(kernel_s: float) -> float:
    """The share of a row's ``power`` reading that is the kernel's power: the mean, over the
    polls the replays span, of the part of each poll's one-second average they cover (0 below
    33 us, about 0.5 up to 0.17 s, more only for longer kernels, never 1); the rest is the
    board's power in the second before the replays began."""
    window = window_s(kernel_s)
    polls = math.floor(window / POLL_PERIOD_S + 1e-9) + 1
    covered = [min(i * POLL_PERIOD_S, SENSOR_AVERAGE_S) / SENSOR_AVERAGE_S for i in range(polls)]
    return sum(covered) / polls
