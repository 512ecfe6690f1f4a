"""Typed access to the cached ZigZag 3.9.1 per-layer results (held-out peer reference).

The files live in ``hwsim/data/reference/accelerator/zigzag`` (SOURCES.md there: generator,
settings, units): ``zigzag_layers.csv`` has one row per (hardware, workload, objective, layer)
and ``zigzag_levels.csv`` one row per layer, operand and memory level. :func:`load_zigzag_layers`
joins them into :class:`ZigZagLayer` records, so a comparison can take the loop dims, run hwsim on
the same layer, and read the peer's DRAM bytes, energy per memory level and latency.

ZigZag's operands: ``I`` input activations, ``W`` weights, ``O`` outputs (partial sums while
being accumulated). Its Gemm layers (``O[d][k] += I[d][c] * W[c][k]``) are given as
``B`` = rows (d), ``K`` = output columns, ``C`` = reduction; convolutions use the usual
``B, G, K, C, OY, OX, FY, FX`` (``G`` groups, e.g. depthwise: ``G`` = channels, ``K = C = 1``).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hwsim.presets import zigzag_reference_dir

HARDWARE = ("eyeriss_like", "tpu_like", "edge_tpu_like")
WORKLOADS = ("gemm", "resnet18", "mobilenetv2")
OBJECTIVES = ("energy", "latency")
OPERANDS = ("I", "W", "O")
LOOP_DIMS = ("B", "G", "K", "C", "OY", "OX", "FY", "FX")
LAYERS_CSV = "zigzag_layers.csv"
LEVELS_CSV = "zigzag_levels.csv"


@dataclass(frozen=True)
class ZigZagLevel:
    """One operand at one memory level of one layer (``level`` 0 is nearest the MACs)."""

    operand: str
    level: int
    memory: str  # the memory's name in ZigZag's hardware YAML (e.g. ``sram_2MB``, ``dram``)
    read_bits: float  # bits read out of this memory (to the level below and above)
    write_bits: float  # bits written into it (from below and above)
    energy_pj: float


@dataclass(frozen=True)
class ZigZagLayer:
    """ZigZag's best mapping of one layer under one objective, and what it costs."""

    hardware: str
    workload: str
    objective: str  # what ZigZag minimised: ``energy`` or ``latency``
    layer_id: int
    layer_name: str
    layer_type: str  # ZigZag's operator type: Conv, Gemm, MatMul
    dims: dict[str, int]  # LOOP_DIMS -> size (1 when the layer has no such loop)
    stride_y: int
    stride_x: int
    padding: tuple[int, int, int, int]  # (y begin, y end, x begin, x end)
    precision_bits: dict[str, int]  # I, W, O (partial sums), O_final
    macs: int
    spatial_mapping: str  # e.g. ``D1:[K32] D2:[C32]``
    temporal_mapping: str  # per operand, its loops per memory level, innermost first
    mac_energy_pj: float
    mem_energy_pj: float
    energy_total_pj: float
    dram_read_bytes: dict[str, float]  # operand -> bytes read from DRAM
    dram_write_bytes: dict[str, float]  # operand -> bytes written to DRAM (O only, in practice)
    latency_total_cycles: float  # compute + stalls + on-loading + off-loading + systolic drain
    latency_compute_cycles: float  # ideal temporal cycles + stalls (no on/off-loading)
    ideal_cycles: float  # MACs / array size: a fully utilised array
    ideal_temporal_cycles: float  # the temporal loop count of the chosen spatial mapping
    onloading_cycles: float
    offloading_cycles: float
    levels: tuple[ZigZagLevel, ...]

    @property
    def dram_bytes(self) -> float:
        """All off-chip traffic of the layer: reads and writes of every operand."""
        return sum(self.dram_read_bytes.values()) + sum(self.dram_write_bytes.values())

    def energy_by_memory_pj(self) -> dict[str, float]:
        """Memory name -> pJ, summed over operands (a shared memory sums its operands)."""
        out: dict[str, float] = defaultdict(float)
        for lv in self.levels:
            out[lv.memory] += lv.energy_pj
        return dict(out)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@lru_cache(maxsize=2)
def _load(folder: Path) -> tuple[ZigZagLayer, ...]:
    levels: dict[tuple[str, str, str, int], list[ZigZagLevel]] = defaultdict(list)
    for r in _read(folder / LEVELS_CSV):
        key = (r["hardware"], r["workload"], r["objective"], int(r["layer_id"]))
        read_bits = sum(float(r[f"{d}_words"]) * float(r[f"{d}_word_bits"])
                        for d in ("rd_out_to_low", "rd_out_to_high"))
        write_bits = sum(float(r[f"{d}_words"]) * float(r[f"{d}_word_bits"])
                         for d in ("wr_in_by_low", "wr_in_by_high"))
        levels[key].append(ZigZagLevel(r["operand"], int(r["level"]), r["memory"], read_bits,
                                       write_bits, float(r["energy_pJ"])))
    out = []
    for r in _read(folder / LAYERS_CSV):
        key = (r["hardware"], r["workload"], r["objective"], int(r["layer_id"]))
        out.append(ZigZagLayer(
            hardware=r["hardware"], workload=r["workload"], objective=r["objective"],
            layer_id=int(r["layer_id"]), layer_name=r["layer_name"], layer_type=r["layer_type"],
            dims={d: int(r[f"dim_{d}"]) for d in LOOP_DIMS},
            stride_y=int(r["stride_y"]), stride_x=int(r["stride_x"]),
            padding=(int(r["pad_y_begin"]), int(r["pad_y_end"]), int(r["pad_x_begin"]),
                     int(r["pad_x_end"])),
            precision_bits={op: int(r[f"precision_{op}_bits"]) for op in ("I", "W", "O",
                                                                         "O_final")},
            macs=int(r["macs"]), spatial_mapping=r["spatial_mapping"],
            temporal_mapping=r["temporal_mapping"],
            mac_energy_pj=float(r["mac_energy_pJ"]), mem_energy_pj=float(r["mem_energy_pJ"]),
            energy_total_pj=float(r["energy_total_pJ"]),
            dram_read_bytes={op: float(r[f"dram_{op}_read_bytes"]) for op in OPERANDS},
            dram_write_bytes={op: float(r[f"dram_{op}_write_bytes"]) for op in OPERANDS},
            latency_total_cycles=float(r["latency_total_cycles"]),
            latency_compute_cycles=float(r["latency_compute_cycles"]),
            ideal_cycles=float(r["ideal_cycles"]),
            ideal_temporal_cycles=float(r["ideal_temporal_cycles"]),
            onloading_cycles=float(r["onloading_cycles"]),
            offloading_cycles=float(r["offloading_cycles"]),
            levels=tuple(sorted(levels.get(key, []), key=lambda lv: (lv.operand, lv.level)))))
    return tuple(out)


def load_zigzag_layers(hardware: str | None = None, workload: str | None = None,
                       objective: str | None = "energy",
                       folder: Path | None = None) -> list[ZigZagLayer]:
    """The cached ZigZag layers, filtered (``None`` keeps every value). The default objective is
    ``energy``, ZigZag's minimum-energy mapping of each layer."""
    for name, value, allowed in (("hardware", hardware, HARDWARE), ("workload", workload,
                                 WORKLOADS), ("objective", objective, OBJECTIVES)):
        if value is not None and value not in allowed:
            raise ValueError(f"unknown ZigZag {name} {value!r}; one of {', '.join(allowed)}")
    rows = _load(folder or zigzag_reference_dir())
    return [r for r in rows if (hardware is None or r.hardware == hardware)
            and (workload is None or r.workload == workload)
            and (objective is None or r.objective == objective)]
