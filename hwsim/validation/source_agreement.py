"""How far two public collections of one GPU agree on a large fp32 sgemm: a spread no model
can beat, printed beside hwsim's figure.

Two collections measure the same boards: NeuSight's per-operator rows (``neusight_gemm*.csv``;
``nn.Linear`` timed by CUDA events, one eager call at a time; its large rows, 25 calls of tens
of milliseconds or more, hold the board at its power limit) and the crowd-sourced square
``torch.mm`` runs (``torch_mm_square_crowd.csv``; :mod:`hwsim.validation.square_mm`). Where both
have a board, their large fp32 GEMMs (NeuSight: ``nn.Linear`` rows of at least ``MIN_GFLOP``;
the crowd: its 8192^3 and 10240^3 rows, or where a run posted only its best size, that) should
read the same throughput up to the shape's own efficiency, which at these sizes is within a few
per cent. What they read apart is the boards, their cooling and their harnesses: for a
power-limited card it bounds how close any model can come to both. Nothing here is fitted; the
figures are the files' own.

hwsim's figure is a sustained 8192^3 fp32 GEMM (held at the power limit, kernel time only), the
state NeuSight's sweep measures and the crowd's largest sizes approach.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from hwsim.presets import list_presets, reference_dir, reference_rows
from hwsim.validation.square_mm import REFERENCE_FILE, mm_s

NEUSIGHT_FILES = {"neusight_gemm.csv": "held out", "neusight_gemm_new_presets.csv": "held out",
                  "neusight_gemm_fit.csv": "fitting"}
# At this size tile and wave quantisation cost a few per cent at most on every preset.
MIN_GFLOP = 100.0
CROWD_MIN_SIZE = 8192
HWSIM_SIZE = 8192


def neusight_tflops(ref_dir: Path) -> dict[str, dict[str, Any]]:
    """Per preset: NeuSight's large fp32 nn.Linear rows' TFLOP/s and the files' roles."""
    out: dict[str, dict[str, Any]] = {}
    for name, role in NEUSIGHT_FILES.items():
        for r in reference_rows(ref_dir, name):
            if r["dtype"] != "fp32" or r["op"] != "linear":
                continue
            flop = 2.0 * int(r["batch"]) * int(r["m"]) * int(r["n"]) * int(r["k"])
            if flop < MIN_GFLOP * 1e9:
                continue
            entry = out.setdefault(r["preset"], {"tflops": [], "roles": set()})
            entry["tflops"].append(flop / (float(r["latency_us"]) * 1e-6) / 1e12)
            entry["roles"].add(role)
    return out


def crowd_tflops(ref_dir: Path) -> dict[str, dict[str, Any]]:
    """Per preset: the crowd's fp32 TFLOP/s at n >= 8192, else its best-size rows."""
    sized: dict[str, list[float]] = {}
    best: dict[str, list[float]] = {}
    for r in reference_rows(ref_dir, REFERENCE_FILE):
        if r["dtype"] != "fp32":
            continue
        if r["statistic"] == "size" and int(r["size"]) >= CROWD_MIN_SIZE:
            sized.setdefault(r["preset"], []).append(float(r["tflops"]))
        elif r["statistic"] == "max_over_sizes":
            best.setdefault(r["preset"], []).append(float(r["tflops"]))
    out = {p: {"tflops": v, "statistic": f"n >= {CROWD_MIN_SIZE}"} for p, v in sized.items()}
    for p, v in best.items():
        out.setdefault(p, {"tflops": v, "statistic": "best size"})
    return out


def hwsim_tflops(preset: str) -> float:
    """hwsim's sustained 8192^3 fp32 GEMM on ``preset`` (held at its limit, kernel only)."""
    n = HWSIM_SIZE
    return 2.0 * n**3 / mm_s(preset, n, "fp32", sustained=True) / 1e12


def source_agreement_report(ref_dir: Path | None = None) -> dict[str, Any]:
    """Every preset both collections measured: each one's median and range, how far apart
    they are (the crowd's median over NeuSight's, minus 1) and hwsim's sustained figure with
    the error of its time per op against each (measured TFLOP/s over hwsim's, minus 1: negative
    is hwsim too fast, as in :mod:`hwsim.validation.square_mm`)."""
    ref_dir = reference_dir("gpu") if ref_dir is None else ref_dir
    presets = {p.name for p in list_presets("chips") if p.group == "gpus"}
    ns, crowd = neusight_tflops(ref_dir), crowd_tflops(ref_dir)
    rows = []
    for preset in sorted(set(ns) & set(crowd) & presets):
        a, b = ns[preset]["tflops"], crowd[preset]["tflops"]
        a_med, b_med = statistics.median(a), statistics.median(b)
        model = hwsim_tflops(preset)
        rows.append({"preset": preset, "neusight_rows": len(a),
                     "neusight_role": " + ".join(sorted(ns[preset]["roles"])),
                     "neusight_tflops": a_med, "neusight_range": [min(a), max(a)],
                     "crowd_rows": len(b), "crowd_statistic": crowd[preset]["statistic"],
                     "crowd_tflops": b_med, "crowd_range": [min(b), max(b)],
                     "sources_apart": b_med / a_med - 1.0, "hwsim_tflops": model,
                     "error_vs_neusight": a_med / model - 1.0,
                     "error_vs_crowd": b_med / model - 1.0})
    return {"rows": rows, "min_gflop": MIN_GFLOP, "crowd_min_size": CROWD_MIN_SIZE,
            "hwsim_size": HWSIM_SIZE}
