"""Regenerate ``vela_encoded_weights.csv``: Vela 5.2.0's encoded weight size of the four MLPerf
Tiny models (dev extra).

    .venv/bin/python -m hwsim.data.reference.mcu.make_vela_weights          # rewrite the CSV
    .venv/bin/python -m hwsim.data.reference.mcu.make_vela_weights --check  # exit 1 if stale

For each model and config of ``tests/peers/vela_runner.py`` it runs ``vela
models/tflite/<file> --accelerator-config <cfg> --output-dir OUT --verbose-performance`` and
keeps the summary's ``total_original_weights`` and ``total_npu_encoded_weights`` (bytes: the
weights after Vela's compression, with 10 bytes of scale and bias per output channel). No
cycle figure is kept: the weight-compression ratios of the structural model are fitted to these
sizes (``hwsim.calibration.ethosu``). Run from the checkout's root (``make setup-dev``).
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

KEPT = ("total_original_weights", "total_npu_encoded_weights")


def render() -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["model", "config", *KEPT, "command"])
    with tempfile.TemporaryDirectory() as tmp:
        for model, file in TFLITE_FILES.items():
            for cfg in CONFIGS:
                run = run_vela(tflite_dir() / file, cfg, Path(tmp) / model / cfg)
                assert run.summary is not None
                w.writerow([model, cfg, *(int(float(run.summary[k])) for k in KEPT),
                            " ".join(run.command)])
    return out.getvalue()


def main() -> int:
    path = reference_dir("mcu") / "vela_encoded_weights.csv"
    return write_or_check({path: render()}, "--check" in sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
