"""Vectorised cost of GEMM and vector work on accelerator designs (the analytic fidelity's core).

Every argument broadcasts, so one call costs many GEMMs on one chip (``simulate``) or one layer
on thousands of chips (sweeps). No I/O, no Python loops over elements.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.config.chip import AcceleratorChip
from hwsim.engine.accelerator.systolic import broadcast_cycles, fold_counts, mapping_efficiency
from hwsim.engine.accelerator.systolic import compute_cycles as systolic_compute_cycles
from hwsim.engine.accelerator.traffic import SramTraffic, overlap_cycles, sram_traffic
from hwsim.hardware.tech import Tech
from hwsim.units import PJ
from hwsim.workload.ops import ACCUMULATOR_BYTES

ArrayLike = np.ndarray | int | float
STREAM_CHUNK_BYTES = 32 * 1024  # DMA chunk of streamed (vector/router) work, bytes


@dataclass(frozen=True)
class DesignArrays:
    """Accelerator parameters as broadcastable arrays (one element per design point)."""

    rows: np.ndarray
    cols: np.ndarray
    ifmap_bytes: np.ndarray
    filter_bytes: np.ndarray
    ofmap_bytes: np.ndarray
    bw_bytes_per_cycle: np.ndarray
    vector_lanes: np.ndarray


@dataclass(frozen=True)
class Costs:
    """Per-work costs: cycles and energy per component (J), plus traffic (bytes)."""

    compute_cycles: np.ndarray
    cycles: np.ndarray
    memory_cycles: np.ndarray
    energy_j: dict[str, np.ndarray]
    sram_bytes: dict[str, np.ndarray]
    offchip_bytes: np.ndarray
    mapping_efficiency: np.ndarray | None = None
    offchip_by_operand: dict[str, np.ndarray] | None = None
    prologue_bytes: np.ndarray | None = None  # first tile's load, which nothing can hide
    tiles: np.ndarray | None = None  # pipeline tiles (folds x count for GEMMs)


@dataclass(frozen=True)
class OffchipTraffic:
    """What the mapper chose to move off chip for each work item (broadcastable arrays, bytes
    for all of the item's GEMMs; see :mod:`hwsim.engine.accelerator.mapper`)."""

    a: np.ndarray  # ifmap bytes fetched
    b: np.ndarray  # weight bytes fetched
    c: np.ndarray  # outputs written, partial sums spilled and read back


@dataclass(frozen=True)
class SparseArrays:
    """Per-GEMM sparsity effects as arrays (see :mod:`hwsim.engine.accelerator.sparse_effects`)."""

    k_compute: np.ndarray
    n_compute: np.ndarray
    mac_full: np.ndarray
    mac_gated: np.ndarray
    a_offchip: np.ndarray
    a_sram: np.ndarray
    a_sram_energy: np.ndarray
    b_offchip: np.ndarray
    b_sram: np.ndarray
    decode_cycles: np.ndarray

    @classmethod
    def from_effects(cls, effects: list, n: np.ndarray, k: np.ndarray) -> SparseArrays:
        def col(name: str) -> np.ndarray:
            return np.array([getattr(e, name) for e in effects], dtype=np.float64)

        kc = np.array([e.k_compute if e.k_compute is not None else kk
                       for e, kk in zip(effects, np.asarray(k).ravel(), strict=True)],
                      dtype=np.int64)
        nc = np.array([e.n_compute if e.n_compute is not None else nn
                       for e, nn in zip(effects, np.asarray(n).ravel(), strict=True)],
                      dtype=np.int64)
        return cls(kc, nc, col("mac_full"), col("mac_gated"), col("a_offchip"), col("a_sram"),
                   col("a_sram_energy"), col("b_offchip"), col("b_sram"), col("decode_cycles"))


def sram_energies(tech: Tech, d: DesignArrays, chip: AcceleratorChip | None = None
                  ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(read, write) energy per byte of each buffer, J/byte: the chip's own figure where it
    gives one (``read_energy_pj_per_byte``...), else the tech table's for the buffer's size."""
    out = {}
    for name, size in (("ifmap_sram", d.ifmap_bytes), ("filter_sram", d.filter_bytes),
                       ("ofmap_sram", d.ofmap_bytes)):
        given = None if chip is None else getattr(chip.buffers, name.removesuffix("_sram"))
        rd = np.asarray(tech.sram_read_energy_j_per_byte(size))
        wr = np.asarray(tech.sram_write_energy_j_per_byte(size))
        if given is not None and given.read_energy_pj_per_byte is not None:
            rd = np.full_like(rd, given.read_energy_pj_per_byte * PJ)
        if given is not None and given.write_energy_pj_per_byte is not None:
            wr = np.full_like(wr, given.write_energy_pj_per_byte * PJ)
        out[name] = (rd, wr)
    return out


def offchip_byte_energies(sram_e: dict[str, tuple[np.ndarray, np.ndarray]],
                          offchip_j_per_byte: float) -> tuple[np.ndarray, ...]:
    """J per off-chip byte of each operand as the mapper weighs it: the off-chip access plus
    the ifmap and weight buffers' fill (write) and the output buffer's read-out."""
    return (offchip_j_per_byte + sram_e["ifmap_sram"][1],
            offchip_j_per_byte + sram_e["filter_sram"][1],
            offchip_j_per_byte + sram_e["ofmap_sram"][0])


def rf_energies(tech: Tech, chip: AcceleratorChip, elem_bytes: int) -> tuple[float, float]:
    """PE scratchpad energy of one MAC (read an ifmap and a weight, read the partial sum and
    write it back) and per byte filled from the global buffers (J, J/byte); (0, 0) for a
    systolic array without scratchpads."""
    rf = chip.pe_register_files
    if rf is None:
        return 0.0, 0.0

    def pj(value: float | None, default: float) -> float:
        return default if value is None else value * PJ

    rd = pj(rf.read_energy_pj_per_byte, tech.rf_energy_j_per_byte())
    wr = pj(rf.write_energy_pj_per_byte, tech.rf_energy_j_per_byte())
    acc = float(chip.array.accumulator_bytes)
    per_mac = (2 * elem_bytes * rd + acc * pj(rf.psum_read_energy_pj_per_byte, rd)
               + acc * pj(rf.psum_write_energy_pj_per_byte, wr))
    return per_mac, wr


def gemm_compute_cycles(m: ArrayLike, n: ArrayLike, k: ArrayLike, count: ArrayLike,
                        d: DesignArrays, dataflow: str,
                        sparse: SparseArrays | None = None, systolic: bool = True) -> np.ndarray:
    """Array cycles of ``count`` GEMMs (A[M,K] @ B[K,N]) per design point: SCALE-Sim's fold
    timing on a systolic array, folds x temporal extent on a broadcast one; ``sparse`` shrinks
    the compute dimension and adds index decode per fold."""
    k_comp, n_comp = (k, n) if sparse is None else (sparse.k_compute, sparse.n_compute)
    timing = systolic_compute_cycles if systolic else broadcast_cycles
    comp = timing(m, n_comp, k_comp, d.rows, d.cols, dataflow).astype(np.float64)
    if sparse is not None:  # index decode of the slowest lane, once per fold
        rf, cf = fold_counts(m, n_comp, k_comp, d.rows, d.cols, dataflow)
        comp = comp + np.ceil(sparse.decode_cycles * rf * cf)
    return comp * np.asarray(count, dtype=np.float64)


def gemm_costs(m: ArrayLike, n: ArrayLike, k: ArrayLike, count: ArrayLike,
               dtype_bytes: ArrayLike, d: DesignArrays, dataflow: str,
               mac_energy_j: float, offchip_energy_j_per_byte: float,
               sram_e: dict[str, tuple[np.ndarray, np.ndarray]], offchip: OffchipTraffic,
               compute_cycles: np.ndarray, sparse: SparseArrays | None = None,
               gated_mac_energy_j: float = 0.0, sram: SramTraffic | None = None,
               efficiency: np.ndarray | None = None, rf_j: tuple[float, float] = (0.0, 0.0),
               psum_bytes: int = ACCUMULATOR_BYTES) -> Costs:
    """Cycles and dynamic energy of ``count`` GEMMs (A[M,K] @ B[K,N]) per design point, given
    their array cycles (:func:`gemm_compute_cycles`) and the off-chip bytes the mapper chose.

    ``sparse`` (one entry per GEMM) scales traffic and energy by what the chip's sparse
    features exploit; ``None`` is dense work. ``sram`` and ``efficiency`` come from the
    dataflow's own model when it is not a systolic one (row-stationary); ``rf_j`` is
    the PE scratchpads' energy per MAC and per byte filled into them."""
    cnt = np.asarray(count, dtype=np.float64)
    comp = compute_cycles
    tr = sram if sram is not None else sram_traffic(
        m, n, k, count, dtype_bytes, d.rows, d.cols, dataflow, psum_bytes,
        k_reduce=None if sparse is None else sparse.k_compute)
    one = np.float64(1.0)
    s_a_off, s_a_sram, s_a_e, s_b_off, s_b_sram = (
        (one,) * 5 if sparse is None else (sparse.a_offchip, sparse.a_sram, sparse.a_sram_energy,
                                           sparse.b_offchip, sparse.b_sram))
    off_a, off_b, off_c = offchip.a * s_a_off, offchip.b * s_b_off, offchip.c
    rd_a, rd_b = tr.read_a * s_a_sram, tr.read_b * s_b_sram
    off = off_a + off_b + off_c
    tiles = tr.folds * np.maximum(np.round(cnt), 1.0)
    # Compute starts once the first fold's operand blocks are in: the load nothing can hide
    # (the mapper's tile is the unit of reuse, not of the array's start).
    prologue = np.minimum(tr.first_fold_bytes, off)
    cycles = overlap_cycles(comp, off, prologue, d.bw_bytes_per_cycle, off_c / tiles, tiles)
    macs = np.asarray(m, np.float64) * np.asarray(n, np.float64) * np.asarray(k, np.float64) * cnt
    mac_e = macs * mac_energy_j if sparse is None else macs * (
        sparse.mac_full * mac_energy_j + sparse.mac_gated * gated_mac_energy_j)
    (ar, aw), (br, bw_), (cr, cw) = (sram_e["ifmap_sram"], sram_e["filter_sram"],
                                     sram_e["ofmap_sram"])
    energy = {
        "mac": mac_e,
        # SRAM: reads into the array + writes of fills from off-chip (ifmap/filter); partial
        # sums written and read back, and outputs read out to off-chip (ofmap).
        "ifmap_sram": rd_a * ar * s_a_e + off_a * aw,
        "filter_sram": rd_b * br + off_b * bw_,
        "ofmap_sram": tr.write_c * cw + tr.read_c * cr + off_c * cr,
        "offchip": off * offchip_energy_j_per_byte,
    }
    if rf_j[0] or rf_j[1]:
        energy["pe_rf"] = macs * rf_j[0] + (rd_a + rd_b) * rf_j[1]
    sram_bytes = {"ifmap_sram": rd_a + off_a,
                  "filter_sram": rd_b + off_b,
                  "ofmap_sram": tr.write_c + tr.read_c + off_c}
    eff = (efficiency if efficiency is not None
           else mapping_efficiency(m, n, k, d.rows, d.cols, dataflow))
    return Costs(comp, cycles, off / np.asarray(d.bw_bytes_per_cycle, np.float64), energy,
                 sram_bytes,
                 off, np.asarray(eff, dtype=np.float64),
                 offchip_by_operand={"a": off_a, "b": off_b, "c": off_c},
                 prologue_bytes=prologue, tiles=tiles)


def vector_costs(elements: ArrayLike, ops_per_element: ArrayLike, bytes_in: ArrayLike,
                 bytes_out: ArrayLike, d: DesignArrays, op_energy_j: float,
                 offchip_energy_j_per_byte: float,
                 sram_e: dict[str, tuple[np.ndarray, np.ndarray]],
                 component: str = "vector", lanes: ArrayLike | None = None) -> Costs:
    """Vector-unit work streamed from and to off-chip memory through the ifmap/ofmap SRAMs."""
    work = np.asarray(elements, np.float64) * np.asarray(ops_per_element, np.float64)
    comp = np.ceil(work / np.asarray(d.vector_lanes if lanes is None else lanes, np.float64))
    b_in = np.asarray(bytes_in, np.float64)
    b_out = np.asarray(bytes_out, np.float64)
    off = b_in + b_out
    # Streamed in DMA chunks: the first chunk's load and the last chunk's store are exposed.
    chunk = np.minimum(STREAM_CHUNK_BYTES, np.asarray(d.ifmap_bytes, np.float64) / 2)
    tiles = np.maximum(1.0, np.ceil(np.maximum(b_in, 1.0) / chunk))
    cycles = overlap_cycles(comp, off, np.minimum(b_in, chunk), d.bw_bytes_per_cycle,
                            b_out / tiles, tiles)
    (ar, aw), (cr, cw) = sram_e["ifmap_sram"], sram_e["ofmap_sram"]
    energy = {
        component: work * op_energy_j,
        "ifmap_sram": b_in * (ar + aw),
        "ofmap_sram": b_out * (cr + cw),
        "offchip": off * offchip_energy_j_per_byte,
    }
    sram = {"ifmap_sram": 2 * b_in, "ofmap_sram": 2 * b_out}
    return Costs(comp, cycles, off / np.asarray(d.bw_bytes_per_cycle, np.float64), energy, sram,
                 off)
