"""The handwritten-digits data and its one fixed, stratified train/validation/test split.

scikit-learn ships the UCI digits (1,797 8x8 images, 16 grey levels) inside the package, so the
data is available offline. The split is computed here with numpy (not sklearn's splitter) so it
cannot change with a scikit-learn release; the manifest records a hash of the test indices and
evaluation refuses weights trained on another split.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SPLIT_SEED = 0
TEST_FRACTION = 0.25  # of each class
VAL_FRACTION = 0.10  # of each class, carved from the training part (calibration only)
DATASET = ("scikit-learn load_digits (UCI ML optical recognition of handwritten digits, "
           "test part: 1,797 8x8 images, 10 classes)")


@dataclass(frozen=True)
class Split:
    """Images scaled to [0, 1] as float32 rows of 64 pixels (row-major 8x8); labels int64.

    Each part is in a seeded random order (not grouped by class), so consecutive test images
    are a fair sample: the MoE capacity groups rely on that."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_index: np.ndarray  # indices into load_digits() order

    @property
    def test_index_sha256(self) -> str:
        return hashlib.sha256(self.test_index.astype("<i8").tobytes()).hexdigest()


@lru_cache(maxsize=1)
def digits_split() -> Split:
    """The split every family trains and is evaluated on (cached: loading takes ~30 ms)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (np.asarray(digits.data, dtype=np.float64) / 16.0).astype(np.float32)
    y = np.asarray(digits.target, dtype=np.int64)
    rng = np.random.default_rng(SPLIT_SEED)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for label in range(10):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_test = round(TEST_FRACTION * idx.size)
        n_val = round(VAL_FRACTION * idx.size)
        parts["test"].append(idx[:n_test])
        parts["val"].append(idx[n_test:n_test + n_val])
        parts["train"].append(idx[n_test + n_val:])
    order = {k: rng.permutation(np.concatenate(v)) for k, v in parts.items()}
    return Split(x[order["train"]], y[order["train"]], x[order["val"]], y[order["val"]],
                 x[order["test"]], y[order["test"]], order["test"])
