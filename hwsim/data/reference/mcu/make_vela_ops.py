"""Regenerate ``vela_ops_runs.csv`` and ``vela_ops_layers.csv``: Vela 5.2.0 on the synthetic
single-op models of :mod:`hwsim.data.reference.mcu.vela_op_sweep` (dev extra).

    /tmp/tfvenv/bin/python scripts/peers/make_vela_op_models.py /tmp/vela_ops   # the .tflite
    .venv/bin/python -m hwsim.data.reference.mcu.make_vela_ops /tmp/vela_ops     # rewrite CSVs
    .venv/bin/python -m hwsim.data.reference.mcu.make_vela_ops /tmp/vela_ops --check

For each model and each case of :data:`CASES` it runs (in-process, the same as the console
script)

    vela <op>.tflite --accelerator-config <cfg> --output-dir OUT --verbose-performance
         --config Arm/vela.ini --system-config <system> --memory-mode <mode>

and keeps, per run, the summary's cycles, bytes per memory and placement
(``vela_ops_runs.csv``, with the command) and, per row of the per-layer CSV, Vela's cycles and
access cycles per memory area (``vela_ops_layers.csv``). Each op's ``split`` column
(``fit`` / ``heldout``) comes from :func:`vela_op_sweep.held_out`, fixed before any error was
seen. Run from the checkout's root with the editable install (``make setup-dev``).
"""

from __future__ import annotations

import contextlib
import csv
import io
import sys
import tempfile
from pathlib import Path

from hwsim.data.reference.mcu.vela_op_sweep import OPS, SEED, Op, held_out, op_key
from hwsim.presets import reference_dir

U55 = "Ethos_U55_High_End_Embedded"
U65 = "Ethos_U65_Client_Server"
# (accelerator config, system config, memory mode)
CASES: tuple[tuple[str, str, str], ...] = (
    ("ethos-u55-128", U55, "Shared_Sram"),
    ("ethos-u55-128", U55, "Sram_Only"),
    ("ethos-u55-256", U55, "Shared_Sram"),
    ("ethos-u55-256", U55, "Sram_Only"),
    ("ethos-u65-256", U65, "Dedicated_Sram_384KB"),
    ("ethos-u65-256", U65, "Shared_Sram"),
    ("ethos-u65-256", U65, "Sram_Only"),
)
RUN_KEPT = ("weights_storage_area", "feature_map_storage_area", "total_npu_encoded_weights",
            "sram_total_bytes", "dram_total_bytes", "off_chip_flash_total_bytes", "cycles_npu",
            "cycles_sram_access", "cycles_dram_access", "cycles_off_chip_flash_access",
            "cycles_total")
LAYER_KEPT = ("Original Operator", "NNG Operator", "Op Cycles", "NPU", "SRAM AC", "DRAM AC",
              "OffFlash AC", "MAC Count")
OP_COLS = ("op", "kind", "h", "w", "c", "k", "kernel", "stride", "split")
RUN_HEADER = (*OP_COLS, "config", "system_config", "memory_mode", *RUN_KEPT, "command")
LAYER_HEADER = ("op", "config", "memory_mode", "row", "original_op", "nng_op", "op_cycles",
                "npu_cycles", "sram_ac", "dram_ac", "offflash_ac", "macs")


def command(tflite: str, cfg: str, system: str, mode: str) -> list[str]:
    return [tflite, "--accelerator-config", cfg, "--output-dir", "OUT", "--verbose-performance",
            "--config", "Arm/vela.ini", "--system-config", system, "--memory-mode", mode]


def run_case(tflite: Path, cfg: str, system: str, mode: str,
             out: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Vela on one model and case, in-process; (summary row, per-layer rows)."""
    from ethosu.vela import vela  # the dev extra; imported here so the module loads without it

    argv = command(str(tflite), cfg, system, mode)
    argv[argv.index("OUT")] = str(out)
    with contextlib.redirect_stdout(io.StringIO()):
        if vela.main(argv) != 0:
            raise RuntimeError(f"vela failed: {' '.join(argv)}")
    (summary,) = out.glob("*_summary_*.csv")
    with summary.open(newline="") as f:
        run = next(csv.DictReader(f))
    (per_layer,) = out.glob("*_per-layer.csv")
    with per_layer.open(newline="") as f:
        layers = list(csv.DictReader(f))
    return run, layers


def _num(v: str) -> str:
    try:
        return str(round(float(v)))
    except ValueError:
        return v


def render(models: Path, ops: tuple[Op, ...] = OPS) -> tuple[str, str]:
    """(runs CSV, layers CSV) for ``ops`` compiled from ``models/<op key>.tflite``."""
    runs_io, layers_io = io.StringIO(), io.StringIO()
    runs, layers = csv.writer(runs_io, lineterminator="\n"), csv.writer(layers_io,
                                                                        lineterminator="\n")
    runs.writerow(RUN_HEADER)
    layers.writerow(LAYER_HEADER)
    with tempfile.TemporaryDirectory() as tmp:
        for op in ops:
            key = op_key(op)
            split = "heldout" if held_out(key) else "fit"
            for i, (cfg, system, mode) in enumerate(CASES):
                out = Path(tmp) / key / str(i)
                run, rows = run_case(models / f"{key}.tflite", cfg, system, mode, out)
                cmd = " ".join(["vela", *command(f"{key}.tflite", cfg, system, mode)])
                runs.writerow([key, *op, split, cfg, system, mode,
                               *(_num(run[k]) for k in RUN_KEPT), cmd])
                for j, r in enumerate(rows):
                    layers.writerow([key, cfg, mode, j, r["Original Operator"], r["NNG Operator"],
                                     *(_num(r[k]) for k in LAYER_KEPT[2:])])
    return runs_io.getvalue(), layers_io.getvalue()


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    runs, layers = render(Path(args[0]))
    files = {reference_dir("mcu") / "vela_ops_runs.csv": runs,
             reference_dir("mcu") / "vela_ops_layers.csv": layers}
    if "--check" in sys.argv[1:]:
        stale = [p.name for p, t in files.items()
                 if not p.exists() or p.read_text(encoding="utf-8") != t]
        print("stale: " + ", ".join(stale) if stale else "up to date")
        return 1 if stale else 0
    for p, t in files.items():
        p.write_text(t, encoding="utf-8")
    print(f"seed {SEED}: {len(OPS)} ops x {len(CASES)} cases")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
