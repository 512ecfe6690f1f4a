"""Vectorised analytic evaluation of one model on many accelerator designs at once.

The same cost functions as :func:`hwsim.simulate` (``gemm_costs``/``vector_costs``), evaluated on
a (works x designs) grid with numpy broadcasting: this is what makes 10^4-design sweeps take
seconds. Designs vary in array shape, buffer sizes, bandwidth and clock; a call holds dataflow,
dtype and tech fixed (group designs by them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from hwsim.config.chip import AcceleratorChip
from hwsim.engine.accelerator.analytic import design_arrays, prepare, split_works
from hwsim.engine.accelerator.costs import (
    DesignArrays,
    OffchipTraffic,
    gemm_compute_cycles,
    gemm_costs,
    offchip_byte_energies,
    sram_energies,
    vector_costs,
)
from hwsim.engine.accelerator.mapper import map_designs
from hwsim.engine.accelerator.rowstationary import rs_mapping
from hwsim.engine.accelerator.traffic import SramTraffic
from hwsim.hardware.tech import load_tech
from hwsim.units import DTYPE_BYTES
from hwsim.workload.model import Model


@dataclass(frozen=True)
class SweepResult:
    """Totals per design (arrays of length D)."""

    cycles: np.ndarray
    latency_s: np.ndarray
    dynamic_energy_j: np.ndarray  # without static energy (static depends on area and leakage)
    offchip_bytes: np.ndarray
    evaluations: int  # work items x designs costed
    mapper_s: float = 0.0  # wall time spent choosing tilings (the mapper's share of the sweep)


def designs_like(chip: AcceleratorChip, **arrays: np.ndarray) -> tuple[DesignArrays, np.ndarray]:
    """Design arrays from a base chip with some fields replaced by 1-D arrays (same length).

    Keys: rows, cols, ifmap_bytes, filter_bytes, ofmap_bytes, bw_bytes_per_s, clock_hz,
    vector_lanes. Returns the designs and their clocks (Hz)."""
    base = design_arrays(chip)
    n = max((np.size(a) for a in arrays.values()), default=1)
    clock = np.broadcast_to(np.asarray(arrays.get("clock_hz", chip.clock_hz), float), (n,))
    bw = np.asarray(arrays.get("bw_bytes_per_s", chip.offchip.bw_bytes_per_s), float) / clock

    def pick(key: str, default: np.ndarray) -> np.ndarray:
        return np.broadcast_to(np.asarray(arrays.get(key, default), float), (n,))

    d = DesignArrays(rows=pick("rows", base.rows), cols=pick("cols", base.cols),
                     ifmap_bytes=pick("ifmap_bytes", base.ifmap_bytes),
                     filter_bytes=pick("filter_bytes", base.filter_bytes),
                     ofmap_bytes=pick("ofmap_bytes", base.ofmap_bytes),
                     bw_bytes_per_cycle=np.broadcast_to(bw, (n,)),
                     vector_lanes=pick("vector_lanes", base.vector_lanes))
    return d, clock


def sweep_accelerator(model: Model, chip: AcceleratorChip, designs: DesignArrays,
                      clock_hz: np.ndarray, batch: int = 1) -> SweepResult:
    """Evaluate ``model`` on every design (all arrays of ``designs`` have length D)."""
    tech = load_tech(chip.tech)
    pre = prepare(chip)  # the chip's energies (its own figures where it gives them)
    dt = chip.array.dtype
    elem = DTYPE_BYTES[dt]
    gemm_pairs, vec_pairs, _ = split_works(model, batch, elem, router_unit=False)
    gemms = [w for _, w in gemm_pairs]
    vecs = [w for _, w in vec_pairs]
    if any(w.sparsity is not None for w in gemms):
        raise ValueError("sweep_accelerator costs dense work; use simulate() for sparse models")
    # Works along axis 0, designs along axis 1.
    col = {f: np.asarray(getattr(designs, f), float)[None, :]
           for f in ("rows", "cols", "ifmap_bytes", "filter_bytes", "ofmap_bytes",
                     "bw_bytes_per_cycle", "vector_lanes")}
    d2 = DesignArrays(**col)
    sram_e = sram_energies(tech, d2, chip)
    e_off, e_mac = pre.e_off, pre.e_mac
    n_designs = np.size(designs.rows)
    mapper_s = 0.0
    cycles = np.zeros(n_designs)
    energy = np.zeros(n_designs)
    offchip = np.zeros(n_designs)
    if gemms:
        def column(attr: str) -> np.ndarray:
            return np.array([getattr(w, attr) for w in gemms], dtype=float)[:, None]

        m, n, k, cnt = column("m"), column("n"), column("k"), column("count")
        sram, eff = None, None
        if chip.dataflow == "rs":
            rf = chip.pe_register_files
            assert rf is not None
            reads = tuple(sram_e[b][0] for b in ("ifmap_sram", "filter_sram", "ofmap_sram"))
            rs = rs_mapping([w.nest for w in gemms], designs.rows, designs.cols, elem,
                            rf.ifmap_bytes, rf.filter_bytes, rf.psum_bytes,
                            reads, chip.array.accumulator_bytes)  # type: ignore[arg-type]
            comp = rs.compute_cycles
            sram = SramTraffic(rs.read_a, rs.read_b, rs.read_c, rs.write_c,
                               rs.passes / np.maximum(np.round(cnt), 1.0), rs.first_bytes)
            eff = rs.utilization
        else:
            comp = gemm_compute_cycles(m, n, k, cnt, d2, chip.dataflow,
                                       systolic=chip.array.systolic)
        macs = (m * n * k * cnt)[:, 0]
        t0 = time.perf_counter()
        mp = map_designs([w.nest for w in gemms], elem, designs.ifmap_bytes / 2,
                         designs.filter_bytes / 2, designs.ofmap_bytes / 2,
                         chip.mapping_objective, comp, designs.bw_bytes_per_cycle,
                         tuple(np.ravel(x) for x in offchip_byte_energies(sram_e, e_off)),
                         macs * e_mac, chip.buffers.ifmap_ofmap_shared,
                         chip.array.accumulator_bytes)
        mapper_s = time.perf_counter() - t0
        g = gemm_costs(m, n, k, cnt, elem, d2, chip.dataflow, e_mac, e_off, sram_e,
                       OffchipTraffic(mp["a"], mp["b"], mp["c"]), comp,
                       sram=sram, efficiency=eff, rf_j=pre.rf_j,
                       psum_bytes=chip.array.accumulator_bytes)
        cycles += np.broadcast_to(g.cycles, (len(gemms), n_designs)).sum(axis=0)
        energy += sum(np.broadcast_to(v, (len(gemms), n_designs)).sum(axis=0)
                      for v in g.energy_j.values())
        offchip += np.broadcast_to(g.offchip_bytes, (len(gemms), n_designs)).sum(axis=0)
    if vecs:
        def vcol(attr: str) -> np.ndarray:
            return np.array([getattr(w, attr) for w in vecs], dtype=float)[:, None]

        v = vector_costs(vcol("elements"), vcol("ops_per_element"), vcol("bytes_in"),
                         vcol("bytes_out"), d2, tech.add_energy_j(dt), e_off, sram_e)
        cycles += np.broadcast_to(v.cycles, (len(vecs), n_designs)).sum(axis=0)
        energy += sum(np.broadcast_to(x, (len(vecs), n_designs)).sum(axis=0)
                      for x in v.energy_j.values())
        offchip += np.broadcast_to(v.offchip_bytes, (len(vecs), n_designs)).sum(axis=0)
    return SweepResult(cycles=cycles, latency_s=cycles / clock_hz, dynamic_energy_j=energy,
                       offchip_bytes=offchip, evaluations=(len(gemms) + len(vecs)) * n_designs,
                       mapper_s=mapper_s)
