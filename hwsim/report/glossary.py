"""Every field of the ``--json`` document, with its unit and meaning (``hwsim glossary``)."""

from __future__ import annotations

GLOSSARY: dict[str, str] = {
    "hwsim_version": "version of hwsim that produced the document",
    "inputs.chip": "chip name, kind and content hash (sha256 of its validated config)",
    "inputs.model": "model name, where it was loaded from, the source of its shapes, content hash",
    "inputs.batch": "inputs processed together; weights are shared across them",
    "inputs.fidelity": "'analytic' (closed form) or 'cycle' (tile-level event simulation)",
    "clock_hz": "chip clock, Hz; latency_s = cycles / clock_hz",
    "total.cycles": "clock cycles of the whole model = compute_cycles + stall_cycles",
    "total.compute_cycles": "cycles the compute units need with data always ready (for a GEMM: "
                            "SCALE-Sim v3's compute cycles incl. fill and drain of the array)",
    "total.stall_cycles": "cycles waiting for off-chip data that double buffering cannot hide "
                          "(the first tile's load, and any excess of memory time over compute)",
    "total.latency_s": "seconds for one inference of the batch",
    "total.energy_j": "joules for one inference of the batch = sum of energy_breakdown_j",
    "total.energy_breakdown_j": "joules by component: mac (array MACs, gated ones at the "
                                "gated energy), vector (vector-unit ops), router (router-unit "
                                "MACs), ifmap_sram / filter_sram / ofmap_sram (buffer reads and "
                                "writes), offchip (DRAM/HBM/flash bytes), static (static power x "
                                "latency). GPUs: tensor, cuda, smem, l2, offchip, static. MCUs: "
                                "core, npu_mac, npu_sram, weight_memory (each byte on the NPU's "
                                "AXI1 flash/DRAM: weights; feature maps in Dedicated_Sram), "
                                "sleep",
    "total.macs": "multiply-accumulates of the batch (derived from shapes)",
    "total.utilization": "macs / (cycles x PEs): the fraction of peak MAC throughput achieved, "
                         "stalls included",
    "total.area_mm2": "chip area from the tech table: PE array, vector unit, SRAM buffers",
    "total.area_breakdown_mm2": "area by component, mm^2",
    "total.bytes": "bytes moved at each memory level over the whole model (accelerators: "
                   "ifmap_sram, filter_sram, ofmap_sram, offchip; GPUs: smem, l2, offchip; "
                   "MCUs: flash, sram)",
    "total.static_power_w": "static power used for the static energy, W (measured value from "
                            "the preset when given, else leakage from the tech table)",
    "ops[].name": "op name from the model",
    "ops[].kind": "op kind: matmul, conv2d, attention, vector, embedding, router, moe, recurrent",
    "ops[].bytes": "bytes at each memory level: ifmap_sram, filter_sram, ofmap_sram (reads + "
                   "writes), offchip (reads + writes)",
    "ops[].bottleneck": "the unit busiest during the op: array (PE array), vector_unit, "
                        "router_unit, or offchip (memory bandwidth bound)",
    "ops[].mapping_efficiency": "SCALE-Sim's mapping efficiency: the average fraction of PEs "
                                "holding useful operands over all folds (null for ops with no "
                                "MACs); MAC-weighted over an op's GEMMs",
    "ops[].mapping": "dataflow and the loop order the mapper chose (fewest off-chip bytes); "
                     "for sparse ops, sparsity {density, union_density}: mean active fraction "
                     "per token and the fraction active in at least one token of the GEMM",
    "inputs.seed": "cycle fidelity: the seed of the realised masks",
    "vs_dense": "with --compare-dense: sparse / dense-twin ratios latency_ratio, energy_ratio, "
                "dram_bytes_ratio (below 1 is a saving); dense_total holds the twin's totals",
    "distribution": "with --fidelity cycle --samples N: latency_s and energy_j percentiles "
                    "(p50, p90, p99, max, mean) over N inputs, and the seed",
    "provenance": "hwsim version, tech table and the sources of the tech and chip numbers used",
    "accuracy": "the model's accuracy under its sparsity: value, metric, provenance (measured | "
                "literature | user | unknown), source (citation or file), ci, extrapolated, "
                "density it was read at, notes (docs/accuracy.md)",
    "parallel": "with devices/parallel (--tp/--pp/--ep/--devices): spec {tp, pp, ep, "
                "microbatches, devices}, system and interconnect (alpha_s, bus_bw_bytes_per_s, "
                "energy_j_per_byte), device_batch (inputs per ep group), microbatches, "
                "schedule (gpipe-forward), bubble_fraction, memory_fit per device "
                "(weights_bytes, kv_cache_bytes, activation_bytes, capacity_bytes, fits), "
                "stages (compute, collective and stage latency per micro-batch), collectives "
                "(op, kind, size_bytes, group, count, algorithm, time_s, energy_j, total_*), "
                "collectives_by_kind; total is then the whole system's (energy adds "
                "idle_wait and interconnect)",
}


def glossary_lines() -> list[tuple[str, str]]:
    return list(GLOSSARY.items())
