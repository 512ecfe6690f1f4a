"""One vocabulary for the whole package: data types and their sizes, memory kinds, unit factors.

Every schema, cost model and importer takes these names from here, so a new dtype or memory
technology is added in one place.
"""

from __future__ import annotations

from typing import Literal, get_args

# Operand types of ops and compute units.
Dtype = Literal["int8", "int16", "fp16", "bf16", "fp32"]
# Tech tables also price 32-bit integer accumulators.
TechDtype = Literal["int8", "int16", "int32", "fp16", "bf16", "fp32"]
DTYPES: tuple[str, ...] = get_args(Dtype)
TECH_DTYPES: tuple[str, ...] = get_args(TechDtype)
DTYPE_BYTES: dict[str, int] = {"int8": 1, "int16": 2, "fp16": 2, "bf16": 2, "fp32": 4}

# Off-chip memory technologies (energy per bit comes from the tech table of that name).
OffchipKind = Literal["ddr3", "ddr4", "lpddr4", "lpddr5", "hbm2", "hbm2e", "hbm3", "gddr6",
                      "gddr6x", "flash"]
OFFCHIP_KINDS: tuple[str, ...] = get_args(OffchipKind)
# The memory on an Ethos-U's AXI1 port (weights in SRAM are npu.memory_mode: Sram_Only).
WeightMemory = Literal["flash", "dram"]

PJ = 1e-12  # joules per picojoule
UM2_PER_MM2 = 1e6
BITS_PER_BYTE = 8
