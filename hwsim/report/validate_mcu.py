"""MCU validation table: hwsim against MLPerf Tiny measurements and Vela's cycle estimates.

``validation_rows()`` feeds a future ``hwsim validate mcu``; every measured figure comes from
:mod:`hwsim.engine.mcu_library` with its source.
"""

from __future__ import annotations

from typing import Any

from hwsim.engine.mcu import simulate_mcu
from hwsim.engine.mcu_library import MLPERF_TINY_MS, MLPERF_TINY_UJ, VELA_CYCLES
from hwsim.hardware.chips import load_chip
from hwsim.workload.load import load_model

MODELS = ("kws", "vww", "ic", "ad")


def validation_rows() -> list[dict[str, Any]]:
    """One row per (board, model, library, quantity): measured, hwsim and relative error.

    ``quantity`` is ``latency_ms`` or ``energy_uj`` (MLPerf Tiny, measured on the board) or
    ``npu_cycles`` (Vela 5.2.0's estimate: a peer model, not a measurement).
    """
    rows: list[dict[str, Any]] = []
    for (board, library), per_model in MLPERF_TINY_MS.items():
        chip = load_chip(board, overrides={"kernel_library": library})
        for model, measured in per_model.items():
            _, total = simulate_mcu(load_model(f"mlperf-tiny-{model}"), chip, 1)
            rows.append(_row(board, model, library, "latency_ms", measured,
                             total.latency_s * 1e3, "MLPerf Tiny"))
            energy = MLPERF_TINY_UJ.get((board, library), {}).get(model)
            if energy is not None:
                rows.append(_row(board, model, library, "energy_uj", energy,
                                 total.energy_j * 1e6, "MLPerf Tiny"))
    for model, per_cfg in VELA_CYCLES.items():
        for cfg, cycles in per_cfg.items():
            ops, _ = simulate_mcu(load_model(f"mlperf-tiny-{model}"), load_chip(cfg), 1)
            rows.append(_row(cfg, model, "npu", "npu_cycles", float(cycles),
                             sum(o.mapping["npu_cycles"] for o in ops), "Vela 5.2.0"))
    return rows


def _row(board: str, model: str, library: str, quantity: str, measured: float, hwsim: float,
         reference: str) -> dict[str, Any]:
    return {"board": board, "model": model, "library": library, "quantity": quantity,
            "measured": measured, "hwsim": hwsim, "error": hwsim / measured - 1.0,
            "reference": reference}
