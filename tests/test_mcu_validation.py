"""`hwsim validate mcu`'s parts: reference CSVs, re-fit consistency, leave-one-out, per-layer.

Figures measured when this was written (the docs/mcu.md tables): leave-one-model-out median
|error| 12 % (tflm-reference, worst AD -78 %), 10 % (vendor-optimized, worst L4R5 AD +192 %),
17 % (cmsis-nn's one factor, worst AD +32 %); leave-one-board-out 13 % (worst L4R5 AD +34 %);
Vela leave-one-model-out 9 % and leave-one-config-out 8 % (worst U55-32 AD +284 %, U65-256 AD
-26 %). Per layer vs Vela: median |error| 35 %, 28 % of layers within 15 %.
"""

from __future__ import annotations

import numpy as np
import pytest

from hwsim.calibration.mcu import core_case, core_heldout, core_latency_ms, npu_cycles
from hwsim.engine.mcu.analytic import simulate_mcu
from hwsim.engine.mcu.ethosu_layers import structural_npu_cost
from hwsim.engine.mcu.library import CORE_KERNELS
from hwsim.engine.mcu.npu import weight_zero_fractions
from hwsim.hardware.chips import load_chip
from hwsim.mapping.primitives import lower
from hwsim.report.mcu_reference import (
    REFERENCE_DIR,
    mlperf_tiny_ms,
    mlperf_tiny_uj,
    vela_cycles,
    vela_layers,
)
from hwsim.report.validate_mcu import heldout_summary
from hwsim.report.validate_mcu_layers import group_layers, layer_rows, layer_summary
from hwsim.workload.load import load_model


def test_reference_files_carry_their_sources() -> None:
    ms, uj = mlperf_tiny_ms(), mlperf_tiny_uj()
    assert sum(len(v) for v in ms.values()) == 20 and sum(len(v) for v in uj.values()) == 4
    assert ms[("stm32l4r5-m4", "tflm-reference")]["kws"] == 181.9  # 1 / 5.497 inf/s
    assert len(vela_cycles()) == 4 and all(len(v) == 4 for v in vela_cycles().values())
    sources = (REFERENCE_DIR / "SOURCES.md").read_text()
    for needle in ("tiny_results_v0.5", "tiny_results_v1.0", "tiny_results_v1.1",
                   "ethos-u-vela==5.2.0", "make_vela_reference.py", "--verbose-performance",
                   "make_vela_memory_modes.py", "held out"):
        assert needle in sources
    text = (REFERENCE_DIR / "mlperf_tiny_latency.csv").read_text()
    assert text.count("github.com/mlcommons/tiny_results_v") == 20


@pytest.mark.parametrize(("board", "library"), [("stm32l4r5-m4", "tflm-reference"),
                                                ("stm32f746-m7", "vendor-optimized")])
def test_core_features_reproduce_the_engine(board: str, library: str) -> None:
    chip = load_chip(board, overrides={"kernel_library": library})
    theta = np.array([getattr(CORE_KERNELS[library], f) for f in (
        "conv_cycles_per_mac", "depthwise_cycles_per_mac", "fc_cycles_per_mac",
        "per_output_cycles", "vector_cycles_per_op")])
    for model in ("kws", "ad"):
        engine = simulate_mcu(load_model(f"mlperf-tiny-{model}"), chip, 1)[1].latency_s * 1e3
        ours = core_latency_ms(core_case(board, library, model), theta, chip.core_cycle_scale)
        assert ours == pytest.approx(engine, rel=1e-9)


def test_engine_costs_shaped_npu_ops_on_the_structural_model() -> None:
    """Every MLPerf Tiny IC op has a shape the structural Ethos-U model takes, so the engine's
    NPU cycles are its sum; the fitted regression (what ``npu_cycles`` re-evaluates for the
    refit) now costs only the ops without one."""
    model, chip = load_model("mlperf-tiny-ic"), load_chip("ethos-u55-64")
    ops, _ = simulate_mcu(model, chip, 1)
    assert chip.npu is not None
    structural = 0.0
    zeros = weight_zero_fractions(model)
    for op in model.ops:
        for w in lower(op, 1, 1):
            c = structural_npu_cost(op, w, chip.npu, zeros.get(op.name, 0.0))
            assert c is not None, op.name
            structural += c.cycles
    assert structural == pytest.approx(sum(o.mapping["npu_cycles"] for o in ops), rel=1e-12)
    assert npu_cycles("ethos-u55-64", "ic") != pytest.approx(structural, rel=1e-3)


def test_leave_one_out_covers_every_figure_and_is_worse_than_in_sample() -> None:
    rows = core_heldout(mlperf_tiny_ms())
    model_folds = [r for r in rows if r.left_out.startswith("model=")]
    assert len(model_folds) == 20  # every measurement predicted once with its model held out
    assert len([r for r in rows if r.left_out.startswith("board=")]) == 12
    held = np.median([abs(r.error) for r in model_folds])
    ins = np.median([abs(r.in_sample / r.measured - 1) for r in model_folds])
    assert held > ins  # a fit predicts worse than it fits: if not, something leaked
    summary = heldout_summary([{**r.__dict__, "error": r.error,
                                "in_sample_error": r.in_sample / r.measured - 1}
                               for r in rows])
    assert {s["leave_out"] for s in summary} == {"model", "board"}


def test_vela_layers_group_into_the_models_ops() -> None:
    rows = [("Conv2D", "Conv2D", 10, 4), ("Conv2D", "Relu", 0, 0), ("Conv2D", "Conv2D", 5, 2),
            ("Softmax", "MaxPool", 3, 0), ("Softmax", "Sub", 2, 0)]
    assert group_layers(rows) == [("Conv2D", 10, 4), ("Conv2D", 5, 2), ("Softmax", 5, 0)]
    for (model, _), layers in vela_layers().items():
        assert len(group_layers(layers)) == len(load_model(f"mlperf-tiny-{model}").ops)


def test_per_layer_rows_and_summary() -> None:
    rows = layer_rows()
    assert len(rows) == 268
    # Per-layer sums reproduce the totals the summary table compares.
    kws = [r for r in rows if r["model"] == "kws" and r["config"] == "ethos-u55-128"]
    assert sum(r["vela_cycles"] for r in kws) == pytest.approx(vela_cycles()["kws"]
                                                               ["ethos-u55-128"], rel=0.01)
    summary = layer_summary(rows)
    assert summary[0]["group"] == "all layers" and summary[0]["layers"] == 268
    assert sum(s["vela_cycle_share"] for s in summary[1:]) == pytest.approx(1.0)
    assert 0.0 <= summary[0]["within_15pct"] <= summary[0]["within_50pct"] <= 1.0
