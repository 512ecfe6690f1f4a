"""Per-layer comparison of hwsim's Ethos-U model with Vela 5.2.0's per-layer estimates.

Vela's per-layer CSV has one row per NPU operation it schedules; an original TFLite operator
becomes a primary row (Conv2D, DepthwiseConv2D, FullyConnected, AvgPool, Add) followed by
fused or decomposed rows (a Relu with 0 cycles; Softmax becomes ~30 elementwise passes). Rows
are grouped per original operator (a new group starts where the original operator changes or
its primary row repeats) and matched in order to the hwsim model's ops, which come from the
same .tflite in the same order; a GEMM op must also have Vela's MAC count, or the match is
refused (reported, not guessed).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hwsim.engine.mcu.analytic import simulate_mcu
from hwsim.engine.mcu.cycle import simulate_mcu_cycle
from hwsim.hardware.chips import load_chip
from hwsim.report.mcu_reference import vela_layers
from hwsim.workload.load import load_model

# Vela's original-operator names of the ops a hwsim op kind/function can be.
VELA_KINDS = {"Conv2D": "conv", "DepthwiseConv2D": "depthwise", "FullyConnected": "fc",
              "AvgPool": "pool", "MaxPool": "pool", "Softmax": "softmax", "Add": "add"}


def group_layers(rows: list[tuple[str, str, int, int]]) -> list[tuple[str, int, int]]:
    """(original operator, cycles, MACs) per original operator, in Vela's order."""
    groups: list[list[Any]] = []
    for orig, nng, cycles, macs in rows:
        if not groups or groups[-1][0] != orig or nng == orig:
            groups.append([orig, 0, 0])
        groups[-1][1] += cycles
        groups[-1][2] += macs
    return [(g[0], int(g[1]), int(g[2])) for g in groups]


def layer_rows() -> list[dict[str, Any]]:
    """One row per matched (model, config, layer): Vela cycles, hwsim analytic and cycle."""
    out: list[dict[str, Any]] = []
    for (model, config), rows in sorted(vela_layers().items()):
        m, chip = load_model(f"mlperf-tiny-{model}"), load_chip(config)
        analytic, _ = simulate_mcu(m, chip, 1)
        cycle = simulate_mcu_cycle(m, chip, 1).ops
        groups = group_layers(rows)
        if len(groups) != len(m.ops):
            raise ValueError(f"{model}/{config}: {len(groups)} Vela layers, {len(m.ops)} ops")
        for op, a, c, (orig, vela, macs) in zip(m.ops, analytic, cycle, groups, strict=True):
            if op.macs and op.macs != macs:
                raise ValueError(f"{model}/{config} {op.name}: {op.macs} MACs, Vela {orig} "
                                 f"has {macs}: the op order does not match")
            out.append({"model": model, "config": config, "layer": op.name,
                        "vela_op": VELA_KINDS.get(orig, orig), "vela_cycles": vela,
                        "hwsim": a.mapping["npu_cycles"],
                        "hwsim_cycle": c.mapping["npu_cycles"],
                        "error": a.mapping["npu_cycles"] / vela - 1.0 if vela else None})
    return out


def layer_summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-layer error distribution, overall and per Vela op kind: layers, share of Vela's
    cycles, median and 90th-percentile |error|, share of layers within 15 % and within 50 %."""
    def summary(name: str, rs: list[dict[str, Any]], total: float) -> dict[str, Any]:
        errs = np.abs([r["error"] for r in rs])
        return {"group": name, "layers": len(rs),
                "vela_cycle_share": sum(r["vela_cycles"] for r in rs) / total,
                "median_abs_error": float(np.median(errs)),
                "p90_abs_error": float(np.percentile(errs, 90)),
                "within_15pct": float(np.mean(errs <= 0.15)),
                "within_50pct": float(np.mean(errs <= 0.50)),
                "signed_median_error": float(np.median([r["error"] for r in rs]))}

    rs = [r for r in rows if r["error"] is not None]
    total = float(sum(r["vela_cycles"] for r in rs))
    kinds = sorted({r["vela_op"] for r in rs})
    return [summary("all layers", rs, total)] + [
        summary(k, [r for r in rs if r["vela_op"] == k], total) for k in kinds]
