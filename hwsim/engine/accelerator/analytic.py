"""Analytic simulation of a model on a systolic-array accelerator: lower, cost, assemble rows."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwsim.config.chip import AcceleratorChip
from hwsim.config.sparsity import TraceSpec
from hwsim.engine.accelerator.costs import (
    Costs,
    DesignArrays,
    OffchipTraffic,
    SparseArrays,
    gemm_compute_cycles,
    gemm_costs,
    offchip_byte_energies,
    rf_energies,
    sram_energies,
    vector_costs,
)
from hwsim.engine.accelerator.mapper import OffchipMapping, map_works
from hwsim.engine.accelerator.rowstationary import RsMapping, rs_mapping
from hwsim.engine.accelerator.sparse_effects import DENSE, SparseEffect, gemm_effect
from hwsim.engine.accelerator.tiling import WorkTiming, gemm_timings, stream_timings
from hwsim.engine.accelerator.traffic import SramTraffic
from hwsim.engine.result import OpResult, Total
from hwsim.engine.totals import build_total
from hwsim.errors import input_error
from hwsim.hardware.memo import per_object
from hwsim.hardware.tech import Tech, load_tech
from hwsim.mapping.primitives import GemmWork, MoveWork, VectorWork, lower
from hwsim.sparsity.masks import PackedMask
from hwsim.units import DTYPE_BYTES, PJ
from hwsim.workload.model import Model

ENERGY_COMPONENTS = ("mac", "pe_rf", "vector", "router", "ifmap_sram", "filter_sram",
                     "ofmap_sram", "offchip", "static")
UNITS = ("array", "vector_unit", "router_unit", "offchip")
BYTE_LEVELS = ("ifmap_sram", "filter_sram", "ofmap_sram", "offchip")


def design_arrays(chip: AcceleratorChip) -> DesignArrays:
    f = np.float64
    return DesignArrays(
        rows=np.asarray(chip.array.rows, f), cols=np.asarray(chip.array.cols, f),
        ifmap_bytes=np.asarray(chip.buffers.ifmap.size_bytes, f),
        filter_bytes=np.asarray(chip.buffers.filter.size_bytes, f),
        ofmap_bytes=np.asarray(chip.buffers.ofmap.size_bytes, f),
        bw_bytes_per_cycle=np.asarray(chip.offchip.bw_bytes_per_s / chip.clock_hz, f),
        vector_lanes=np.asarray(chip.vector_unit.lanes, f))


def area_and_static(chip: AcceleratorChip, tech: Tech,
                    d: DesignArrays) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Area by block (mm^2) and static power (W) of every design in ``d`` (arrays over designs,
    other fields from ``chip``): the one formula for a single chip and for vectorised sweeps."""
    mac = tech.mac_area_mm2(chip.array.dtype)
    area = {
        "pe_array": np.asarray(d.rows * d.cols * mac, dtype=np.float64),
        # A vector lane is costed as one MAC of the array's dtype (multiply + add datapath).
        "vector_unit": np.asarray(d.vector_lanes * mac, dtype=np.float64),
        "sram": sum(np.asarray(tech.sram_area_mm2(b), dtype=np.float64)
                    for b in (d.ifmap_bytes, d.filter_bytes, d.ofmap_bytes)),
    }
    if chip.static_power_w is not None:
        return area, np.full_like(area["pe_array"], chip.static_power_w)
    sram_bytes = np.asarray(d.ifmap_bytes + d.filter_bytes + d.ofmap_bytes, dtype=np.float64)
    logic = area["pe_array"] + area["vector_unit"]
    return area, np.asarray(tech.static_power_w(logic, sram_bytes), dtype=np.float64)


@dataclass(frozen=True)
class Prepared:
    """What a chip's costs need before any op: computed once per chip object."""

    tech: Tech
    design: DesignArrays
    sram_e: dict[str, tuple[np.ndarray, np.ndarray]]
    e_mac: float
    e_off: float
    e_vec: float
    e_gated_mac: float
    gated_read_ratio: float
    rf_j: tuple[float, float]  # PE scratchpads: J per MAC, J per byte filled
    area_mm2: dict[str, float]
    static_power_w: float


@per_object
def prepare(chip: AcceleratorChip) -> Prepared:
    tech = load_tech(chip.tech)
    d = design_arrays(chip)
    dt = chip.array.dtype
    area_arrays, static_w = area_and_static(chip, tech, d)
    area = {k: float(v) for k, v in area_arrays.items()}
    e_mac = tech.mac_energy_j(dt) if chip.array.mac_energy_pj is None else (
        chip.array.mac_energy_pj * PJ)
    e_off = (tech.offchip_energy_j_per_byte(chip.offchip.kind)
             if chip.offchip.energy_pj_per_byte is None else chip.offchip.energy_pj_per_byte * PJ)
    # A gated MAC keeps the tech table's gated/full ratio when the MAC energy is given.
    gated = tech.gated_mac_energy_j(dt) * e_mac / tech.mac_energy_j(dt)
    return Prepared(tech=tech, design=d, sram_e=sram_energies(tech, d, chip),
                    e_mac=e_mac, e_off=e_off,
                    e_vec=tech.add_energy_j(dt), e_gated_mac=gated,
                    gated_read_ratio=tech.gated_read_ratio,
                    rf_j=rf_energies(tech, chip, DTYPE_BYTES[dt]),
                    area_mm2=area,
                    static_power_w=float(static_w))


def _effect(w: GemmWork, op_name: str, chip: AcceleratorChip, pre: Prepared,
            elem_bytes: int, mask: PackedMask | None = None) -> SparseEffect:
    if isinstance(w.sparsity, TraceSpec):
        path = Path(w.sparsity.path)
        masks = _trace(str(path.resolve()), path.stat().st_mtime if path.exists() else 0.0)
        if op_name not in masks:
            raise input_error(w.sparsity.path, f"the trace has no mask for op '{op_name}'",
                              hint="ops in the trace: " + ", ".join(sorted(masks)[:8]))
        mask = masks[op_name]
    try:
        window = w.conv.fy * w.conv.fx if w.conv is not None else 1
        return gemm_effect(w.sparsity, w.m, w.n, w.k, elem_bytes, chip, pre.gated_read_ratio,
                           w.sparse_dim, mask, window)
    except ValueError as exc:
        raise input_error(str(getattr(w.sparsity, "path", op_name)), f"op '{op_name}': {exc}"
                          ) from None


@functools.lru_cache(maxsize=8)
def _trace(path: str, mtime: float) -> dict[str, PackedMask]:
    from hwsim.sparsity.traces import load_trace

    return load_trace(path)


Split = tuple[list[tuple[int, GemmWork]], list[tuple[int, VectorWork]],
              list[tuple[int, GemmWork]]]


def split_works(model: Model, batch: int, elem_bytes: int, router_unit: bool) -> Split:
    """Lower every op and sort the work by the unit that runs it: (array GEMMs, vector work,
    GEMMs for the router unit), each tagged with its op's index."""
    gemms: list[tuple[int, GemmWork]] = []
    vecs: list[tuple[int, VectorWork]] = []
    routed: list[tuple[int, GemmWork]] = []
    for i, op in enumerate(model.ops):
        for w in lower(op, batch, elem_bytes):
            if isinstance(w, GemmWork):
                (routed if router_unit and w.role != "main" else gemms).append((i, w))
            elif isinstance(w, VectorWork):
                vecs.append((i, w))
            elif isinstance(w, MoveWork):
                # Gathers go through the vector path with no arithmetic: read then write.
                vecs.append((i, VectorWork(0, 1.0, w.bytes, w.bytes)))
    return gemms, vecs, routed


TimingHook = Callable[[list[WorkTiming]], dict[int, dict[str, float]]]


def simulate_accelerator(model: Model, chip: AcceleratorChip, batch: int, *,
                         masks: Mapping[int, PackedMask] | None = None,
                         timing: TimingHook | None = None, works_split: Split | None = None,
                         ) -> tuple[list[OpResult], Total]:
    """Cost every op of ``model`` for ``batch`` inputs on ``chip``.

    Operands are stored at the array's dtype: a model is assumed quantised for the chip it runs
    on, so its ops' bytes and MAC energies follow ``chip.array.dtype``. ``masks`` (by index in
    the model's GEMM work list, see :func:`split_works`) replaces the closed-form sparsity
    statistics with realised masks; ``timing`` replaces the closed-form overlap of each op's
    cycles (the cycle engine's event simulation).
    """
    pre = prepare(chip)
    d, sram_e, e_mac, e_off, e_vec = pre.design, pre.sram_e, pre.e_mac, pre.e_off, pre.e_vec
    elem_bytes = DTYPE_BYTES[chip.array.dtype]
    pes = chip.array.rows * chip.array.cols

    gemms, vecs, routed = works_split or split_works(model, batch, elem_bytes,
                                                     chip.router_unit is not None)
    works: list[WorkTiming] = []
    per_op: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    eff_num: dict[int, float] = defaultdict(float)
    mappings: dict[int, list[dict[str, object]]] = defaultdict(list)
    sparse_info: dict[int, dict[str, float]] = {}
    if gemms:
        idx = np.array([i for i, _ in gemms])
        ws = [w for _, w in gemms]
        batch_costs = cost_gemms(model, gemms, chip, pre, masks)
        effects, g, mp = batch_costs.effects, batch_costs.costs, batch_costs.mapping
        macs = np.array([w.m * w.n * w.k * w.count for w in ws], dtype=np.float64)
        assert g.mapping_efficiency is not None
        effs = np.broadcast_to(g.mapping_efficiency, idx.shape)
        _accumulate(per_op, idx, g, "array")
        if timing is not None:
            works += gemm_timings(gemms, g, effects, chip, masks)
        for j, i in enumerate(idx):
            eff_num[int(i)] += float(effs[j]) * macs[j]
            mappings[int(i)].append({"order": mp.order[j], "tile": mp.tile[j],
                                     "fits": bool(mp.fits[j])})
            if effects[j] is not DENSE:
                sparse_info[int(i)] = {"density": effects[j].density,
                                       "union_density": effects[j].union_density}
    if vecs:
        idx = np.array([i for i, _ in vecs])
        ws_v = [w for _, w in vecs]
        v = vector_costs(np.array([w.elements for w in ws_v]),
                         np.array([w.ops_per_element for w in ws_v]),
                         np.array([w.bytes_in for w in ws_v]),
                         np.array([w.bytes_out for w in ws_v]), d, e_vec, e_off, sram_e)
        _accumulate(per_op, idx, v, "vector_unit")
        if timing is not None:
            works += stream_timings(vecs, v, "vector_unit", chip)
    if routed:
        # Predictor/router/gate GEMMs on the dedicated unit: MACs at its rate, operands
        # streamed from off-chip (no fill/drain: a small MAC tree, not a systolic array).
        assert chip.router_unit is not None
        idx = np.array([i for i, _ in routed])
        ws_r = [w for _, w in routed]
        r = vector_costs(np.array([w.m * w.n * w.k * w.count for w in ws_r], dtype=float), 1.0,
                         np.array([(w.m * w.k + w.k * w.n) * w.count * w.dtype_bytes
                                   for w in ws_r], dtype=float),
                         np.array([w.m * w.n * w.count * w.dtype_bytes for w in ws_r],
                                  dtype=float), d, e_mac, e_off, sram_e, component="router",
                         lanes=chip.router_unit.macs_per_cycle)
        _accumulate(per_op, idx, r, "router_unit")
        if timing is not None:
            works += stream_timings(routed, r, "router_unit", chip)
    if timing is not None:
        for i, timed in timing(sorted(works, key=lambda w: w.op_index)).items():
            per_op[i].update(timed)

    area, p_static = pre.area_mm2, pre.static_power_w
    rows: list[OpResult] = []
    for i, op in enumerate(model.ops):
        acc = per_op[i]
        cycles = acc["cycles"]
        latency_s = cycles / chip.clock_hz
        breakdown = {c: acc.get("e." + c, 0.0) for c in ENERGY_COMPONENTS}
        breakdown["static"] = p_static * latency_s
        macs_op = int(op.macs * batch)
        bottleneck = max(((u, acc["busy." + u]) for u in UNITS), key=lambda t: t[1])[0]
        rows.append(OpResult(
            name=op.name, kind=op.kind, macs=macs_op,  # type: ignore[attr-defined]
            compute_cycles=acc["compute_cycles"], stall_cycles=cycles - acc["compute_cycles"],
            cycles=cycles, latency_s=latency_s, energy_j=sum(breakdown.values()),
            energy_breakdown_j=breakdown,
            utilization=macs_op / (cycles * pes) if cycles else 0.0,
            mapping_efficiency=(eff_num[i] / macs_op) if macs_op else None,  # type: ignore[arg-type]
            bytes={lvl: acc.get("b." + lvl, 0.0) for lvl in BYTE_LEVELS},
            bottleneck=bottleneck,
            mapping=({"dataflow": chip.dataflow, "objective": chip.mapping_objective,
                      "offchip_tiles": mappings[i]} if macs_op else {})
            | ({"sparsity": sparse_info[i]} if i in sparse_info else {})))
    total = _total(rows, chip, area, p_static, pes)
    return rows, total


@dataclass(frozen=True)
class GemmBatch:
    """The array GEMMs of a model costed on one chip (one entry per GEMM work item)."""

    effects: list[SparseEffect]
    costs: Costs
    mapping: OffchipMapping


def cost_gemms(model: Model, gemms: list[tuple[int, GemmWork]], chip: AcceleratorChip,
               pre: Prepared, masks: Mapping[int, PackedMask] | None = None) -> GemmBatch:
    """Sparsity effects, array cycles, off-chip mapping and costs of the array GEMMs
    (``split_works``'s first list) of ``model`` on ``chip``."""
    d, elem_bytes = pre.design, DTYPE_BYTES[chip.array.dtype]
    ws = [w for _, w in gemms]
    n_arr, k_arr = np.array([w.n for w in ws]), np.array([w.k for w in ws])
    effects = [_effect(w, model.ops[i].name, chip, pre, elem_bytes,
                       None if masks is None else masks.get(j))
               for j, (i, w) in enumerate(gemms)]
    sparse = (SparseArrays.from_effects(effects, n_arr, k_arr)
              if any(e is not DENSE for e in effects) else None)
    m_arr = np.array([w.m for w in ws])
    cnt = np.array([w.count for w in ws], dtype=np.float64)
    macs = np.array([w.m * w.n * w.k * w.count for w in ws], dtype=np.float64)
    sram, eff_rs = None, None
    if chip.dataflow == "rs":
        rs = row_stationary(ws, chip, pre)
        comp = rs.compute_cycles[:, 0]
        sram = SramTraffic(rs.read_a[:, 0], rs.read_b[:, 0], rs.read_c[:, 0],
                           rs.write_c[:, 0], rs.passes[:, 0] / np.maximum(np.round(cnt), 1),
                           rs.first_bytes[:, 0])
        eff_rs = rs.utilization[:, 0]
    else:
        comp = gemm_compute_cycles(m_arr, n_arr, k_arr, cnt, d, chip.dataflow, sparse,
                                   chip.array.systolic)
    mp = offchip_mapping(ws, chip, pre, comp, macs * pre.e_mac)
    g = gemm_costs(m_arr, n_arr, k_arr, cnt, elem_bytes, d, chip.dataflow, pre.e_mac, pre.e_off,
                   pre.sram_e, OffchipTraffic(mp.offchip_a, mp.offchip_b, mp.offchip_c), comp,
                   sparse, pre.e_gated_mac, sram=sram, efficiency=eff_rs, rf_j=pre.rf_j,
                   psum_bytes=chip.array.accumulator_bytes)
    return GemmBatch(effects, g, mp)


def row_stationary(works: list[GemmWork], chip: AcceleratorChip, pre: Prepared) -> RsMapping:
    """The row-stationary mapping of every GEMM on ``chip`` (one design)."""
    rf = chip.pe_register_files
    assert rf is not None  # the schema requires scratchpads for dataflow rs
    reads = tuple(float(pre.sram_e[b][0]) for b in ("ifmap_sram", "filter_sram", "ofmap_sram"))
    return rs_mapping([w.nest for w in works], pre.design.rows, pre.design.cols,
                      DTYPE_BYTES[chip.array.dtype], rf.ifmap_bytes, rf.filter_bytes,
                      rf.psum_bytes, reads, chip.array.accumulator_bytes)  # type: ignore[arg-type]


def offchip_mapping(works: list[GemmWork], chip: AcceleratorChip, pre: Prepared,
                    compute_cycles: np.ndarray, fixed_energy_j: np.ndarray) -> OffchipMapping:
    """The mapper's tiling and loop order of every GEMM on ``chip`` (one design)."""
    d = pre.design
    byte_j = tuple(float(x) for x in offchip_byte_energies(pre.sram_e, pre.e_off))
    return map_works([w.nest for w in works], DTYPE_BYTES[chip.array.dtype],
                     float(d.ifmap_bytes) / 2, float(d.filter_bytes) / 2,
                     float(d.ofmap_bytes) / 2, chip.mapping_objective, compute_cycles,
                     float(d.bw_bytes_per_cycle), byte_j, fixed_energy_j,  # type: ignore[arg-type]
                     chip.buffers.ifmap_ofmap_shared, chip.array.accumulator_bytes)


def _accumulate(per_op: dict[int, dict[str, float]], idx: np.ndarray, c: Costs,
                unit: str) -> None:
    """Add each work item's costs to its op's running sums (one bincount per quantity)."""
    n = idx.shape[0]
    size = int(idx.max()) + 1
    columns: dict[str, np.ndarray] = {
        "compute_cycles": c.compute_cycles, "cycles": c.cycles,
        "busy." + unit: c.compute_cycles, "busy.offchip": c.memory_cycles,
        "b.offchip": c.offchip_bytes,
        **{"e." + k: v for k, v in c.energy_j.items()},
        **{"b." + k: v for k, v in c.sram_bytes.items()},
    }
    ops = np.unique(idx)
    for key, values in columns.items():
        arr = np.asarray(values, dtype=np.float64)
        if arr.shape != (n,):
            arr = np.broadcast_to(arr, (n,))
        sums = np.bincount(idx, weights=arr, minlength=size)
        for i in ops:
            per_op[int(i)][key] += float(sums[i])


def _total(rows: list[OpResult], chip: AcceleratorChip, area: dict[str, float],
           p_static: float, pes: int) -> Total:
    return build_total(rows, energy_components=ENERGY_COMPONENTS, byte_levels=BYTE_LEVELS,
                       clock_hz=chip.clock_hz, peak_macs_per_cycle=pes, area_mm2=area,
                       static_power_w=p_static)
