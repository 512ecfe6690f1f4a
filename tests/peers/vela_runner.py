"""Run Arm's Vela compiler (PyPI ``ethos-u-vela==5.2.0``) on a .tflite model and read its CSVs.

``vela MODEL --accelerator-config CFG --output-dir DIR --verbose-performance`` with Vela's
internal-default system config and memory mode for CFG writes ``<stem>_summary_<system>.csv``
(network totals; ``cycles_total`` is the estimate hwsim compares with) and
``<stem>_per-layer.csv`` (one row per NPU operation Vela schedules, ``Op Cycles`` each). Vela
prints no energy. :func:`require_vela` raises :class:`VelaUnavailable` (tests turn it into a
skip) when the package or its console script is missing.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.peers.pinned import require_pinned

VELA_VERSION = "5.2.0"
CONFIGS = ("ethos-u55-32", "ethos-u55-128", "ethos-u55-256", "ethos-u65-256")
TFLITE_FILES = {"kws": "mlperftiny_kws_dscnn_int8.tflite",
                "ic": "mlperftiny_ic_resnet8_int8.tflite",
                "vww": "mlperftiny_vww_mobilenetv1_int8.tflite",
                "ad": "mlperftiny_ad_fcautoencoder_int8.tflite"}
# The per-layer columns kept in the reference CSV (Vela's own header names).
LAYER_COLUMNS = ("Original Operator", "NNG Operator", "Op Cycles", "MAC Count")


class VelaUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class VelaRun:
    cycles_total: int
    layers: list[dict[str, str]]  # LAYER_COLUMNS of each per-layer row, in Vela's order
    command: list[str]
    summary: dict[str, str] | None = None  # the whole summary CSV row


def require_vela() -> str:
    """Path of the ``vela`` console script next to this Python, at the pinned version."""
    require_pinned("ethos-u-vela", VELA_VERSION, VelaUnavailable)
    vela = shutil.which("vela", path=str(Path(sys.executable).parent))
    if vela is None:
        raise VelaUnavailable("the vela console script is not next to this Python")
    return vela


def run_vela(tflite: Path, config: str, out_dir: Path, system: tuple[str, ...] = ()) -> VelaRun:
    """Compile ``tflite`` for ``config`` into ``out_dir`` and parse both CSVs. ``system`` adds
    Vela options after ``--verbose-performance`` (e.g. ``--config Arm/vela.ini --system-config
    X --memory-mode Y``); the default is Vela's internal-default system for ``config``."""
    vela = require_vela()
    cmd = [vela, str(tflite), "--accelerator-config", config, "--output-dir", str(out_dir),
           "--verbose-performance", *system]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    (summary,) = out_dir.glob("*_summary_*.csv")
    with summary.open(newline="") as f:
        summary_row = next(csv.DictReader(f))
        total = int(float(summary_row["cycles_total"]))
    (per_layer,) = out_dir.glob("*_per-layer.csv")
    with per_layer.open(newline="") as f:
        layers = [{c: row[c] for c in LAYER_COLUMNS} for row in csv.DictReader(f)]
    shown = ["vela", f"models/tflite/{tflite.name}", *cmd[2:4], "--output-dir", "OUT",
             "--verbose-performance", *system]
    return VelaRun(total, layers, shown, summary_row)
