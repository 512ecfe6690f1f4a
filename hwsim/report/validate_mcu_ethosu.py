"""Held-out Ethos-U figures, printed first by ``hwsim validate mcu``.

Two sets, neither used to fit a cycle constant:

* the single-op sweep's held-out op shapes (``split=heldout`` in ``vela_ops_runs.csv``): per
  layer (Vela's per-layer cycles of the op) and per model (the single-op network's
  ``cycles_total``), across U55-128/U55-256/U65-256 and memory modes; and the fitting shapes'
  in-sample figures beside them;
* the engine on the MLPerf Tiny models: per layer against ``vela_per_layer.csv`` and per model
  against the 16 default-config totals and the 44 memory-mode runs. Their weight-compression
  ratios are fitted on these models' encoded weight sizes (no cycle figure).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hwsim.report.validate_mcu_layers import layer_rows, layer_summary
from hwsim.report.validate_mcu_modes import mode_rows
from hwsim.validation.mcu_vela_ops import comparison_rows, summary


def _median(errors: list[float]) -> dict[str, Any]:
    e = np.abs(errors)
    return {"figures": len(e), "median_abs_error": float(np.median(e)),
            "mean_abs_error": float(np.mean(e)), "max_abs_error": float(e.max()),
            "within_10pct": float(np.mean(e <= 0.10)), "within_15pct": float(np.mean(e <= 0.15))}


def mlperf_totals(layers: list[dict[str, Any]],
                  modes: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-model totals of the engine against Vela on the MLPerf Tiny models: the 16
    default-config totals (sums of the per-layer rows) and the 44 memory-mode runs."""
    sums: dict[tuple[str, str], list[float]] = {}
    for r in layers:
        s = sums.setdefault((r["model"], r["config"]), [0.0, 0.0])
        s[0] += r["vela_cycles"]
        s[1] += r["hwsim"]
    default = [h / v - 1.0 for v, h in sums.values()]
    return {"default_configs": _median(default),
            "memory_modes": _median([r["error"] for r in modes]),
            "all": _median(default + [r["error"] for r in modes])}


def report() -> dict[str, Any]:
    held = comparison_rows("heldout")
    fit = comparison_rows("fit")
    held_engine = comparison_rows("heldout", vela_weights=False)
    layers = layer_rows()
    return {
        "sweep_heldout_per_layer": summary(held, "layer_error"),
        "sweep_heldout_per_model": summary(held, "total_error")[0],
        "sweep_heldout_engine_weights": summary(held_engine, "layer_error")[0],
        "sweep_fit_per_layer": summary(fit, "layer_error")[0],
        "mlperf_per_layer": layer_summary(layers)[0],
        "mlperf_totals": mlperf_totals(layers, mode_rows()),
    }
