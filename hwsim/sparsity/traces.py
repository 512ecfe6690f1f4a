"""Activation-mask traces: real masks captured from a model drive the simulator.

File format (``format_version`` 1): one compressed ``.npz`` (``numpy.savez_compressed``), read
with ``numpy.load(path, allow_pickle=False)``, so it can never execute code. Entries:

* ``format_version``: int64 scalar, ``1``.
* ``mask/<op>``: uint8 array (tokens, ceil(K/8)): the op's activation mask packed with
  ``numpy.packbits(mask, axis=1, bitorder="little")``; bit set = element active (nonzero).
  Bits past K in the last byte of a row are zero.
* ``k_dim/<op>``: int64 scalar, K of that op (elements per token).
* ``meta/<key>`` (optional): unicode string scalar, free text such as the model, the dataset, the
  capture tool.

``<op>`` is the op's name in the workload (it may contain ``/`` and ``.``). Every ``mask/`` has a
``k_dim/`` and the reverse; no other entries are allowed. Files larger than ``max_bytes``
(default 256 MiB, on disk and uncompressed) are refused.

Capture in a few lines (PyTorch, outside hwsim)::

    masks = {"layer0.ffn.down": (h != 0).cpu().numpy()}  # bool (tokens, K), input of the op
    hwsim.sparsity.traces.save_trace("trace.npz", masks, {"model": "opt-125m"})
"""

from __future__ import annotations

import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError, input_error
from hwsim.sparsity.masks import PackedMask, pack, packed_width_bytes, padding_is_clear

FORMAT_VERSION = 1
MAX_TRACE_BYTES = 256 * 2**20
_HINT_PACK = 'pack with numpy.packbits(mask, axis=1, bitorder="little")'
_HINT_SAVE = "write traces with hwsim.sparsity.traces.save_trace"


def save_trace(path: str | Path, masks: dict[str, np.ndarray],
               meta: dict[str, str] | None = None) -> Path:
    """Write boolean (tokens, K) masks per op, and optional text metadata, to an npz trace.

    The file is written next to ``path`` and renamed into place, so a reader never sees half a
    file. Returns the path written (no ``.npz`` is appended).
    """
    path = Path(path)
    if not masks:
        raise input_error(str(path), "a trace needs at least one mask")
    arrays: dict[str, np.ndarray] = {"format_version": np.array(FORMAT_VERSION, dtype=np.int64)}
    for name, mask in masks.items():
        mask = np.asarray(mask)
        if not isinstance(name, str) or not name:
            raise input_error(str(path), "op names must be non-empty strings", given=name)
        if mask.dtype != np.bool_ or mask.ndim != 2 or mask.shape[1] < 1:
            raise input_error(str(path), "a mask must be boolean (tokens, K) with K >= 1",
                              field=f"mask/{name}", given=f"{mask.dtype} {mask.shape}")
        arrays[f"mask/{name}"] = pack(mask)
        arrays[f"k_dim/{name}"] = np.array(mask.shape[1], dtype=np.int64)
    for key, value in (meta or {}).items():
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise input_error(str(path), "metadata keys and values must be strings",
                              field=f"meta/{key}", given=value)
        arrays[f"meta/{key}"] = np.array(value, dtype=np.str_)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_trace(path: str | Path, *, max_bytes: int = MAX_TRACE_BYTES) -> dict[str, PackedMask]:
    """Masks per op name from an npz trace; any problem is an :class:`HwsimError` naming it."""
    return _load(Path(path), max_bytes)[0]


def load_trace_meta(path: str | Path, *, max_bytes: int = MAX_TRACE_BYTES) -> dict[str, str]:
    """The ``meta/<key>`` strings of a trace, after the same checks as :func:`load_trace`."""
    return _load(Path(path), max_bytes)[1]


def _load(path: Path, max_bytes: int) -> tuple[dict[str, PackedMask], dict[str, str]]:
    entries = _read_entries(path, max_bytes)
    source = str(path)
    masks: dict[str, PackedMask] = {}
    meta: dict[str, str] = {}
    for key, value in entries.items():
        prefix, _, name = key.partition("/")
        if prefix == "mask":
            masks[name] = _packed_mask(source, name, value, entries.get(f"k_dim/{name}"))
        elif prefix == "k_dim" and f"mask/{name}" not in entries:
            raise input_error(source, "k_dim without a mask", field=key)
        elif prefix == "meta":
            meta[name] = str(value[()])
    if not masks:
        raise input_error(source, "the trace holds no masks", field="mask/<op>", hint=_HINT_SAVE)
    return masks, meta


def _read_entries(path: Path, max_bytes: int) -> dict[str, np.ndarray]:
    """Every array of the npz, after size, format and version checks."""
    source = str(path)
    if not path.is_file():
        raise input_error(source, "trace file not found", hint="check the path")
    if path.stat().st_size > max_bytes:
        raise input_error(source, f"trace file larger than {max_bytes} bytes",
                          given=path.stat().st_size)
    if not zipfile.is_zipfile(path):
        raise input_error(source, "not an npz trace (not a zip archive, or truncated)",
                          hint=_HINT_SAVE)
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked_bytes = sum(info.file_size for info in archive.infolist())
        if unpacked_bytes > max_bytes:
            raise input_error(source, f"trace unpacks to more than {max_bytes} bytes",
                              given=unpacked_bytes)
        entries: dict[str, np.ndarray] = {}
        with np.load(path, allow_pickle=False) as npz:
            for key in npz.files:
                entries[key] = _read_array(source, npz, key)
    except HwsimError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise input_error(source, f"unreadable npz trace: {exc}", hint=_HINT_SAVE) from None
    _check_keys(source, entries)
    return entries


def _read_array(source: str, npz: np.lib.npyio.NpzFile, key: str) -> np.ndarray:
    try:
        value = npz[key]
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise input_error(source, "object (pickled) arrays are not allowed in a trace",
                              field=key, hint=_HINT_PACK) from None
        raise input_error(source, f"unreadable array: {exc}", field=key) from None
    if not isinstance(value, np.ndarray):  # a zip member that is not an .npy file
        raise input_error(source, "entry is not a numpy array", field=key, hint=_HINT_SAVE)
    return value


def _check_keys(source: str, entries: dict[str, np.ndarray]) -> None:
    if "format_version" not in entries:
        raise input_error(source, "missing format_version", field="format_version",
                          hint=_HINT_SAVE)
    version = entries["format_version"]
    if version.shape != () or version.dtype.kind not in "iu" or int(version) != FORMAT_VERSION:
        raise input_error(source, f"unsupported trace format (this hwsim reads {FORMAT_VERSION})",
                          field="format_version", given=version.tolist())
    for key, value in entries.items():
        prefix, _, name = key.partition("/")
        if key == "format_version":
            continue
        if prefix not in ("mask", "k_dim", "meta") or not name:
            raise input_error(source, "unexpected entry (expected mask/<op>, k_dim/<op>, "
                              "meta/<key>, format_version)", field=key)
        if prefix == "meta" and (value.shape != () or value.dtype.kind != "U"):
            raise input_error(source, "metadata must be a text scalar", field=key,
                              given=f"{value.dtype} {value.shape}")


def _packed_mask(source: str, name: str, bits: np.ndarray,
                 k_dim: np.ndarray | None) -> PackedMask:
    if k_dim is None:
        raise input_error(source, "mask without its k_dim", field=f"k_dim/{name}",
                          hint="store K of every op as an integer scalar k_dim/<op>")
    if k_dim.shape != () or k_dim.dtype.kind not in "iu" or int(k_dim) < 1:
        raise input_error(source, "k_dim must be an integer scalar >= 1", field=f"k_dim/{name}",
                          given=f"{k_dim.dtype} {k_dim.shape} {k_dim.tolist()}")
    k = int(k_dim)
    field = f"mask/{name}"
    if bits.dtype != np.uint8 or bits.ndim != 2:
        raise input_error(source, "mask must be a packed uint8 (tokens, ceil(K/8)) array",
                          field=field, given=f"{bits.dtype} {bits.shape}", hint=_HINT_PACK)
    if bits.shape[1] != packed_width_bytes(k):
        raise input_error(source, f"mask width {bits.shape[1]} bytes does not fit K={k} "
                          f"(expected {packed_width_bytes(k)})", field=field, hint=_HINT_PACK)
    if not padding_is_clear(bits, k):
        raise input_error(source, "bits set past K in the last byte (big bit order?)",
                          field=field, hint=_HINT_PACK)
    return PackedMask(bits, k)
