"""The one totals builder: per-op rows of any chip kind added up into a :class:`Total`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hwsim.engine.result import OpResult, Total


def build_total(rows: Sequence[OpResult], *, energy_components: Sequence[str],
                byte_levels: Sequence[str], area_mm2: Mapping[str, float],
                static_power_w: float, clock_hz: float | None = None,
                peak_macs_per_cycle: float | None = None,
                peak_macs_per_s: float | None = None) -> Total:
    """Sums over the ops (ops run one after another, so cycles and latencies add), and
    utilisation as MACs done over MACs the chip's peak could have done in that time.

    Engines that count one clock's cycles (accelerator, MCU) give ``clock_hz`` and
    ``peak_macs_per_cycle``: latency is total cycles / clock. Engines that time kernels in
    seconds (GPU) give ``peak_macs_per_s``: latency is the sum of the ops' latencies."""
    cycles = sum(r.cycles for r in rows)
    macs = sum(r.macs for r in rows)
    if clock_hz is not None and peak_macs_per_cycle is not None:
        latency_s = cycles / clock_hz
        utilization = macs / (cycles * peak_macs_per_cycle) if cycles else 0.0
    elif peak_macs_per_s is not None:
        latency_s = sum(r.latency_s for r in rows)
        utilization = macs / (latency_s * peak_macs_per_s) if latency_s else 0.0
    else:
        raise TypeError("give clock_hz and peak_macs_per_cycle, or peak_macs_per_s")
    breakdown = {c: sum(r.energy_breakdown_j[c] for r in rows) for c in energy_components}
    return Total(
        cycles=cycles, compute_cycles=sum(r.compute_cycles for r in rows),
        stall_cycles=sum(r.stall_cycles for r in rows), latency_s=latency_s,
        energy_j=sum(breakdown.values()), energy_breakdown_j=breakdown, macs=macs,
        utilization=utilization, area_mm2=float(sum(area_mm2.values())),
        area_breakdown_mm2=dict(area_mm2),
        bytes={lvl: sum(r.bytes[lvl] for r in rows) for lvl in byte_levels},
        static_power_w=static_power_w)
