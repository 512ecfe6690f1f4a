"""The roofline of a chip, read from its spec fields (no cost model):

- compute roof, MAC/s: accelerator ``array.rows x array.cols x clock_hz`` (one MAC per PE per
  cycle); GPU the dense tensor-core rate of the op dtype / 2 (a MAC is two FLOPs); MCU with an
  NPU ``npu.macs_per_cycle x npu.clock_hz``, otherwise ``macs_per_cycle[int8] x clock_hz``;
- memory roof, bytes/s: the off-chip level's ``offchip.bw_bytes_per_s`` (accelerator, GPU); for
  an MCU the weight stream: NPU ``axi_bytes_per_cycle x npu.clock_hz x weight_clock_scale``,
  core ``flash_line_bytes x clock_hz / (flash_wait_states + 1)`` (one flash line per
  wait-states + 1 cycles, the schema's definition).

An op sits at x = MACs per off-chip byte (its ``bytes`` at that level, from the Result) and
y = MACs / latency_s. The roofs are peaks: an op below them is held back by something the
simulator names in its ``bottleneck`` column (launch overhead, vector unit, mapping).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Roofline:
    peak_macs_per_s: float
    bw_bytes_per_s: float
    byte_level: str  # the Result.bytes key the memory roof applies to
    peak_source: str  # the fields the roofs come from, shown under the chart
    bw_source: str

    @property
    def ridge_macs_per_byte(self) -> float:
        return self.peak_macs_per_s / self.bw_bytes_per_s


def roofline(chip: Any, dtype: str = "int8") -> Roofline:
    """Roofs of ``chip`` (an AcceleratorChip, GpuChip or McuChip)."""
    if chip.kind == "accelerator":
        pes = chip.array.rows * chip.array.cols
        return Roofline(pes * chip.clock_hz, chip.offchip.bw_bytes_per_s, "offchip",
                        f"{chip.array.rows}x{chip.array.cols} PEs x {chip.clock_hz / 1e6:g} MHz",
                        f"off-chip {chip.offchip.kind} {chip.offchip.bw_bytes_per_s / 1e9:g} GB/s")
    if chip.kind == "gpu":
        from hwsim.engine.gpu.kernels import tensor_peak

        flops = tensor_peak(chip, dtype)
        return Roofline(flops / 2.0, chip.offchip.bw_bytes_per_s, "offchip",
                        f"tensor cores {flops / 1e12:g} T{dtype} FLOP/s / 2",
                        f"{chip.offchip.kind} {chip.offchip.bw_bytes_per_s / 1e9:g} GB/s")
    if chip.npu is not None:
        npu = chip.npu
        bw = npu.axi_bytes_per_cycle * npu.clock_hz * npu.weight_clock_scale
        return Roofline(npu.macs_per_cycle * npu.clock_hz, bw, "flash",
                        f"NPU {npu.macs_per_cycle} MACs/cycle x {npu.clock_hz / 1e6:g} MHz",
                        f"NPU AXI {npu.axi_bytes_per_cycle} B/cycle x {npu.weight_clock_scale:g}"
                        " weight-port clock scale")
    bw = chip.flash_line_bytes * chip.clock_hz / (chip.flash_wait_states + 1)
    return Roofline(chip.macs_per_cycle["int8"] * chip.clock_hz, bw, "flash",
                    f"core {chip.macs_per_cycle['int8']:g} int8 MACs/cycle x "
                    f"{chip.clock_hz / 1e6:g} MHz",
                    f"flash {chip.flash_line_bytes} B line / ({chip.flash_wait_states} wait "
                    "states + 1) per cycle")


def op_points(result: Any, level: str) -> list[dict[str, Any]]:
    """Ops with MACs placed on the roofline: intensity (MACs/byte at ``level``) and achieved
    MAC/s, both from the Result's per-op rows."""
    out = []
    for op in result.ops:
        moved = op.bytes.get(level, 0.0)
        if op.macs <= 0 or op.latency_s <= 0 or moved <= 0:
            continue
        out.append({"name": op.name, "kind": op.kind, "bottleneck": op.bottleneck,
                    "intensity_macs_per_byte": op.macs / moved,
                    "achieved_macs_per_s": op.macs / op.latency_s, "latency_s": op.latency_s})
    return out
