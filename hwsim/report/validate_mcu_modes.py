"""Ethos-U memory modes and U55/U65 against Vela 5.2.0 (held-out figures, nothing fitted).

For every row of ``vela_memory_modes.csv`` the hwsim chip of its ``hwsim`` column (a preset and
overrides) runs the same MLPerf Tiny model. Two numbers per row: the total NPU cycles against
Vela's, and the *mode effect*: the case's cycles relative to the first-listed case of the same
model, system config and MAC count (the preset's own memory mode and product), for Vela and for
hwsim, so a memory mode, cache size or product that Vela makes slower must be slower in hwsim.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hwsim.engine.mcu.analytic import simulate_mcu
from hwsim.hardware.chips import load_chip
from hwsim.report.mcu_reference import vela_memory_modes
from hwsim.workload.load import load_model


def parse_chip(spec: str) -> tuple[str, dict[str, Any]]:
    """``"preset a.b=v c=w"`` -> (preset, overrides), numbers parsed."""
    name, *pairs = spec.split()
    out: dict[str, Any] = {}
    for pair in pairs:
        key, value = pair.split("=", 1)
        try:
            out[key] = int(value)
        except ValueError:
            out[key] = value
    return name, out


def npu_cycles_of(model: str, spec: str) -> float:
    name, overrides = parse_chip(spec)
    ops, _ = simulate_mcu(load_model(f"mlperf-tiny-{model}"), load_chip(name, overrides), 1)
    return float(sum(o.mapping["npu_cycles"] for o in ops))


def mode_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    base: dict[tuple[str, str, str], tuple[float, float]] = {}
    for r in vela_memory_modes():
        vela = float(r["cycles_total"])
        ours = npu_cycles_of(r["model"], r["hwsim"])
        key = (r["model"], r["system_config"], r["config"].rsplit("-", 1)[-1])  # MACs
        base.setdefault(key, (vela, ours))
        b_vela, b_ours = base[key]
        mode = r["memory_mode"] + (f" cache {int(r['arena_cache_size']) // 1024} KiB"
                                   if r["arena_cache_size"] else "")
        rows.append({"model": r["model"], "config": r["config"], "system": r["system_config"],
                     "memory_mode": mode, "hwsim_chip": r["hwsim"], "vela_cycles": vela,
                     "hwsim_cycles": ours, "error": ours / vela - 1.0,
                     "vela_vs_default": vela / b_vela, "hwsim_vs_default": ours / b_ours})
    return rows


def mode_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Median |error| of the totals, and how often hwsim moves the same way as Vela (a change
    of under 1 % counts as no change) when only the memory mode, cache or product differs."""
    err = np.abs([r["error"] for r in rows])

    def sign(x: float) -> int:
        return 0 if abs(x - 1.0) < 0.01 else (1 if x > 1.0 else -1)

    moved = [r for r in rows if r["vela_vs_default"] != 1.0 or r["hwsim_vs_default"] != 1.0]
    agree = [sign(r["vela_vs_default"]) == sign(r["hwsim_vs_default"]) for r in moved]
    return {"figures": len(rows), "median_abs_error": float(np.median(err)),
            "max_abs_error": float(err.max()),
            "direction_agrees": f"{sum(agree)} of {len(agree)}"}
