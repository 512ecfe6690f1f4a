"""The B200's per-kernel CUDA-graph time: fitted on a B200 fitting sample disjoint from the
held-out power rows, reproducible, and what the preset ships."""

from __future__ import annotations

import csv

import pytest

from hwsim.calibration.b200_graph_fit import (
    FIT_FILE,
    PARAM,
    fit_b200_graph,
    main,
    problem,
    read_rows,
)
from hwsim.hardware.chips import load_chip
from hwsim.presets import reference_dir, resolve

KEY = ("preset", "phase", "batch", "seq_q", "seq_kv", "heads", "kv_heads", "head_dim")


def _keys(name: str) -> set[tuple[str, ...]]:
    with open(reference_dir("gpu") / name, newline="") as fh:
        return {tuple(r[k] for k in KEY) for r in csv.DictReader(fh)}


def test_fitting_sample_is_b200_and_disjoint_from_heldout() -> None:
    fit = _keys(FIT_FILE)
    assert len(fit) == 80 and {k[0] for k in fit} == {"b200-sxm"}
    assert not fit & _keys("aiconfigurator_b200_attention_power.csv")


def test_refit_reproduces_the_preset_value() -> None:
    result = fit_b200_graph()
    chip = load_chip("b200-sxm")
    assert result.values[PARAM.name] == pytest.approx(chip.graph_kernel_overhead_s, rel=0.01)
    assert FIT_FILE in chip.sources["graph_kernel_overhead_s"]
    assert result.rows == 80 and result.median_abs_error < 0.25


def test_fit_moves_off_the_borrowed_a100_value() -> None:
    """The A100 value the preset first borrowed (6.73 us) scores the fitting rows much worse:
    it alone exceeds a whole one-token decode row's measured time."""
    prob = problem()
    rows = read_rows()
    errs = sorted(abs(prob.predict({PARAM.name: 6.73e-6}, r) / float(r["measured"]) - 1)
                  for r in rows)
    assert errs[len(errs) // 2] > 1.5 * fit_b200_graph().median_abs_error
    assert min(float(r["measured"]) for r in rows) < 6.73e-6


def test_command_line_prints_without_writing_and_refuses_unknown_options(
        capsys: pytest.CaptureFixture[str]) -> None:
    """``main()`` prints the fit and leaves the preset alone unless ``--write`` is given; an
    unknown option (say the output path the module once took) exits 2 instead of writing a
    file of that name."""
    preset = resolve("chips", "b200-sxm")
    before = preset.read_text()
    main([])
    assert "graph_kernel_overhead_s:" in capsys.readouterr().out
    assert preset.read_text() == before
    with pytest.raises(SystemExit) as exc:
        main(["--out", "x.yaml"])
    assert exc.value.code == 2
    assert preset.read_text() == before
