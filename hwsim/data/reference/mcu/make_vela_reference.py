"""Regenerate the cached Vela 5.2.0 figures in this folder (needs the dev extra).

    .venv/bin/python -m hwsim.data.reference.mcu.make_vela_reference          # rewrite both CSVs
    .venv/bin/python -m hwsim.data.reference.mcu.make_vela_reference --check  # exit 1 if stale

Run it from the checkout's root: it uses the Vela runner of the test suite (tests/peers), and
with the editable install (``make setup-dev``) the folder it rewrites is the checkout's.

For each MLPerf Tiny model (models/tflite/*.tflite) and Ethos-U config it runs
``vela models/tflite/<file> --accelerator-config <cfg> --output-dir OUT --verbose-performance``
(internal-default system config and memory mode) and writes ``vela_summary.csv`` (model,
config, cycles_total) and ``vela_per_layer.csv`` (model, config, row, Vela's per-layer columns
Original Operator, NNG Operator, Op Cycles, MAC Count). ``hwsim validate mcu`` reads only these
files; ``tests/test_mcu_vela_peer.py`` re-runs Vela and checks they still match.
"""

from __future__ import annotations

import csv
import io
import sys
import tempfile
from pathlib import Path

from hwsim.presets import reference_dir, tflite_dir
from tests.peers.pinned import write_or_check
from tests.peers.vela_runner import CONFIGS, TFLITE_FILES, run_vela


def render() -> tuple[str, str]:
    """(summary CSV text, per-layer CSV text) from fresh Vela runs."""
    summary, layers = io.StringIO(), io.StringIO()
    s = csv.writer(summary, lineterminator="\n")
    s.writerow(["model", "config", "cycles_total"])
    lw = csv.writer(layers, lineterminator="\n")
    lw.writerow(["model", "config", "row", "original_op", "nng_op", "op_cycles", "macs"])
    with tempfile.TemporaryDirectory() as tmp:
        for model, file in TFLITE_FILES.items():
            for cfg in CONFIGS:
                run = run_vela(tflite_dir() / file, cfg, Path(tmp) / model / cfg)
                s.writerow([model, cfg, run.cycles_total])
                for i, r in enumerate(run.layers):
                    lw.writerow([model, cfg, i, r["Original Operator"], r["NNG Operator"],
                                 r["Op Cycles"], r["MAC Count"]])
    return summary.getvalue(), layers.getvalue()


def main() -> int:
    summary, layers = render()
    here = reference_dir("mcu")
    files = {here / "vela_summary.csv": summary, here / "vela_per_layer.csv": layers}
    return write_or_check(files, "--check" in sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
