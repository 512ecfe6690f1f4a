"""The MCU reference data: MLPerf Tiny measurements and cached Vela 5.2.0 estimates.

All of it lives in the package data ``hwsim/data/reference/mcu/*.csv`` (SOURCES.md there says
where every number comes from and which files are fitted or held out); the engine holds only the
constants fitted to it. :func:`hwsim.presets.reference_dir` finds the folder.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

from hwsim.errors import input_error
from hwsim.presets import reference_dir

REFERENCE_DIR = reference_dir("mcu")

BoardLibrary = tuple[str, str]  # (board preset, kernel library)


def _rows(name: str) -> list[dict[str, str]]:
    path = REFERENCE_DIR / name
    try:
        with Path(path).open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except OSError as e:
        raise input_error(str(path), f"MCU reference data missing ({e.strerror})",
                          hint="it ships in the hwsim package (hwsim/data/reference/mcu); "
                          "reinstall hwsim") from e


@lru_cache(maxsize=1)
def mlperf_tiny_ms() -> dict[BoardLibrary, dict[str, float]]:
    """Measured latency, ms: (board preset, library) -> model -> ms."""
    out: dict[BoardLibrary, dict[str, float]] = defaultdict(dict)
    for r in _rows("mlperf_tiny_latency.csv"):
        out[(r["board"], r["library"])][r["model"]] = float(r["latency_ms"])
    return dict(out)


@lru_cache(maxsize=1)
def mlperf_tiny_heldout_ms() -> dict[BoardLibrary, dict[str, float]]:
    """Measured latency no constant was fitted to (``mlperf_tiny_heldout.csv``), ms."""
    out: dict[BoardLibrary, dict[str, float]] = defaultdict(dict)
    for r in _rows("mlperf_tiny_heldout.csv"):
        out[(r["board"], r["library"])][r["model"]] = float(r["latency_ms"])
    return dict(out)


@lru_cache(maxsize=1)
def mlperf_tiny_uj() -> dict[BoardLibrary, dict[str, float]]:
    """Measured energy per inference, µJ: (board preset, library) -> model -> µJ."""
    out: dict[BoardLibrary, dict[str, float]] = defaultdict(dict)
    for r in _rows("mlperf_tiny_energy.csv"):
        out[(r["board"], r["library"])][r["model"]] = float(r["energy_uj"])
    return dict(out)


@lru_cache(maxsize=1)
def vela_cycles() -> dict[str, dict[str, int]]:
    """Vela 5.2.0 ``cycles_total``: model -> accelerator config -> NPU cycles."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for r in _rows("vela_summary.csv"):
        out[r["model"]][r["config"]] = int(r["cycles_total"])
    return dict(out)


@lru_cache(maxsize=1)
def vela_layers() -> dict[tuple[str, str], list[tuple[str, str, int, int]]]:
    """Vela 5.2.0 per-layer rows: (model, config) -> [(original op, NNG op, cycles, MACs)]."""
    out: dict[tuple[str, str], list[tuple[str, str, int, int]]] = defaultdict(list)
    for r in _rows("vela_per_layer.csv"):
        out[(r["model"], r["config"])].append(
            (r["original_op"], r["nng_op"], int(r["op_cycles"]), int(r["macs"])))
    return dict(out)


@lru_cache(maxsize=1)
def vela_memory_modes() -> list[dict[str, str]]:
    """Vela 5.2.0 across memory modes and U55/U65 (``vela_memory_modes.csv``): one row per
    model and case, with the hwsim chip describing the same system (``hwsim`` column: a preset
    then ``field=value`` overrides). Held out: nothing is fitted to these."""
    return _rows("vela_memory_modes.csv")


@lru_cache(maxsize=1)
def vela_op_runs() -> list[dict[str, str]]:
    """Vela 5.2.0 on the synthetic single-op sweep (``vela_ops_runs.csv``): one row per op x
    accelerator config x memory mode, with the op's shape, its ``split`` (fit | heldout), the
    summary's cycles and bytes per memory, and the command."""
    return _rows("vela_ops_runs.csv")


@lru_cache(maxsize=1)
def vela_op_layers() -> list[dict[str, str]]:
    """Vela 5.2.0's per-layer rows of the same runs (``vela_ops_layers.csv``): cycles and access
    cycles per memory area of every NPU pass (softmax has 29)."""
    return _rows("vela_ops_layers.csv")


@lru_cache(maxsize=1)
def vela_encoded_weights() -> list[dict[str, str]]:
    """Vela 5.2.0's raw and encoded weight bytes of the MLPerf Tiny models per config
    (``vela_encoded_weights.csv``): the weight-compression ratios are fitted to these."""
    return _rows("vela_encoded_weights.csv")


@lru_cache(maxsize=1)
def rounds_rows() -> list[dict[str, str]]:
    """MLPerf Tiny latency and energy of every public round for the boards with presets
    (``mlperf_tiny_rounds.csv``, made by ``make_mlperf_tiny_rounds.py``); roles in
    :mod:`hwsim.report.mcu_rounds`."""
    return _rows("mlperf_tiny_rounds.csv")
