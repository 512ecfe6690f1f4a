"""The app's only way to get numbers: hwsim's public API behind ``st.cache_data``.

Every cached function takes hashable inputs (preset names, upload paths named by content hash,
override tuples, ``--sparsity`` strings), so a repeated view is a cache hit, and each is the
call ``hwsim simulate`` would make for the same inputs.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from hwsim.app.design import ChipChoice, Design, SparseOp
from hwsim.errors import input_error

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # an uploaded model is a file a reviewer brings, not a dump
UPLOAD_SUFFIXES = (".yaml", ".yml", ".onnx", ".tflite")
UPLOAD_DIR = Path(tempfile.gettempdir()) / "hwsim-app-uploads"


@st.cache_data(max_entries=512, show_spinner=False)
def simulate_chip(model: str, preset: str, overrides: tuple[tuple[str, Any], ...],
                  sparsity: tuple[str, ...], batch: int, fidelity: str) -> Any:
    """``hwsim.simulate`` with the dense twin (``compare_dense=True``) for one chip."""
    import hwsim

    return hwsim.simulate(model, preset, batch=batch, fidelity=fidelity,
                          chip_overrides=dict(overrides) or None,
                          sparsity=list(sparsity) or None, compare_dense=True)


def simulate_design(design: Design, chip: ChipChoice) -> Any:
    return simulate_chip(design.model, chip.preset, chip.overrides, design.sparsity,
                         design.batch, design.fidelity)


@st.cache_data(max_entries=64, show_spinner=False)
def sample_rows(model: str, preset: str, overrides: tuple[tuple[str, Any], ...],
                sparsity: tuple[str, ...], batch: int, samples: int, seed: int) -> np.ndarray:
    """Per-input (latency_s, energy_j) of ``samples`` inputs at cycle fidelity: the rows
    ``hwsim.simulate(..., fidelity="cycle", samples=N, seed=S)`` summarises into p50/p99."""
    import hwsim
    from hwsim.engine.sampling import sample_values
    from hwsim.engine.simulate import MAX_SAMPLES
    from hwsim.sparsity.overrides import apply_sparsity

    if not 1 <= samples <= MAX_SAMPLES:
        raise input_error("samples", f"samples must be 1..{MAX_SAMPLES}", given=samples)
    m = hwsim.load_model(model)
    if sparsity:
        m = apply_sparsity(m, list(sparsity))
    chip = hwsim.load_chip(preset, dict(overrides) or None)
    return sample_values(m, chip, batch, samples, seed)


@st.cache_data(max_entries=64, show_spinner=False)
def sparse_ops(model: str) -> list[SparseOp]:
    """The model's ops that carry a sparsity spec other than dense (drives sidebar defaults)."""
    import hwsim

    m = hwsim.load_model(model)
    return [SparseOp(op.name, op.kind, op.sparsity.model_dump(mode="json")) for op in m.ops
            if op.sparsity.kind != "dense"]


@st.cache_data(max_entries=64, show_spinner=False)
def chip_document(preset: str, overrides: tuple[tuple[str, Any], ...] = ()) -> dict[str, Any]:
    """The validated chip as a document (every field, defaults filled in)."""
    import hwsim

    return hwsim.load_chip(preset, dict(overrides) or None).model_dump(mode="json")


@st.cache_data(show_spinner=False)
def presets(kind: str) -> list[tuple[str, str, str]]:
    """(name, group, description) of the presets of ``kind`` ("chips" or "models")."""
    from hwsim.presets import list_presets

    return [(p.name, p.group, p.description) for p in list_presets(kind)]  # type: ignore[arg-type]


def save_upload(filename: str, data: bytes) -> str:
    """Write an uploaded model file where ``load_model`` can read it; the folder is named by the
    content hash so the path keys the cache by content. Returns the path."""
    suffix = Path(filename).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise input_error(filename, "unsupported model file type", given=suffix or "(none)",
                          hint="upload a model .yaml, .onnx or .tflite file")
    if len(data) > MAX_UPLOAD_BYTES:
        raise input_error(filename, f"file is larger than {MAX_UPLOAD_BYTES // 2**20} MB",
                          given=f"{len(data) / 2**20:.1f} MB")
    if not data:
        raise input_error(filename, "the file is empty")
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(filename).stem)[:64] or "model"
    folder = UPLOAD_DIR / hashlib.sha256(data).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (stem + suffix)
    if not path.exists():
        path.write_bytes(data)
    return str(path)


@st.cache_resource(max_entries=64, show_spinner=False)
def chip_object(preset: str, overrides: tuple[tuple[str, Any], ...] = ()) -> Any:
    """The validated, immutable chip (shared, not copied: chips are frozen pydantic models)."""
    import hwsim

    return hwsim.load_chip(preset, dict(overrides) or None)


@st.cache_data(max_entries=64, show_spinner=False)
def model_dtype(model: str) -> str:
    """The dtype that carries most of the model's MACs (the GPU roofline's tensor rate)."""
    import hwsim

    macs: dict[str, int] = {}
    for op in hwsim.load_model(model).ops:
        dtype = str(getattr(op, "dtype", "int8"))
        macs[dtype] = macs.get(dtype, 0) + op.macs
    return max(macs, key=lambda d: macs[d]) if macs else "int8"


@st.cache_data(max_entries=64, show_spinner=False)
def elasticities(model: str, preset: str, overrides: tuple[tuple[str, Any], ...],
                 sparsity: tuple[str, ...], batch: int, step: float) -> dict[str, Any]:
    """``hwsim sensitivity --json`` for one chip of the design (the document, so it caches)."""
    import hwsim

    chip = hwsim.load_chip(preset, dict(overrides) or None)
    return hwsim.sensitivity(chip, model, step=step, batch=batch,
                             sparsity=list(sparsity) or None).to_dict()
