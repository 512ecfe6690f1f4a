"""One vocabulary for the whole package: data types and their sizes, memory kinds, unit factors.

Every schema, cost model and importer takes these names from here, so a new dtype or memory
technology is added in one place.
"""

from __future__ import annotations

from typing import Literal, get_args

# Operand types of ops and compute units. ``fp8`` is one key for e4m3 and e5m2 (the same tensor
# rate and byte width on Hopper and Ada). ``int4`` is weight-only (W4A16: GPTQ/AWQ weights run
# by Marlin-style kernels): its weights are 4-bit, its activations, KV cache and math 16-bit.
Dtype = Literal["int4", "int8", "fp8", "int16", "fp16", "bf16", "fp32"]
# Types a GPU's tensor cores compute in (int4 weights meet 16-bit math: no rate of their own).
TensorDtype = Literal["int8", "fp8", "int16", "fp16", "bf16", "fp32"]
# Types the MAC units of accelerator arrays and MCU cores compute in.
UnitDtype = Literal["int8", "int16", "fp16", "bf16", "fp32"]
# Tech tables also price 32-bit integer accumulators.
TechDtype = Literal["int8", "int16", "int32", "fp16", "bf16", "fp32"]
DTYPES: tuple[str, ...] = get_args(Dtype)
TECH_DTYPES: tuple[str, ...] = get_args(TechDtype)
BITS_PER_BYTE = 8
# Bytes per stored element of activations (and of weights, unless WEIGHT_BITS says otherwise).
DTYPE_BYTES: dict[str, int] = {"int4": 2, "int8": 1, "fp8": 1, "int16": 2, "fp16": 2,
                               "bf16": 2, "fp32": 4}
# Bits per stored weight where they differ from the activations' width (weight-only dtypes).
WEIGHT_BITS: dict[str, int] = {"int4": 4}


def weight_bits(dtype: str) -> int:
    """Bits per stored weight of ``dtype``."""
    return WEIGHT_BITS.get(dtype, DTYPE_BYTES[dtype] * BITS_PER_BYTE)


# Off-chip memory technologies (energy per bit comes from the tech table of that name).
OffchipKind = Literal["ddr3", "ddr4", "lpddr4", "lpddr5", "hbm2", "hbm2e", "hbm3", "hbm3e",
                      "gddr6", "gddr6x", "flash"]
OFFCHIP_KINDS: tuple[str, ...] = get_args(OffchipKind)
# The memory on an Ethos-U's AXI1 port (weights in SRAM are npu.memory_mode: Sram_Only).
WeightMemory = Literal["flash", "dram"]

PJ = 1e-12  # joules per picojoule
UM2_PER_MM2 = 1e6
