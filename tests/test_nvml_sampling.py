"""How much of a kernel AIConfigurator's B200 power readings hold (hwsim.validation.nvml_sampling):
the collector's run count, the polls its replays span and each poll's one-second average,
checked against hand-worked rows of the collector's rule."""

from __future__ import annotations

import pytest

from hwsim.validation.nvml_sampling import (
    MAX_RUNS,
    MIN_RUNS,
    kernel_weight,
    replay_runs,
    window_s,
)


def test_run_count_follows_the_collectors_rule() -> None:
    # Under 0.1 ms the target is 0.3 s, which 3000 replays never reach: the cap binds.
    assert replay_runs(10e-6) == MAX_RUNS
    assert window_s(10e-6) == pytest.approx(0.03)
    assert replay_runs(99e-6) == MAX_RUNS
    # From 0.1 ms the target is 1 s: 1 / 0.2 ms + 1 = 5001 runs, capped.
    assert replay_runs(0.2e-3) == MAX_RUNS
    # 1 / 0.5 ms + 1 = 2001 runs, just over a second of replays.
    assert replay_runs(0.5e-3) == 2001
    assert window_s(0.5e-3) == pytest.approx(1.0005)
    # Long kernels get the base six runs.
    assert replay_runs(0.5) == MIN_RUNS
    assert window_s(0.5) == pytest.approx(3.0)


def test_a_reading_of_a_short_kernel_holds_none_of_it() -> None:
    # 3000 replays of 30 us last 90 ms: one poll, taken before the first replay.
    assert kernel_weight(30e-6) == 0.0
    # 50 us: 0.15 s of replays, polls at 0 and 0.1 s holding 0 and 0.1 s of kernel.
    assert kernel_weight(50e-6) == pytest.approx(0.05)
    # 0.1 ms: 0.3 s, polls at 0, 0.1, 0.2, 0.3 s.
    assert kernel_weight(0.1e-3) == pytest.approx((0.0 + 0.1 + 0.2 + 0.3) / 4)


def test_a_second_of_replays_weighs_the_kernel_one_half() -> None:
    # Polls at 0, 0.1, ..., 1.0 s hold 0 ... 1 s of kernel: mean 0.5.
    for kernel_s in (0.34e-3, 1e-3, 10e-3, 0.1):
        assert kernel_weight(kernel_s) == pytest.approx(0.5, abs=0.05)
    # Only kernels whose six runs outlast the second get more, never all of it.
    assert 0.5 < kernel_weight(0.5) < 1.0
    assert kernel_weight(0.5) == pytest.approx((5.5 + 20.0) / 31)


def test_weight_never_falls_as_a_kernel_lengthens() -> None:
    times = [t * 1e-6 for t in (5, 20, 33, 40, 60, 100, 150, 250, 333, 400, 1e3, 1e4, 1e5, 1e6)]
    weights = [kernel_weight(t) for t in times]
    assert all(0.0 <= w < 1.0 for w in weights)
    # Below 0.33 ms every kernel gets the 3000-run cap, so its window grows with it until the
    # 1 s target takes over; the 0.3 s target for kernels under 0.1 ms never binds before the cap.
    assert weights == sorted(weights)


@pytest.mark.parametrize("bad", [0.0, -1e-6])
def test_a_kernel_time_must_be_positive(bad: float) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        replay_runs(bad)
