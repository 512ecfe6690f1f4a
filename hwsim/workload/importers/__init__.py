"""Importers: TFLite and ONNX files -> :class:`~hwsim.workload.model.Model`, and back out as an
editable model YAML.

``import_model`` picks the reader by suffix; each format's parser package is imported only
when a file of that format is read, so ``import hwsim`` needs neither.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

from hwsim.errors import input_error
from hwsim.workload.importers.common import GraphImport, ImportedModel, WeightStats
from hwsim.workload.importers.to_yaml import model_to_yaml
from hwsim.workload.model import content_hash

__all__ = ["MAX_IMPORT_BYTES", "ImportedModel", "WeightStats", "import_model", "model_to_yaml"]

# Weights live in the file, so it may be big; past this it is a mistake, not a model to cost
# (and reading it would take the memory a sweep needs).
MAX_IMPORT_BYTES = 512 * 1024 * 1024

# suffix -> (module in this package, reader function, PyPI package it needs, format name)
FORMATS: dict[str, tuple[str, str, str, str]] = {
    ".tflite": ("tflite", "read_tflite", "tflite", "TFLite"),
    ".onnx": ("onnx", "read_onnx", "onnx", "ONNX"),
}


def import_model(path: str | Path, name: str | None = None) -> ImportedModel:
    """Read a ``.tflite`` or ``.onnx`` file into a Model (ops in execution order, batch 1).

    ``name`` defaults to the file's stem. The Model's ``source`` names the file and its sha256;
    its ``weights`` list every constant tensor with its bytes and zero fraction. Raises
    :class:`~hwsim.errors.HwsimError` naming the file for a missing, oversized or corrupt
    file, and listing every unsupported op at once.
    """
    p = Path(path)
    src = str(path)
    fmt = FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise input_error(src, "unsupported model file type", given=p.suffix or "(none)",
                          hint="hwsim imports " + " and ".join(FORMATS) + " files")
    module_name, reader_name, package, label = fmt
    if not p.exists():
        raise input_error(src, "file not found")
    if not p.is_file():
        raise input_error(src, "not a regular file")
    size = p.stat().st_size
    if size > MAX_IMPORT_BYTES:
        raise input_error(src, f"file is {size:,} bytes; imports are limited to "
                          f"{MAX_IMPORT_BYTES:,}")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise input_error(src, f"cannot read file: {exc.strerror}") from None
    try:
        module = importlib.import_module(f"{__name__}.{module_name}")
    except ImportError as exc:
        raise input_error(src, f"reading {label} files needs the Python package '{package}'",
                          hint=f"pip install {package} ({exc})") from None
    graph: GraphImport = getattr(module, reader_name)(data, src)
    if not graph.ops:
        raise input_error(src, f"the {label} graph has no op hwsim can cost (only layout ops)")
    sha = hashlib.sha256(data).hexdigest()
    model_name = name or p.stem
    macs = sum(op.macs for op in graph.ops)
    docs = [op.model_dump(mode="json") for op in graph.ops]
    return ImportedModel(
        name=model_name, ops=tuple(graph.ops),
        source=f"imported from {p.name} (sha256:{sha})",
        description=f"{label} import of {p.name}: {len(graph.ops)} ops, {macs:,} MACs",
        origin=src, content_hash=content_hash({"name": model_name, "ops": docs}),
        file_sha256=sha, weights=tuple(graph.weights),
        skipped=tuple(sorted(graph.skipped.items())))
