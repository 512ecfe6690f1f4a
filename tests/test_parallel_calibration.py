"""The system presets' interconnect constants against the published collective timings
(hwsim/data/reference/interconnect): fitted constants reproduce from their rows, and the
held-out rows stay within the errors measured when the constants were fitted."""

from __future__ import annotations

import pytest

from hwsim.parallel import load_system
from hwsim.parallel.calibration import checks, fit, load_rows, summary

FITTED = (("dgx-h100", "ring", True, True), ("dgx-a100", "ring", False, True),
          ("4x-rtx-4090-pcie", "ring", True, False), ("4x-rtx-4090-pcie", "tree", True, False))


@pytest.mark.parametrize(("system", "alg", "has_alpha", "has_bw"), FITTED)
def test_preset_constants_are_the_fit(system: str, alg: str, has_alpha: bool,
                                      has_bw: bool) -> None:
    alpha, bw, rows = fit(system, alg)
    cost = load_system(system).interconnect.algorithms[alg]
    assert (alpha is not None, bw is not None) == (has_alpha, has_bw)
    if alpha is not None:
        assert cost.alpha_s == pytest.approx(alpha, rel=2e-3)
    if bw is not None:
        assert cost.bus_bw_bytes_per_s == pytest.approx(bw, rel=2e-3)
    assert all(r.split == "fit" for r in rows)


def test_splits_are_declared() -> None:
    rows = load_rows()
    assert {r.split for r in rows} <= {"fit", "heldout", "excluded"}
    assert all(r.note for r in rows if r.split == "excluded")


def test_heldout_h100_within_measured_bound() -> None:
    # Measured at fit time (scripts/fit_interconnect.py): 19 held-out rows, median |error|
    # 12.4 %, worst 30.0 % (torch.distributed calls at 4-8 MB, slower than the nccl-tests
    # table the constants come from). Bounds: a little above what was measured.
    s = summary("heldout")["dgx-h100"]
    assert s["rows"] == 19
    assert s["median_abs_error"] < 0.13
    assert s["max_abs_error"] < 0.31


def test_heldout_same_table_interpolation() -> None:
    # The held-out sizes of the fitted table itself (every other power of 4): within 22 %.
    errs = [abs(c.error) for c in checks("heldout") if c.row.source == "mooncake-3484-h20"]
    assert len(errs) == 7 and max(errs) < 0.22


def test_a100_launch_cost_miss_is_recorded() -> None:
    # The per-step model puts 2 steps x 1.38 us on a 2-rank A100 all-reduce measured at
    # 10.1 us: a known miss (fixed launch cost), kept visible rather than tuned away.
    c = next(c for c in checks("heldout") if c.row.source == "nccl-583-a100")
    assert c.error == pytest.approx(-0.728, abs=0.01)
