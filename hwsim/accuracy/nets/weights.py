"""Weight files: byte-reproducible .npz writing, the manifest, and hash-checked loading.

``np.savez`` stamps each zip member with the current time, so the same arrays would give a new
file hash on every run; :func:`write_npz` fixes the timestamps and member order instead, which
makes the file's sha256 a function of the arrays alone.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from hwsim.errors import input_error
from hwsim.presets import weights_dir

WEIGHTS_DIR = weights_dir()
MANIFEST = "MANIFEST.json"
RETRAIN = "python -m hwsim.accuracy.train_digits"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip member can carry


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> str:
    """Write ``arrays`` (name -> array, no object dtypes) to ``path``; returns its sha256."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())
    return file_sha256(path)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(weights_dir: Path = WEIGHTS_DIR) -> dict[str, Any]:
    path = weights_dir / MANIFEST
    if not path.is_file():
        raise input_error(str(path), "weights manifest not found",
                          hint=f"train the measured models: {RETRAIN}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise input_error(str(path), f"unreadable weights manifest ({exc})",
                          hint=f"regenerate it: {RETRAIN}") from None


def load_weights(family: str, weights_dir: Path = WEIGHTS_DIR) -> tuple[dict[str, np.ndarray],
                                                                          str]:
    """The arrays of ``<family>.npz`` and their sha256, after checking the manifest's hash."""
    path = weights_dir / f"{family}.npz"
    if not path.is_file():
        raise input_error(str(path), f"weights of the measured family '{family}' not found",
                          hint=f"train them: {RETRAIN}")
    stat = path.stat()
    return _load_checked(str(path), stat.st_mtime_ns, stat.st_size, str(weights_dir))


@lru_cache(maxsize=16)
def _load_checked(path_str: str, _mtime_ns: int, _size: int,
                  weights_dir: str) -> tuple[dict[str, np.ndarray], str]:
    # Keyed by mtime and size too, so a retrained file is re-read and re-checked.
    path = Path(path_str)
    entry = read_manifest(Path(weights_dir)).get("files", {}).get(path.name)
    if not entry:
        raise input_error(path_str, "weights file not listed in the manifest",
                          hint=f"regenerate weights and manifest together: {RETRAIN}")
    digest = file_sha256(path)
    if digest != entry.get("sha256"):
        raise input_error(path_str, "weights file does not match its manifest hash",
                          given=digest[:16], hint=f"expected {str(entry.get('sha256'))[:16]}...; "
                          f"retrain: {RETRAIN}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise input_error(path_str, f"unreadable weights file ({exc})",
                          hint=f"retrain: {RETRAIN}") from None
    for a in arrays.values():
        a.setflags(write=False)  # shared by every caller through the cache
    return arrays, digest
