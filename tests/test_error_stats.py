"""The shared summary of a group of relative errors (hwsim.validation.error_stats)."""

from __future__ import annotations

import pytest

from hwsim.validation.error_stats import error_stats


def test_median_signed_mean_and_verdict() -> None:
    s = error_stats([-0.3, 0.1, 0.05], target=0.1, mean=True)
    assert s == {"rows": 3, "median_abs_error": 0.1, "median_error": 0.05,
                 "mean_abs_error": pytest.approx(0.15), "target": 0.1, "met": True}
    assert error_stats([-0.3, 0.2], target=0.1)["met"] is False


def test_no_target_column_or_a_diagnostic() -> None:
    assert set(error_stats([0.2])) == {"rows", "median_abs_error", "median_error"}
    diagnostic = error_stats([0.2], target=None)
    assert diagnostic["target"] is None and diagnostic["met"] is None


def test_an_empty_group_is_an_error() -> None:
    with pytest.raises(ValueError, match="no errors"):
        error_stats([])
