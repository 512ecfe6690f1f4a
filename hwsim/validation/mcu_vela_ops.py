"""The structural Ethos-U model against Vela 5.2.0 on the synthetic single-op sweep.

Each run of ``vela_ops_runs.csv`` (one op x accelerator config x memory mode) becomes the hwsim
chip describing the same system (:data:`CASE_CHIPS`) and the :class:`NpuLayer` of the op's
exact shape; weights are encoded with the engine's fitted compression ratio, as the engine
does. A run is one Vela per-layer "layer" (an op Vela decomposes, softmax, is one layer of its
passes summed) and one "model" (the whole single-op network, ``cycles_total``); Vela's per-layer
cycles sum to the total, so the two differ by the fixed cost of the network only.
``split`` says which op shapes are fitted and which held out
(:func:`hwsim.data.reference.mcu.vela_op_sweep.held_out`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from hwsim.config.chip import McuChip
from hwsim.engine.mcu.ethosu_arch import arch_for
from hwsim.engine.mcu.ethosu_layers import (
    STRUCTURAL,
    StructuralConstants,
    encoded_weights,
    memories,
    softmax_cycles,
    with_constants,
)
from hwsim.engine.mcu.ethosu_perf import LayerCycles, NpuLayer, layer_cycles
from hwsim.hardware.chips import load_chip
from hwsim.report.mcu_reference import vela_op_layers, vela_op_runs

# (accelerator config, memory mode) -> hwsim preset and overrides of the same system.
CASE_CHIPS: dict[tuple[str, str], tuple[str, dict[str, object]]] = {
    ("ethos-u55-128", "Shared_Sram"): ("ethos-u55-128", {}),
    ("ethos-u55-128", "Sram_Only"): ("ethos-u55-128", {"npu.memory_mode": "Sram_Only"}),
    ("ethos-u55-256", "Shared_Sram"): ("ethos-u55-256", {}),
    ("ethos-u55-256", "Sram_Only"): ("ethos-u55-256", {"npu.memory_mode": "Sram_Only"}),
    ("ethos-u65-256", "Dedicated_Sram_384KB"): ("ethos-u65-256", {}),
    ("ethos-u65-256", "Shared_Sram"): ("ethos-u65-256", {"npu.memory_mode": "Shared_Sram"}),
    ("ethos-u65-256", "Sram_Only"): ("ethos-u65-256", {"npu.memory_mode": "Sram_Only"}),
}


@dataclass(frozen=True)
class OpRun:
    op: str
    kind: str
    split: str  # fit | heldout
    config: str
    memory_mode: str
    layer: NpuLayer | None  # None: softmax
    shape: tuple[int, int, int]  # input h, w, c
    vela_layer_cycles: float  # Vela's per-layer "Op Cycles", summed over the op's passes
    vela_total_cycles: float  # cycles_total of the single-op network
    vela_weight_bytes: float  # Vela's encoded weight stream (total_npu_encoded_weights)


@lru_cache(maxsize=8)
def case_chip(config: str, mode: str) -> McuChip:
    name, overrides = CASE_CHIPS[(config, mode)]
    return load_chip(name, overrides)


def op_layer(kind: str, h: int, w: int, c: int, k: int, kernel: int, stride: int) -> NpuLayer:
    """The NPU operation of one sweep op (TensorFlow "same" padding for convolutions, "valid"
    for pools, as the builder makes them)."""
    if kind in ("conv", "depthwise"):
        raw = kernel * kernel * (c if kind == "conv" else 1) * k
        return NpuLayer(kind, (h, w, c), (math.ceil(h / stride), math.ceil(w / stride), k),
                        (kernel, kernel), stride, encoded_weights(raw, k, 0.0))
    if kind == "fc":
        return NpuLayer("fc", (1, 1, c), (1, 1, k), (1, 1), 1, encoded_weights(c * k, k, 0.0))
    if kind in ("avgpool", "maxpool"):
        out = ((h - kernel) // stride + 1, (w - kernel) // stride + 1, c)
        return NpuLayer(kind, (h, w, c), out, (kernel, kernel), stride)
    return NpuLayer(kind, (h, w, c), (h, w, c))


@lru_cache(maxsize=1)
def op_runs() -> tuple[OpRun, ...]:
    layer_sum: dict[tuple[str, str, str], float] = {}
    for r in vela_op_layers():
        key = (r["op"], r["config"], r["memory_mode"])
        layer_sum[key] = layer_sum.get(key, 0.0) + float(r["op_cycles"])
    out = []
    for r in vela_op_runs():
        dims = [int(r[f]) for f in ("h", "w", "c", "k", "kernel", "stride")]
        layer = None if r["kind"] == "softmax" else op_layer(r["kind"], *dims)
        out.append(OpRun(r["op"], r["kind"], r["split"], r["config"], r["memory_mode"], layer,
                         (dims[0], dims[1], dims[2]),
                         layer_sum[(r["op"], r["config"], r["memory_mode"])],
                         float(r["cycles_total"]), float(r["total_npu_encoded_weights"])))
    return tuple(out)


@lru_cache(maxsize=4096)
def structure(run: OpRun, vela_weights: bool = True) -> LayerCycles | tuple[int, int, float]:
    """The structural part of a run's cost, before the fitted constants: the op's
    :class:`LayerCycles`, or a softmax's (elements, rows, output-stage rate).
    ``vela_weights``: the encoded weight bytes Vela reports for the model (the compression of
    the sweep's random weights is a property of their values, which hwsim does not see)
    instead of the engine's ratio fitted on trained MLPerf Tiny weights."""
    chip = case_chip(run.config, run.memory_mode)
    npu = chip.npu
    assert npu is not None
    arch = arch_for(npu.product, npu.macs_per_cycle)
    if run.layer is None:  # softmax over the channels of each pixel
        h, w, ch = run.shape
        return h * w * ch, h * w, arch.out_conv
    layer = run.layer
    if vela_weights and layer.weight_bytes:
        layer = replace(layer, weight_bytes=run.vela_weight_bytes)
    # Single-op networks: in Dedicated_Sram the network's input and output live in the DRAM.
    ded = npu.memory_mode == "Dedicated_Sram"
    return layer_cycles(layer, arch, memories(npu, ded, ded))


def predict(run: OpRun, c: StructuralConstants = STRUCTURAL,
            vela_weights: bool = True) -> float:
    """hwsim's NPU cycles of one run (:func:`structure` with the fitted constants)."""
    base = structure(run, vela_weights)
    if isinstance(base, tuple):
        return softmax_cycles(*base, c)
    return with_constants(run.kind, base, c).total


def comparison_rows(split: str | None = None,
                    vela_weights: bool = True) -> list[dict[str, object]]:
    """One row per run: Vela's layer and total cycles, hwsim's, and both errors."""
    rows = []
    for run in op_runs():
        if split is not None and run.split != split:
            continue
        ours = predict(run, vela_weights=vela_weights)
        rows.append({"op": run.op, "kind": run.kind, "split": run.split, "config": run.config,
                     "memory_mode": run.memory_mode, "vela_layer_cycles": run.vela_layer_cycles,
                     "vela_total_cycles": run.vela_total_cycles, "hwsim_cycles": ours,
                     "layer_error": ours / run.vela_layer_cycles - 1.0,
                     "total_error": ours / run.vela_total_cycles - 1.0})
    return rows


def summary(rows: list[dict[str, object]], key: str) -> list[dict[str, object]]:
    """Median and 90th-percentile |error| of ``key`` (layer_error | total_error), overall and per
    op kind, memory mode and config; share within 15 %."""
    def one(name: str, rs: list[dict[str, object]]) -> dict[str, object]:
        e = np.abs([float(r[key]) for r in rs])  # type: ignore[arg-type]
        return {"group": name, "runs": len(rs), "median_abs_error": float(np.median(e)),
                "p90_abs_error": float(np.percentile(e, 90)),
                "within_15pct": float(np.mean(e <= 0.15)),
                "signed_median_error": float(np.median([float(r[key]) for r in rs]))}  # type: ignore[arg-type]

    out = [one("all", rows)]
    for field in ("kind", "memory_mode", "config"):
        for v in sorted({str(r[field]) for r in rows}):
            out.append(one(f"{field}={v}", [r for r in rows if r[field] == v]))
    return out
