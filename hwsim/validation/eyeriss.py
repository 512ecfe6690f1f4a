"""The ``eyeriss-like`` preset against the Eyeriss chip's silicon measurements (JSSC 2017).

Reference figures (all held out: none was used to fit anything) are read from
``hwsim/data/reference/accelerator/eyeriss`` with their sources (SOURCES.md there). The
workloads are ``models/alexnet-conv.yaml`` (CONV1-5, batch 4) and ``models/vgg16-conv.yaml``
(13 CONV layers, batch 3), simulated through the public :func:`hwsim.simulate` only, so
whatever the accelerator engine and its mapper do is what is compared. Each CONV layer gets
the paper's measured ifmap zero fraction as ReLU activation sparsity (density = 1 - zeros);
the chip benefits only through the zero features its preset declares.

Compared, per layer and per network:

- latency per batch (per layer) and frames/s (network): the paper's *total* latency, which
  includes the DRAM transfers the chip did not overlap with processing;
- DRAM accesses per MAC: the paper counts one access per 16-bit value moved (filters, ifmaps,
  ofmaps; its footnote 2), so hwsim's is off-chip bytes / 2 / MACs;
- power: the paper measured the chip alone, so hwsim's is on-chip energy (all but the off-chip
  component) / latency;
- the power split: the paper's bounds on its CONV1 and CONV5 breakdown (ALUs < 10 %, data
  movement <= 45 % of chip power) against hwsim's on-chip energy split of the same layers.
"""

from __future__ import annotations

import csv
import statistics
from dataclasses import dataclass
from functools import cache
from typing import Any

from hwsim.config.sparsity import ReluSpec
from hwsim.engine.result import OpResult, Result
from hwsim.engine.simulate import simulate
from hwsim.hardware.chips import load_chip
from hwsim.presets import reference_dir

CHIP = "eyeriss-like"
REFERENCE_DIR = reference_dir("accelerator/eyeriss")
BYTES_PER_ACCESS = 2  # one DRAM access = one 16-bit value (JSSC 2017, footnote 2)
BYTES_PER_MB = 1e6  # 15.4 MB / 2 B / 2.663 G MACs = 0.0029 access/MAC only with MB = 10^6 B
NETWORKS = {"alexnet": "alexnet_conv_layers.csv", "vgg16": "vgg16_conv_layers.csv"}
METRICS = {"latency_ms": "ms/batch", "frames_per_s": "frames/s",
           "dram_accesses_per_mac": "access/MAC", "power_mw": "mW"}
# Energy components that are compute or leakage rather than data movement, and the names an
# off-chip level has in a result (the first one present is the off-chip level).
NOT_DATA_MOVEMENT = frozenset({"mac", "vector", "router", "static"})
OFFCHIP_LEVELS = ("offchip", "dram")


@dataclass(frozen=True)
class Row:
    """One measured figure and hwsim's value for it."""

    network: str
    layer: str  # "total" for the whole network
    metric: str
    measured: float
    hwsim: float
    source: str
    held_out: bool = True  # every Eyeriss figure: none is used for fitting

    @property
    def error(self) -> float:
        return (self.hwsim - self.measured) / self.measured

    def to_dict(self) -> dict[str, Any]:
        return {"network": self.network, "layer": self.layer, "metric": self.metric,
                "unit": METRICS[self.metric], "measured": float(self.measured),
                "hwsim": float(self.hwsim), "error": float(self.error),
                "held_out": self.held_out, "source": self.source}


def _read(name: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def measured_layers(network: str) -> list[dict[str, str]]:
    """The per-layer rows of Table V (alexnet) or Table VI (vgg16), as strings."""
    return _read(NETWORKS[network])


def network_totals() -> dict[str, dict[str, str]]:
    """The per-network headline figures, by network."""
    return {r["network"]: r for r in _read("network_totals.csv")}


def power_bounds() -> list[dict[str, str]]:
    """The paper's statements on its power split, as bounds on a fraction of chip power."""
    return _read("power_breakdown.csv")


@cache
def simulated(network: str) -> Result:
    """``network``'s CONV layers on the preset at the paper's batch, each layer with its
    measured ifmap zero fraction as activation sparsity."""
    total = network_totals()[network]
    sparsity = [(r["hwsim_op"], ReluSpec(density=1.0 - float(r["zeros_in_ifmaps_pct"]) / 100))
                for r in measured_layers(network)]
    return simulate(total["hwsim_model"], CHIP, batch=int(total["batch"]), sparsity=sparsity)


def _offchip_level(energy: dict[str, float]) -> str:
    level = next((k for k in OFFCHIP_LEVELS if k in energy), None)
    if level is None:
        raise RuntimeError(f"no off-chip level among the energy components {sorted(energy)}")
    return level


def onchip_energy_j(energy_breakdown_j: dict[str, float]) -> float:
    """Energy of everything on the chip: the paper's power excludes the DRAM."""
    level = _offchip_level(energy_breakdown_j)
    return sum(v for k, v in energy_breakdown_j.items() if k != level)


def _per_mac(bytes_by_level: dict[str, float], energy: dict[str, float], macs: int) -> float:
    return bytes_by_level[_offchip_level(energy)] / BYTES_PER_ACCESS / macs


def _layer_rows(network: str, op: OpResult, row: dict[str, str]) -> list[Row]:
    src = row["source"]
    out = [Row(network, row["layer"], "latency_ms", float(row["total_latency_ms"]),
               op.latency_s * 1e3, src),
           Row(network, row["layer"], "power_mw", float(row["power_mw"]),
               onchip_energy_j(op.energy_breakdown_j) / op.latency_s * 1e3, src)]
    if row["dram_accesses_mb"]:  # empty where the transcription is unreadable (SOURCES.md)
        measured = float(row["dram_accesses_mb"]) * BYTES_PER_MB / BYTES_PER_ACCESS / op.macs
        out.insert(1, Row(network, row["layer"], "dram_accesses_per_mac", measured,
                          _per_mac(op.bytes, op.energy_breakdown_j, op.macs), src))
    return out


def comparison_rows() -> list[Row]:
    """Every measured figure against hwsim: per layer, then each network's totals."""
    rows: list[Row] = []
    for network in NETWORKS:
        result = simulated(network)
        ops = {op.name: op for op in result.ops}
        for r in measured_layers(network):
            rows += _layer_rows(network, ops[r["hwsim_op"]], r)
        t, total = network_totals()[network], result.total
        src = t["source"]
        rows += [
            Row(network, "total", "frames_per_s", float(t["frames_per_s"]),
                result.batch / total.latency_s, src),
            Row(network, "total", "dram_accesses_per_mac", float(t["dram_accesses_per_mac"]),
                _per_mac(total.bytes, total.energy_breakdown_j, total.macs), src),
            Row(network, "total", "power_mw", float(t["power_mw"]),
                onchip_energy_j(total.energy_breakdown_j) / total.latency_s * 1e3, src)]
    return rows


def power_split() -> list[dict[str, Any]]:
    """hwsim's share of on-chip energy in ALUs (MACs) and in data movement (every on-chip
    component that is not compute or leakage) on AlexNet CONV1 and CONV5, against the
    paper's bounds."""
    ops = {op.name: op for op in simulated("alexnet").ops}
    out: list[dict[str, Any]] = []
    for bound in power_bounds():
        for layer in ("conv1", "conv5"):
            energy = ops[layer].energy_breakdown_j
            onchip = onchip_energy_j(energy)
            level = _offchip_level(energy)
            if bound["component"].startswith("ALU"):
                part = energy.get("mac", 0.0)
            else:
                part = sum(v for k, v in energy.items()
                           if k != level and k not in NOT_DATA_MOVEMENT)
            fraction = float(part / onchip)
            limit = float(bound["fraction"])
            out.append({"component": bound["component"], "layer": layer.upper(),
                        "bound": f"{bound['bound']} {limit:.0%}", "hwsim": fraction,
                        "within": fraction <= limit, "held_out": True,
                        "source": bound["source"]})
    return out


def median_abs_errors(rows: list[Row]) -> dict[str, float]:
    """Median |error| over all rows and per metric."""
    out = {"all": statistics.median(abs(r.error) for r in rows)}
    for metric in METRICS:
        errs = [abs(r.error) for r in rows if r.metric == metric]
        if errs:
            out[metric] = statistics.median(errs)
    return out


def report() -> dict[str, Any]:
    """The whole comparison as one JSON-ready document (``hwsim validate accelerator``)."""
    rows = comparison_rows()
    features = load_chip(CHIP).sparse_features
    return {
        "chip": CHIP,
        "reference": "Chen et al., IEEE JSSC 52(1), 2017 (Eyeriss), Tables V and VI; "
                     "hwsim/data/reference/accelerator/eyeriss/SOURCES.md",
        "zero_features": {"zero_gating": features.zero_gating,
                          "zero_skipping": features.zero_skipping},
        "rows": [r.to_dict() for r in rows],
        "median_abs_error": median_abs_errors(rows),
        "power_split": power_split(),
    }
