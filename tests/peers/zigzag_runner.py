"""Run the peer cost model ZigZag (PyPI ``zigzag-dse==3.9.1``, KU Leuven MICAS) and flatten its
per-layer results into plain rows.

ZigZag is driven only through its documented entry point
``zigzag.api.get_hardware_performance_zigzag(workload, accelerator, mapping, opt=..., ...)``,
with the hardware and mapping YAML files its wheel ships (``zigzag/inputs/hardware``,
``zigzag/inputs/mapping``). It returns one cost-model evaluation (CME) per layer it maps (ONNX
Conv, Gemm and MatMul; every other node is a dummy it skips); :func:`layer_rows` turns one CME
into a row of ``LAYER_COLUMNS`` and one row of ``LEVEL_COLUMNS`` per operand and memory level.

Units (read from ZigZag's source, docs/zigzag.md): energies in pJ; ``size`` and port bandwidths
in bits; an access count is in words of the port's ``bandwidth_max`` bits (ZigZag charges
``r_cost``/``w_cost`` per such word), so bytes = accesses x bandwidth_max / 8.

:func:`require_zigzag` raises :class:`ZigZagUnavailable` (tests turn it into a skip) when the
package is missing or not the pinned version.
"""

from __future__ import annotations

import logging
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.peers.pinned import require_pinned

ZIGZAG_VERSION = "3.9.1"
# ZigZag's shipped hardware -> the shipped mapping file used with it. eyeriss_like ships without
# a mapping of its own; default.yaml is the generic one ZigZag's inputs provide (K on D1, C on
# D2, reduced by ZigZag to the 14 x 12 array), see docs/zigzag.md.
HARDWARE_MAPPINGS = {"eyeriss_like": "default", "tpu_like": "tpu_like",
                     "edge_tpu_like": "edge_tpu_like"}
OPERANDS = ("I", "W", "O")  # ZigZag's layer operands: input, weight, output
DIRECTIONS = ("rd_out_to_low", "wr_in_by_low", "rd_out_to_high", "wr_in_by_high")
LOOP_DIMS = ("B", "G", "K", "C", "OY", "OX", "FY", "FX")
# ZigZag's Gemm/MatMul dims (O[d][k] += I[d][c] * W[c][k]) are reported as B=D (rows), K, C.
LAYER_COLUMNS = (
    "hardware", "workload", "objective", "layer_id", "layer_name", "layer_type",
    *(f"dim_{d}" for d in LOOP_DIMS), "stride_y", "stride_x",
    "pad_y_begin", "pad_y_end", "pad_x_begin", "pad_x_end",
    "precision_I_bits", "precision_W_bits", "precision_O_bits", "precision_O_final_bits",
    "macs", "spatial_mapping", "temporal_mapping",
    "mac_energy_pJ", "mem_energy_pJ", "energy_total_pJ",
    *(f"dram_{op}_{rw}_bytes" for op in OPERANDS for rw in ("read", "write")),
    "latency_total_cycles", "latency_compute_cycles", "ideal_cycles", "ideal_temporal_cycles",
    "stall_slack_cycles", "onloading_cycles", "offloading_cycles", "systolic_drain_cycles",
)
LEVEL_COLUMNS = (
    "hardware", "workload", "objective", "layer_id", "operand", "level", "memory",
    *(f"{d}_words" for d in DIRECTIONS), *(f"{d}_word_bits" for d in DIRECTIONS),
    *(f"{d}_pJ" for d in DIRECTIONS), "energy_pJ",
)


class ZigZagUnavailable(RuntimeError):
    """ZigZag cannot run here (missing or another version). Safe to skip on."""


def require_zigzag() -> Path:
    """The installed ``zigzag`` package folder, at the pinned version."""
    require_pinned("zigzag-dse", ZIGZAG_VERSION, ZigZagUnavailable)
    try:
        # its ONNX parser needs `six`, an undeclared dependency: fail here, not mid-run
        import zigzag.api
    except ImportError as e:
        raise ZigZagUnavailable(f"zigzag does not import: {e}") from e
    import zigzag
    return Path(zigzag.__file__).parent


def shipped_input(kind: str, name: str) -> Path:
    """``zigzag/inputs/<kind>/<name>`` of the installed wheel (kind: hardware, mapping,
    workload)."""
    return require_zigzag() / "inputs" / kind / name


@dataclass(frozen=True)
class Settings:
    """ZigZag's mapper knobs (the API's defaults unless the generator lowers them)."""

    objective: str = "energy"  # ZigZag's opt: energy, latency or EDP
    lpf_limit: int = 6  # LOMA: loop prime factors kept per temporal-ordering search
    nb_spatial_mappings: int = 3  # spatial mappings generated when the mapping file leaves a gap


def run_zigzag(workload: str | Path | list[dict[str, Any]], hardware: str,
               settings: Settings) -> list[Any]:
    """ZigZag's best CME per layer (in its topological order) for ``workload`` (an ONNX file,
    a workload YAML file, or a list of ZigZag layer dicts) on a shipped ``hardware``."""
    require_zigzag()
    from zigzag.api import get_hardware_performance_zigzag

    logging.getLogger("zigzag").setLevel(logging.WARNING)  # its per-layer INFO lines
    accelerator = shipped_input("hardware", f"{hardware}.yaml")
    mapping = shipped_input("mapping", f"{HARDWARE_MAPPINGS[hardware]}.yaml")
    with tempfile.TemporaryDirectory() as dump:
        _, _, cmes = get_hardware_performance_zigzag(
            workload if isinstance(workload, list) else str(workload), str(accelerator),
            str(mapping), opt=settings.objective, dump_folder=dump,
            lpf_limit=settings.lpf_limit,
            nb_spatial_mappings_generated=settings.nb_spatial_mappings,
            loma_show_progress_bar=False)
    # cmes: [(summed CME, [(layer CME, extra), ...])]
    return [cme for cme, _ in cmes[0][1]]


def _dim(layer: Any, name: str) -> int:
    sizes = {str(d): int(v) for d, v in layer.layer_dim_sizes.items()}
    if name == "B" and str(layer.type) in ("Gemm", "MatMul"):
        return sizes.get("D", 1) * sizes.get("B", 1) * sizes.get("H", 1)
    return sizes.get(name, 1)


def _stride_and_padding(layer: Any) -> dict[str, int]:
    out = {"stride_y": 1, "stride_x": 1, "pad_y_begin": 0, "pad_y_end": 0,
           "pad_x_begin": 0, "pad_x_end": 0}
    for rel in layer.dimension_relations:  # e.g. "ix = 2*ox + 1*fx"
        axis = str(rel.dim_1).lower()[-1]
        out[f"stride_{axis}"] = int(rel.coef_2)
    for dim, (begin, end) in layer.padding.data.items():
        axis = str(dim).lower()[-1]
        out[f"pad_{axis}_begin"], out[f"pad_{axis}_end"] = int(begin), int(end)
    return out


def _temporal_string(cme: Any) -> str:
    """Per operand, its loops per memory level, innermost first: ``O: rf_2B[C2 FY3] dram[K2]``."""
    hierarchy = cme.accelerator.mem_hierarchy_dict
    parts = []
    for op, levels in cme.temporal_mapping.mapping_dic_origin.items():
        mem_op = cme.layer.memory_operand_links.layer_to_mem_op(op)
        names = [m.name for m in hierarchy[mem_op]]
        loops = [f"{names[i]}[{' '.join(f'{d}{_num(f)}' for d, f in level)}]"
                 for i, level in enumerate(levels)]
        parts.append(f"{op}: {' '.join(loops)}")
    return " | ".join(parts)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _spatial_string(cme: Any) -> str:
    sm = cme.layer.spatial_mapping
    return " ".join(f"{oa}:[{' '.join(f'{d}{_num(f)}' for d, f in single.items())}]"
                    for oa, single in sm.items())


def _precision(layer: Any, op: str) -> int:
    prec = {str(k): int(v) for k, v in layer.operand_precision.data.items()}
    return prec.get(op, 0)


def layer_rows(cme: Any, hardware: str, workload: str, objective: str
               ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One CME -> (its LAYER_COLUMNS row, its LEVEL_COLUMNS rows)."""
    layer = cme.layer
    key = {"hardware": hardware, "workload": workload, "objective": objective,
           "layer_id": int(layer.id)}
    levels: list[dict[str, Any]] = []
    dram: dict[str, float] = {}
    for op_obj, accesses in cme.memory_word_access.items():
        op = str(op_obj)
        mem_op = layer.memory_operand_links.layer_to_mem_op(op_obj)
        hierarchy = cme.accelerator.mem_hierarchy_dict[mem_op]
        energies = cme.mem_energy_breakdown_further[op_obj]
        for i, (acc, energy) in enumerate(zip(accesses, energies, strict=True)):
            mem = hierarchy[i]
            row = {**key, "operand": op, "level": i, "memory": mem.name}
            total = 0.0
            for d in DIRECTIONS:
                direction = next(x for x in acc.data if str(x) == d)
                bits = mem.get_max_bandwidth(mem_op, direction) or 0
                row[f"{d}_words"] = acc.get(direction)
                row[f"{d}_word_bits"] = bits
                row[f"{d}_pJ"] = float(energy.get(direction))
                total += row[f"{d}_pJ"]
            row["energy_pJ"] = total
            levels.append(row)
            if i == len(hierarchy) - 1:  # the top level: DRAM in every shipped hardware
                reads = (row["rd_out_to_low_words"] * row["rd_out_to_low_word_bits"]
                         + row["rd_out_to_high_words"] * row["rd_out_to_high_word_bits"])
                writes = (row["wr_in_by_low_words"] * row["wr_in_by_low_word_bits"]
                          + row["wr_in_by_high_words"] * row["wr_in_by_high_word_bits"])
                dram[f"dram_{op}_read_bytes"] = reads / 8
                dram[f"dram_{op}_write_bytes"] = writes / 8
    out = {**key, "layer_name": layer.name, "layer_type": str(layer.type),
           **{f"dim_{d}": _dim(layer, d) for d in LOOP_DIMS}, **_stride_and_padding(layer),
           **{f"precision_{op}_bits": _precision(layer, op) for op in ("I", "W", "O", "O_final")},
           "macs": int(layer.total_mac_count), "spatial_mapping": _spatial_string(cme),
           "temporal_mapping": _temporal_string(cme),
           "mac_energy_pJ": float(cme.mac_energy), "mem_energy_pJ": float(cme.mem_energy),
           "energy_total_pJ": float(cme.energy_total),
           **{f"dram_{op}_{rw}_bytes": dram.get(f"dram_{op}_{rw}_bytes", 0.0)
              for op in OPERANDS for rw in ("read", "write")},
           "latency_total_cycles": float(cme.latency_total2),
           "latency_compute_cycles": float(cme.latency_total0),
           "ideal_cycles": float(cme.ideal_cycle),
           "ideal_temporal_cycles": float(cme.ideal_temporal_cycle),
           "stall_slack_cycles": float(cme.stall_slack_comb),
           "onloading_cycles": float(cme.data_onloading_cycle),
           "offloading_cycles": float(cme.data_offloading_cycle),
           "systolic_drain_cycles": float(cme.systolic_drain_cycle)}
    assert math.isclose(sum(r["energy_pJ"] for r in levels) + out["mac_energy_pJ"],
                        out["energy_total_pJ"], rel_tol=1e-9)
    return out, levels


def format_value(value: Any) -> str:
    """CSV text of one value: integers plain, floats with 12 significant digits (ZigZag's own
    sums differ in the last bits between runs only through summation order, which is fixed)."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.12g}"
    return str(value)
