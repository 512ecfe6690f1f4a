"""Energy per FLOP of a GPU's two math paths relative to each other, from per-operation energies.

A CUDA-core (SIMT) FP32 FFMA and a tensor-core MMA differ less in their arithmetic than in how
their operands reach it:

- SIMT: each FFMA (one multiply-add, 2 FLOP) reads three 32-bit registers and writes one, all
  through the register file (RF) and operand collectors.
- Tensor core: one MMA instruction of shape m x n x k reads its A (m x k) and B (k x n)
  fragments and its fp32 C (m x n) from the RF and writes D (m x n) once, for m*n*k
  multiply-adds, so the operand traffic is amortised over the whole tile.

Per-operation energies come from the chip's technology table (``configs/tech``, Horowitz ISSCC
2014 at 45 nm scaled to the node; every entry cited there): fp32 multiply 3.7 pJ + fp32 add
0.9 pJ per FFMA at 45 nm; a bf16/fp16 multiply plus an fp32 add per tensor-core MAC; an RF access
priced as an SRAM of one SM sub-partition's register file (the tech table's SRAM read energy by
size, writes at its write/read ratio). Both paths scale with the same node factor, so the ratio
is what matters: the tensor path keeps its TDP-calibrated energy per FLOP
(:mod:`hwsim.engine.gpu.energy`), and the SIMT path costs that times this ratio.

[assumption] no operand-reuse caches and no register-bank conflicts on either path (each operand
is one RF access), so the ratio is an estimate from the datapath alone; instruction fetch,
scheduling and clocking are taken to scale alike on both paths (they are in the calibrated
tensor energy).
"""

from __future__ import annotations

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.rates import tensor_16bit_dtype
from hwsim.hardware.tech import load_tech

# Volta and later SMs are split into four processing blocks, each with its own 64 KB register
# file (NVIDIA Volta, Turing, Ampere, Ada and Hopper whitepapers: 256 KB per SM, 4 partitions).
SUB_PARTITIONS_PER_SM = 4
# [assumption] the register file size when a preset does not state one: 64K 32-bit registers
# per SM, the size of every NVIDIA SM from Volta to Hopper (CUDA C++ Programming Guide, table of
# technical specifications per compute capability).
DEFAULT_REGISTER_FILE_BYTES = 262144
FP32_BYTES = 4
HALF_BYTES = 2  # bf16 / fp16 MMA operands
SIMT_READS_PER_FMA = 3  # FFMA d, a, b, c: a, b, c read; d written


def rf_read_j_per_byte(chip: GpuChip) -> float:
    """Energy of reading one byte of the RF: an SRAM of one sub-partition's RF."""
    rf_bytes = chip.register_file_bytes_per_sm or DEFAULT_REGISTER_FILE_BYTES
    tech = load_tech(chip.tech)
    return float(tech.sram_read_energy_j_per_byte(rf_bytes / SUB_PARTITIONS_PER_SM))


def simt_fma_j(chip: GpuChip) -> float:
    """Energy of one SIMT FFMA (2 FLOP): fp32 multiply + add and four RF accesses."""
    tech = load_tech(chip.tech)
    read = rf_read_j_per_byte(chip)
    write = read * tech.sram_write_to_read
    return (tech.mult_energy_j("fp32") + tech.add_energy_j("fp32")
            + FP32_BYTES * (SIMT_READS_PER_FMA * read + write))


def tensor_mac_j(chip: GpuChip, dtype: str) -> float:
    """Energy of one tensor-core multiply-add (2 FLOP) of a ``dtype`` x ``dtype`` -> fp32 MMA
    of the chip's instruction shape, its RF operand traffic shared by the tile's MACs."""
    m, n, k = chip.mma_shape_mnk
    tech = load_tech(chip.tech)
    read = rf_read_j_per_byte(chip)
    write = read * tech.sram_write_to_read
    read_bytes = (m * k + k * n) * HALF_BYTES + m * n * FP32_BYTES
    write_bytes = m * n * FP32_BYTES
    macs = m * n * k
    return (tech.mult_energy_j(dtype) + tech.add_energy_j("fp32")
            + (read_bytes * read + write_bytes * write) / macs)


def simt_to_tensor_ratio(chip: GpuChip) -> float:
    """Energy per SIMT FP32 FLOP over energy per tensor-core FLOP of the calibration dtype
    (bf16 where the chip has bf16 tensor cores, else fp16)."""
    return simt_fma_j(chip) / tensor_mac_j(chip, tensor_16bit_dtype(chip))
