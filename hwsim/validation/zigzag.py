"""hwsim against ZigZag 3.9.1 on the same layers and the same designs (held-out peer).

ZigZag's shipped hardware descriptions are translated into hwsim presets
(``zigzag-eyeriss-like``, ``zigzag-tpu-like``, ``zigzag-edge-tpu-like``; rules in
docs/zigzag.md). Each cached ZigZag layer (``hwsim.validation.zigzag_reference``) is rebuilt as
one hwsim op and simulated alone, at the same precisions (8-bit operands, 16-bit partial sums)
and under the same objective, and three figures are compared per layer: off-chip bytes (reads
and writes of every operand), total energy (MACs and every memory level, which is all ZigZag
counts) and latency in cycles. Nothing here is fitted: every number on both sides is computed
from the hardware description.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from functools import cache
from typing import Any

from hwsim.config.chip import AcceleratorChip
from hwsim.validation.zigzag_reference import ZigZagLayer, load_zigzag_layers

PRESETS = {"eyeriss_like": "zigzag-eyeriss-like", "tpu_like": "zigzag-tpu-like",
           "edge_tpu_like": "zigzag-edge-tpu-like"}
METRICS = ("dram_bytes", "energy_pj", "latency_cycles")
TARGET = 0.15  # issue 16: median |error| per metric against ZigZag's best mapping
# hwsim energy components -> ZigZag memory levels they stand for, per design (for the split)
LEVELS = {
    "eyeriss_like": {"mac": ("mac",), "pe_rf": ("rf_64B_A", "rf_64B_W", "rf_16B"),
                     "filter_sram": ("sram_64KB",), "ifmap_sram+ofmap_sram": ("sram_1M",
                                                                              "sram_8KB"),
                     "offchip": ("dram",)},
    "tpu_like": {"mac": ("mac",), "filter_sram": ("rf_128B",), "pe_rf": ("rf_2B",),
                 "ifmap_sram+ofmap_sram": ("sram_2MB",), "offchip": ("dram",)},
    "edge_tpu_like": {"mac": ("mac",), "pe_rf": ("rf_1B", "rf_2B"),
                      "filter_sram": ("sram_32KB",), "ifmap_sram+ofmap_sram": ("sram_2MB",),
                      "offchip": ("dram",)},
}


@dataclass(frozen=True)
class LayerComparison:
    hardware: str
    workload: str
    objective: str
    layer: str
    macs: int
    zigzag: dict[str, float]  # METRICS -> ZigZag's value
    hwsim: dict[str, float]  # METRICS -> hwsim's value
    zigzag_levels_pj: dict[str, float]  # hwsim component group -> ZigZag pJ
    hwsim_levels_pj: dict[str, float]  # hwsim component group -> hwsim pJ

    def error(self, metric: str) -> float:
        return self.hwsim[metric] / self.zigzag[metric] - 1.0


def layer_model(z: ZigZagLayer) -> Any:
    """The hwsim model of one ZigZag layer (one op) and its batch."""
    import hwsim

    d = z.dims
    if z.layer_type in ("Gemm", "MatMul"):
        return hwsim.gemm(d["B"] * d["OY"] * d["OX"], d["K"], d["C"], dtype="int8"), 1
    pad_y, pad_x = z.padding[0], z.padding[2]
    h = (d["OY"] - 1) * z.stride_y + d["FY"] - 2 * pad_y
    w = (d["OX"] - 1) * z.stride_x + d["FX"] - 2 * pad_x
    if z.stride_y != z.stride_x or pad_y != pad_x or h < 1 or w < 1:
        raise ValueError(f"{z.workload} {z.layer_name}: hwsim convolutions have one stride and "
                         "one padding for both axes")
    g = d["G"]
    return hwsim.conv2d(h, w, d["C"] * g, d["K"] * g, d["FY"], d["FX"], stride=z.stride_y,
                        padding=pad_y, groups=g, dtype="int8"), d["B"]


@cache
def _chip(hardware: str, objective: str) -> AcceleratorChip:
    import hwsim

    return hwsim.load_chip(PRESETS[hardware], {"mapping_objective": objective})


def compare_layer(z: ZigZagLayer) -> LayerComparison:
    import hwsim

    model, batch = layer_model(z)
    r = hwsim.simulate(model, _chip(z.hardware, z.objective), batch=batch)
    t = r.total
    e = t.energy_breakdown_j
    groups = LEVELS[z.hardware]
    zz_mem = z.energy_by_memory_pj()
    zz_levels = {grp: sum(zz_mem.get(m, 0.0) for m in mems) if grp != "mac" else z.mac_energy_pj
                 for grp, mems in groups.items()}
    hw_levels = {grp: sum(e.get(c, 0.0) for c in grp.split("+")) * 1e12 for grp in groups}
    hw_energy = sum(v for k, v in e.items() if k not in ("static", "vector", "router")) * 1e12
    return LayerComparison(
        hardware=z.hardware, workload=z.workload, objective=z.objective, layer=z.layer_name,
        macs=z.macs,
        zigzag={"dram_bytes": z.dram_bytes, "energy_pj": z.energy_total_pj,
                "latency_cycles": z.latency_total_cycles},
        hwsim={"dram_bytes": t.bytes["offchip"], "energy_pj": hw_energy,
               "latency_cycles": t.cycles},
        zigzag_levels_pj=zz_levels, hwsim_levels_pj=hw_levels)


def comparisons(objective: str = "energy") -> list[LayerComparison]:
    """Every cached ZigZag layer under ``objective``, hwsim alongside."""
    return [compare_layer(z) for z in load_zigzag_layers(objective=objective)]


def medians(rows: list[LayerComparison]) -> dict[tuple[str, str], dict[str, float]]:
    """(hardware, workload) -> metric -> median |error| over its layers."""
    out: dict[tuple[str, str], dict[str, float]] = {}
    for key in sorted({(r.hardware, r.workload) for r in rows}):
        sel = [r for r in rows if (r.hardware, r.workload) == key]
        out[key] = {m: statistics.median(abs(r.error(m)) for r in sel) for m in METRICS}
    return out


def level_totals(rows: list[LayerComparison]) -> dict[tuple[str, str], dict[str, tuple[float,
                                                                                   float]]]:
    """(hardware, workload) -> level group -> (ZigZag pJ, hwsim pJ), summed over layers."""
    out: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
    for r in rows:
        acc = out.setdefault((r.hardware, r.workload), {})
        for grp, zz in r.zigzag_levels_pj.items():
            a, b = acc.get(grp, (0.0, 0.0))
            acc[grp] = (a + zz, b + r.hwsim_levels_pj[grp])
    return out


def report(objective: str = "energy") -> dict[str, Any]:
    rows = comparisons(objective)
    med = medians(rows)
    overall = {m: statistics.median(abs(r.error(m)) for r in rows) for m in METRICS}
    return {
        "peer": "ZigZag 3.9.1 (zigzag-dse), cached per layer: "
                "hwsim/data/reference/accelerator/zigzag (held out: peer reference)",
        "objective": objective,
        "target_median_abs_error": TARGET,
        "overall_median_abs_error": overall,
        "by_design_and_workload": [
            {"hardware": h, "preset": PRESETS[h], "workload": w, "layers": sum(
                1 for r in rows if (r.hardware, r.workload) == (h, w)), **v}
            for (h, w), v in med.items()],
        "energy_by_level_pj": [
            {"hardware": h, "workload": w, "level": grp, "zigzag": zz, "hwsim": hw}
            for (h, w), lv in level_totals(rows).items() for grp, (zz, hw) in lv.items()],
        "layers": [{"hardware": r.hardware, "workload": r.workload, "layer": r.layer,
                    "macs": r.macs, **{f"zigzag_{m}": r.zigzag[m] for m in METRICS},
                    **{f"hwsim_{m}": r.hwsim[m] for m in METRICS},
                    **{f"error_{m}": r.error(m) for m in METRICS}} for r in rows],
    }
