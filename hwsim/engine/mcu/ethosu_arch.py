"""What an Ethos-U55/U65 MAC configuration fixes for the structural cycle model, and the memory
system figures of Vela's system configs: numbers only, each from Vela 5.2.0 (``ethos-u-vela``,
Apache-2.0): ``architecture_features.py`` (accelerator configs, output-stage rates, SHRAM) and
``config_files/Arm/vela.ini`` (latencies and burst lengths). Read, not imported: hwsim needs no
Vela at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.errors import input_error


@dataclass(frozen=True)
class EthosUArch:
    """One MAC configuration. Blocks are (height, width, depth)."""

    macs: int  # MACs per cycle per core
    cores: int
    ofm_ublock: tuple[int, int, int]  # the output micro-block one 4-cycle MAC step fills
    ifm_ublock: tuple[int, int, int]
    shram_banks: int  # 1 KiB banks of shared buffer RAM (IFM + accumulators)
    ifm_granule: int  # bank granule of an int8 IFM buffer
    ifm_ew_granule: int  # ... of an int8 elementwise IFM buffer
    acc_granule: int  # ... of a 32-bit accumulator buffer
    # Output-stage cycles per output element (Vela's output_cycles_per_elem), by what the
    # output stage does: plain conv/pool requantise, max pool, add/sub, mul.
    out_conv: float
    out_maxpool: float
    out_add: float
    out_mul: float


SHRAM_BANK_BYTES = 1024
SHRAM_RESERVED_OUTPUT_BANKS = 2
OFM_BLOCK_MAX = (32, 64, 128)  # height, width, depth
OFM_SPLIT_DEPTH = 16  # block depths below the OFM's are multiples of this
SUB_KERNEL_MAX = 8  # kernels larger than 8x8 run as several sub-kernels
IFM_BLOCK_DEPTH_MAX = 32  # int8 input channels one kernel step consumes (16 part-kernel)

ARCH: dict[tuple[str, int], EthosUArch] = {
    ("ethos-u55", 32): EthosUArch(32, 1, (1, 1, 4), (1, 1, 8), 16, 2, 2, 4, 2.0, 1.0, 6.0, 3.0),
    ("ethos-u55", 64): EthosUArch(64, 1, (1, 1, 8), (1, 1, 8), 16, 2, 2, 4, 1.0, 0.5, 3.0, 1.5),
    ("ethos-u55", 128): EthosUArch(128, 1, (1, 2, 8), (1, 2, 8), 24, 4, 4, 8, 0.5, 0.25, 1.5,
                                   0.75),
    ("ethos-u55", 256): EthosUArch(256, 1, (2, 2, 8), (2, 2, 8), 48, 8, 8, 16, 0.25, 0.125,
                                   0.75, 0.375),
    ("ethos-u65", 256): EthosUArch(256, 1, (2, 2, 8), (2, 2, 8), 48, 8, 8, 16, 0.25, 0.125,
                                   0.75, 0.375),
    ("ethos-u65", 512): EthosUArch(256, 2, (2, 2, 8), (2, 2, 8), 48, 8, 8, 16, 0.125, 0.0625,
                                   0.375, 0.1875),
}


def arch_for(product: str, macs_per_cycle: int) -> EthosUArch:
    try:
        return ARCH[(product, macs_per_cycle)]
    except KeyError:
        raise input_error("npu.macs_per_cycle", f"no {product} configuration with "
                          f"{macs_per_cycle} MACs/cycle",
                          hint="U55: 32/64/128/256, U65: 256/512") from None


@dataclass(frozen=True)
class MemArea:
    """One memory as the NPU sees it: bytes per NPU cycle, latency per access (NPU cycles) and
    the burst length its transfers are rounded to."""

    bytes_per_cycle: float
    read_latency: float
    write_latency: float
    burst_bytes: int


# vela.ini: Sram 32/32-cycle latency, 32-byte bursts; OffChipFlash 64-cycle read latency,
# 128-byte bursts; Dram 500/250-cycle latency, 128-byte bursts (every system config used here).
SRAM_LATENCY = (32.0, 32.0)
SRAM_BURST_BYTES = 32
AXI1_LATENCY = {"flash": (64.0, 0.0), "dram": (500.0, 250.0)}
AXI1_BURST_BYTES = 128
