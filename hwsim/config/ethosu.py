"""What an Ethos-U product fixes, as Vela 5.2.0 defines it (ethosu/vela/architecture_features.py
and config_files/Arm/vela.ini of ``ethos-u-vela==5.2.0``).

* AXI port width: 64-bit (8 bytes per cycle) on the U55, 128-bit (16 bytes) on the U65.
* MAC configurations: U55 32/64/128/256 MACs per cycle in one core; U65 256 in one core or 512
  as two cores of 256 (Vela's ``ethos-u65-512`` config has ``cores=2``).
* Default memory mode: Shared_Sram on the U55 (weights read-only on AXI1, flash), Dedicated_Sram
  with a 384 KiB SRAM cache on the U65 (AXI1 is a read-write DRAM).
* Memory modes (vela.ini ``[Memory_Mode.*]``): Sram_Only puts weights and feature maps on the
  SRAM port (AXI0); Shared_Sram puts weights on AXI1 and feature maps in SRAM; Dedicated_Sram
  puts weights and feature maps on AXI1 and uses the SRAM as a cache for the feature maps (Vela
  rejects it when AXI1 is a read-only flash: "arena_mem_area ... must be Sram or Dram").
"""

from __future__ import annotations

from typing import Literal

NpuProduct = Literal["ethos-u55", "ethos-u65"]
MemoryMode = Literal["Shared_Sram", "Dedicated_Sram", "Sram_Only"]

AXI_BYTES_PER_CYCLE: dict[str, int] = {"ethos-u55": 8, "ethos-u65": 16}
MAC_CONFIGS: dict[str, tuple[int, ...]] = {"ethos-u55": (32, 64, 128, 256),
                                           "ethos-u65": (256, 512)}
MACS_PER_CORE: dict[str, int] = {"ethos-u55": 256, "ethos-u65": 256}
DEFAULT_MEMORY_MODE: dict[str, str] = {"ethos-u55": "Shared_Sram",
                                       "ethos-u65": "Dedicated_Sram"}


def cores(product: str, macs_per_cycle: int) -> int:
    """NPU cores a MAC configuration is built from (U65-512: two cores of 256)."""
    return max(1, macs_per_cycle // MACS_PER_CORE[product])
