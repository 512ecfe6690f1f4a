"""Regenerate ``vela_memory_modes.csv``: Vela 5.2.0 across memory modes and U55/U65 (dev extra).

    .venv/bin/python -m hwsim.data.reference.mcu.make_vela_memory_modes          # rewrite the CSV
    .venv/bin/python -m hwsim.data.reference.mcu.make_vela_memory_modes --check  # exit 1 if stale

Run it from the checkout's root: it uses the Vela runner of the test suite (tests/peers), and
with the editable install (``make setup-dev``) the folder it rewrites is the checkout's.

For each MLPerf Tiny model and each case below it runs
``vela models/tflite/<file> --accelerator-config <cfg> --output-dir OUT --verbose-performance
--config Arm/vela.ini --system-config <system> --memory-mode <mode> [--arena-cache-size N]``
and keeps the summary's cycles, where it put weights and feature maps, and the bytes it moved
per memory. The ``hwsim`` column names the preset and overrides describing the same system.
None of these figures is used for fitting: ``hwsim validate mcu`` shows them as held-out checks
of the memory-mode and product model (SOURCES.md).
"""

from __future__ import annotations

import csv
import io
import sys
import tempfile
from pathlib import Path

from hwsim.presets import reference_dir, tflite_dir
from tests.peers.vela_runner import TFLITE_FILES, run_vela

U55 = "Ethos_U55_High_End_Embedded"
U65 = "Ethos_U65_Client_Server"
# (accelerator config, system config, memory mode, --arena-cache-size or None, hwsim chip)
CASES: tuple[tuple[str, str, str, int | None, str], ...] = (
    ("ethos-u55-128", U55, "Shared_Sram", None, "ethos-u55-128"),
    ("ethos-u55-128", U55, "Sram_Only", None, "ethos-u55-128 npu.memory_mode=Sram_Only"),
    ("ethos-u55-256", U55, "Shared_Sram", None, "ethos-u55-256"),
    ("ethos-u55-256", U55, "Sram_Only", None, "ethos-u55-256 npu.memory_mode=Sram_Only"),
    ("ethos-u65-256", U55, "Shared_Sram", None, "ethos-u55-256 npu.product=ethos-u65"),
    ("ethos-u65-256", U65, "Dedicated_Sram_384KB", None, "ethos-u65-256"),
    ("ethos-u65-256", U65, "Dedicated_Sram_384KB", 65536,
     "ethos-u65-256 sram_bytes=65536"),
    ("ethos-u65-256", U65, "Shared_Sram", None, "ethos-u65-256 npu.memory_mode=Shared_Sram"),
    ("ethos-u65-256", U65, "Sram_Only", None, "ethos-u65-256 npu.memory_mode=Sram_Only"),
    ("ethos-u55-256", U65, "Shared_Sram", None,
     "ethos-u65-256 npu.product=ethos-u55 npu.memory_mode=Shared_Sram"),
    ("ethos-u65-512", U65, "Dedicated_Sram_384KB", None, "ethos-u65-512"),
)
KEPT = ("weights_storage_area", "feature_map_storage_area", "sram_total_bytes",
        "dram_total_bytes", "off_chip_flash_total_bytes", "cycles_total")
HEADER = ("model", "config", "system_config", "memory_mode", "arena_cache_size", *KEPT,
          "hwsim", "command")


def render() -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(HEADER)
    with tempfile.TemporaryDirectory() as tmp:
        for model, file in TFLITE_FILES.items():
            for i, (cfg, system, mode, cache, hwsim) in enumerate(CASES):
                opts = ("--config", "Arm/vela.ini", "--system-config", system,
                        "--memory-mode", mode,
                        *(("--arena-cache-size", str(cache)) if cache else ()))
                run = run_vela(tflite_dir() / file, cfg,
                               Path(tmp) / model / str(i), opts)
                assert run.summary is not None
                w.writerow([model, cfg, system, mode, cache or "",
                            *(str(int(float(run.summary[k]))) if k.endswith(
                                ("bytes", "total")) else run.summary[k] for k in KEPT),
                            hwsim, " ".join(run.command)])
    return out.getvalue()


def main() -> int:
    text = render()
    path = reference_dir("mcu") / "vela_memory_modes.csv"
    if "--check" in sys.argv[1:]:
        stale = not path.exists() or path.read_text(encoding="utf-8") != text
        print("stale: " + path.name if stale else "up to date")
        return 1 if stale else 0
    path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
