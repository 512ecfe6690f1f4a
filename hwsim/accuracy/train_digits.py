"""Train hwsim's measured-accuracy networks on the handwritten digits and store their weights.

    python -m hwsim.accuracy.train_digits [--out DIR] [--family NAME ...]

numpy only (scikit-learn supplies the data), every draw seeded, one BLAS thread: the same code
gives the same files bit for bit. Writes models/weights/<family>.npz (plain float32 arrays,
loadable with allow_pickle=False) and MANIFEST.json (each file's sha256, the split, the seeds).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hwsim.accuracy.nets import attn, data, liquid, mlp, moe, predictor
from hwsim.accuracy.nets.core import Params, one_thread
from hwsim.accuracy.nets.weights import MANIFEST, WEIGHTS_DIR, file_sha256, write_npz

SEED = 0
SCRIPT = "hwsim/accuracy/train_digits.py"


def _flat(prefix: str, p: Params) -> dict[str, np.ndarray]:
    return {f"{prefix}/{k}": np.asarray(v, dtype=np.float32) for k, v in p.items()}


def train_mlp(split: data.Split, seed: int) -> dict[str, np.ndarray]:
    """Dense MLP, its top-k fine-tuned copy, and rank-8/16/32 predictors for both."""
    x, y = split.x_train, split.y_train
    out: dict[str, np.ndarray] = {}
    dense = mlp.train_dense(x, y, seed)
    sets = {"base": dense, "sparse-trained": mlp.train_sparse(dense, x, y, seed + 1)}
    for i, (name, p) in enumerate(sets.items()):
        out |= _flat(name, p)
        h1, h2 = mlp.hidden_activations(p, x.astype(np.float64))
        for rank in predictor.RANKS:
            s = seed + 10 + 100 * i + rank
            out |= _flat(f"{name}/pred1_r{rank}", predictor.train(x, h1, rank, s))
            out |= _flat(f"{name}/pred2_r{rank}", predictor.train(h1, h2, rank, s + 1))
    return out


def train_moe(split: data.Split, seed: int) -> dict[str, np.ndarray]:
    """Top-2 routing ("base", sparsity in the loop) and the dense twin (every expert)."""
    x, y = split.x_train, split.y_train
    return (_flat("base", moe.train(x, y, seed))
            | _flat("dense", moe.train(x, y, seed + 1, top_k=moe.EXPERTS)))


def train_attn(split: data.Split, seed: int) -> dict[str, np.ndarray]:
    """Heads skipped in the loop ("base") and the dense twin (every head, every batch)."""
    x, y = split.x_train, split.y_train
    return (_flat("base", attn.train(x, y, seed))
            | _flat("dense", attn.train(x, y, seed + 1, train_keep=(1.0,))))


def train_liquid(split: data.Split, seed: int) -> dict[str, np.ndarray]:
    x, y = split.x_train, split.y_train
    return (_flat("base", liquid.train_dense(x, y, seed))
            | _flat("sparse-trained", liquid.train_sparse(x, y, seed + 1)))


# Each family has its own seed so one can be retrained (and checked) without the others.
FAMILIES: dict[str, tuple[Callable[[data.Split, int], dict[str, np.ndarray]], int]] = {
    "digits-mlp": (train_mlp, SEED + 1000), "digits-moe": (train_moe, SEED + 2000),
    "digits-attn": (train_attn, SEED + 3000), "digits-liquid": (train_liquid, SEED + 4000)}


def train_family(family: str) -> dict[str, np.ndarray]:
    """The arrays the script stores for ``family`` (deterministic)."""
    fn, seed = FAMILIES[family]
    with one_thread():
        return fn(data.digits_split(), seed)


def manifest(files: dict[str, str]) -> dict:
    split = data.digits_split()
    return {
        "script": SCRIPT, "command": "python -m hwsim.accuracy.train_digits",
        "seed": SEED, "family_seeds": {f: s for f, (_, s) in FAMILIES.items()},
        "dataset": data.DATASET,
        "split": {"method": "stratified per class, numpy default_rng", "seed": data.SPLIT_SEED,
                  "test_fraction": data.TEST_FRACTION, "val_fraction": data.VAL_FRACTION,
                  "train": int(split.y_train.size), "val": int(split.y_val.size),
                  "test": int(split.y_test.size),
                  "test_index_sha256": split.test_index_sha256},
        "dtype": "float32 (trained in float64 on one BLAS thread)",
        "numpy": np.__version__,
        "files": {name: {"sha256": digest} for name, digest in sorted(files.items())},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="weights folder")
    ap.add_argument("--family", action="append", choices=list(FAMILIES),
                    help="train only these (the manifest keeps the others' entries)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    old = args.out / MANIFEST
    files = ({k: v["sha256"] for k, v in json.loads(old.read_text())["files"].items()}
             if old.is_file() and args.family else {})
    total = time.perf_counter()
    for family in args.family or list(FAMILIES):
        t0, c0 = time.perf_counter(), time.process_time()
        arrays = train_family(family)
        path = args.out / f"{family}.npz"
        files[path.name] = write_npz(path, arrays)
        print(f"{family}: {time.perf_counter() - t0:.1f} s wall, "
              f"{time.process_time() - c0:.1f} s CPU, {path.stat().st_size / 1e3:.0f} kB, "
              f"sha256 {files[path.name][:12]}")
    doc = manifest(files)
    doc["files"] = {k: {"sha256": file_sha256(args.out / k)} for k in sorted(files)}
    (args.out / MANIFEST).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"total {time.perf_counter() - total:.1f} s wall on {platform.machine()}, "
          f"python {sys.version.split()[0]}, numpy {np.__version__}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
