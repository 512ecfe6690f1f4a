"""Regenerates ``neusight_t4_vector_fit.csv``: FITTING rows (SOURCES.md; none is held out) for the
GDDR6 streaming efficiency and the eager-op timing overheads (:mod:`hwsim.calibration.gddr_stream`).

Not run at test or run time: hwsim reads only the CSV. Input: a NeuSight checkout or bare clone.

    python make_stream_fit.py NEUSIGHT_GIT_DIR

The rows are NeuSight's TRAINING-set collections on the Tesla T4 (``scripts/asplos/data/dataset/
train/collect/{add,ln,softmax}/p2.1.0/Tesla T4.csv``, same collector as the test set:
``neusight/Dataset/collect.py``, CUDA events around one eager PyTorch call); the held-out
``neusight_norm_new_presets.csv`` comes from the TEST files (``dataset/test/{ln,softmax}.csv``),
and a (rows, row_elements) pair that also appears among the held-out T4 rows is dropped, so the
two sets are disjoint. Seeded (``make_heldout.SEED``, salt ``fit:t4:<op>``); no row is picked by
how well hwsim does. ``add`` is ``torch.add`` of two fp32 (B, H) tensors. Softmax rows are the
persistent warp kernel's (H <= 1024, ``softmax_warp_forward``: one read): PyTorch 2.1's longer
rows ran ``cunn_SoftMaxForward``, three reads whose L2 reuse hwsim does not model (the repeats
hit on these T4 rows but miss on LLMCompass's A100 rows), so they would bias the bandwidth.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from make_heldout import NORM_HEADER, _git, _ns_source, _sample, _write

DEVICE, PRESET = "Tesla T4", "t4-pcie"
OPS = {"add": "add", "ln": "layernorm", "softmax": "softmax"}
PER_OP = 40
OUT = "neusight_t4_vector_fit.csv"


def _heldout_shapes(here: Path) -> set[tuple[str, str]]:
    with open(here / "neusight_norm_new_presets.csv", newline="") as fh:
        return {(r["rows"], r["row_elements"]) for r in csv.DictReader(fh)
                if r["preset"] == PRESET}


def main(repo: Path) -> None:
    held = _heldout_shapes(Path(__file__).parent)
    out: list[list] = []
    for stem, op in OPS.items():
        path = f"scripts/asplos/data/dataset/train/collect/{stem}/p2.1.0/{DEVICE}.csv"
        rows = [r for r in csv.DictReader(io.StringIO(_git(repo, path)))
                if (r["B"], r["H"]) not in held and (stem != "softmax" or int(r["H"]) <= 1024)]
        for r in sorted(_sample(rows, PER_OP, f"fit:t4:{stem}"),
                        key=lambda r: (int(r["B"]) * int(r["H"]), r["H"])):
            out.append([DEVICE, PRESET, op, r["B"], r["H"], "fp32",
                        f"{float(r['Latency']) * 1e3:.4f}", r["Kernel Name"][:60],
                        _ns_source(path)])
    _write(OUT, NORM_HEADER, out)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
