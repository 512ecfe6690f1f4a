"""GDDR6 streaming efficiency and NeuSight's eager-call overheads (hwsim.calibration.gddr_stream),
and the eager norm/softmax row re-read mechanism (hwsim.engine.gpu.kernels)."""

from __future__ import annotations

import csv
import math

import pytest

from hwsim.calibration import gddr_stream as gs
from hwsim.engine.gpu.norm import EAGER_CTA_THREADS, rereads_in_l2
from hwsim.engine.simulate import simulate
from hwsim.hardware.chips import load_chip
from hwsim.presets import reference_dir
from hwsim.validation.gpu_heldout import HELDOUT_FILES, norm_op
from hwsim.workload.model import Model


def test_refit_reproduces_the_shipped_constants_and_presets() -> None:
    res = gs.fit_stream()
    shipped = gs.shipped()
    for name, value in res.values.items():
        assert shipped[name] == pytest.approx(value, rel=2e-3), name
    for preset in gs.GDDR6_PRESETS:
        chip = load_chip(preset)
        assert chip.offchip.kind == "gddr6"
        assert chip.dram_efficiency == shipped["gddr6_dram_efficiency"]
    # GDDR6 sustains less of its peak than the A100's HBM2e calibration.
    assert shipped["gddr6_dram_efficiency"] < load_chip("a100-sxm-80gb").dram_efficiency
    assert res.median_abs_error < 0.10


def test_fitting_rows_are_disjoint_from_heldout() -> None:
    assert gs.FIT_FILE not in HELDOUT_FILES
    with open(reference_dir("gpu") / "neusight_norm_new_presets.csv", newline="") as fh:
        held = {(r["preset"], r["rows"], r["row_elements"]) for r in csv.DictReader(fh)}
    assert {r["preset"] for r in gs.read_rows()} == {"t4-pcie"}
    with open(reference_dir("gpu") / gs.FIT_FILE, newline="") as fh:
        fit_rows = list(csv.DictReader(fh))
    assert all("/dataset/train/" in r["source"] for r in fit_rows)
    assert not {(r["preset"], r["rows"], r["row_elements"]) for r in fit_rows} & held


def test_eager_overheads_are_ordered_and_small() -> None:
    # LayerNorm's module call allocates its output, mean and rstd: the slowest dispatch.
    o = {op: gs.eager_overhead_s(op) for op in gs.OPS}
    assert 0 < o["add"] < o["layernorm"] < 1e-4
    assert 0 < o["softmax"] < o["layernorm"]


def _norm_s(preset: str, rows: int, width: int, op: str = "layernorm") -> float:
    vop = norm_op({"rows": rows, "row_elements": width, "op": op, "dtype": "fp32"})
    m = Model(name="n", ops=(vop,), origin="test")
    over = gs.NEUSIGHT_STACK | {"launch_overhead_s": 0.0}
    return simulate(m, preset, chip_overrides=over).total.latency_s


def test_layernorm_second_read_goes_to_dram_once_rows_overflow_l2() -> None:
    t4 = load_chip("t4-pcie")
    # T4: 40 SMs x 8 CTAs of 128 threads; 4 MB L2: 2 x 320 x 4 KB fits, 2 x 320 x 8 KB not.
    assert t4.max_threads_per_sm // EAGER_CTA_THREADS == 8
    assert rereads_in_l2(t4, 4096)
    assert not rereads_in_l2(t4, 8192)
    # Same bytes, twice the row length: 1.5x the traffic (2 reads + 1 write vs 1 + 1).
    ratio = _norm_s("t4-pcie", 16384, 2048) / _norm_s("t4-pcie", 32768, 1024)
    assert ratio == pytest.approx(1.5, rel=0.02)


def test_layernorm_pays_for_its_partial_last_wave() -> None:
    a100 = load_chip("a100-sxm-80gb")
    slots = a100.sms * (a100.max_threads_per_sm // EAGER_CTA_THREADS)
    full = _norm_s("a100-sxm-80gb", 2 * slots, 32768)
    partial = _norm_s("a100-sxm-80gb", 2 * slots + 1, 32768)
    assert partial / full == pytest.approx(3 / 2, rel=0.02)
    assert math.isfinite(_norm_s("a100-sxm-80gb", 1, 4096))


def test_norm_kernel_knob_picks_the_framework() -> None:
    # 16384 rows of 8192 fp32 on the T4: Inductor walks each 32 KB row three times (its L1
    # cannot hold 4 resident rows), eager ATen twice; the default is compiled.
    vop = norm_op({"rows": 16384, "row_elements": 8192, "op": "layernorm", "dtype": "fp32"})
    m = Model(name="n", ops=(vop,), origin="test")
    compiled = simulate(m, "t4-pcie").ops[0]
    eager = simulate(m, "t4-pcie", chip_overrides={"norm_kernel": "eager"}).ops[0]
    assert compiled.mapping["norm_kernel"] == "compiled"
    assert compiled.bytes["offchip"] / eager.bytes["offchip"] == pytest.approx(4 / 3)
