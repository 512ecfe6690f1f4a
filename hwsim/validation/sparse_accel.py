"""Published sparse accelerators against hwsim's presets: ``hwsim validate sparse-accel``.

Reference figures live in ``hwsim/data/reference/accelerator/<design>/`` with a SOURCES.md
(paper, figure or table, how each value was read, units, held-out or fitted per row). Every
row here is held out: nothing in the presets or the engine was fitted to it.

- ``eyeriss_v2``: an Eyeriss v2 PE with one MAC (the configuration of Sparseloop's validation,
  Wu et al. MICRO 2022, Fig. 12) on eight pointwise layers of a sparse MobileNet-0.5; the
  ground-truth cycles are those distributed with Sparseloop's artifact. hwsim runs the same
  layer, with the same weight and activation densities, on ``eyeriss-v2-like`` reduced to one
  lane and one MAC column, and compares the speedup over the same PE running the layer dense
  (dense compute cycles / sparse compute cycles against dense MACs / ground-truth cycles).
- ``dstc``: the Dual-side Sparse Tensor Core (Wang et al., ISCA 2021) on a 4096^3 GEMM at nine
  sparse (A, B) density pairs (Sparseloop's validation, Wu et al. MICRO 2022, Fig. 13); the ground
  truth is DSTC's Fig. 21 as the artifact ships it. hwsim runs the same GEMM on ``dstc-like``
  and compares the latency normalised to the same GEMM dense (sparse / dense).
- ``scnn``: SCNN's per-layer speedup and energy vs its dense twin on AlexNet, VGGNet and two
  GoogLeNet inception modules (the paper's Fig. 1/9/11, read from its vector charts), in
  ``sparse_accel_scnn.py``.
- ``sparten``: no per-layer figure could be obtained in a form that can be cited (see its
  SOURCES.md); the mechanism is tested against brute-force references in
  tests/test_sparse_accel_sparten.py instead.
"""

from __future__ import annotations

import csv
import statistics
from dataclasses import dataclass
from functools import cache
from typing import Any

from hwsim.engine.simulate import simulate
from hwsim.hardware.chips import load_chip
from hwsim.presets import reference_dir
from hwsim.workload.load import conv2d, gemm

DESIGNS = ("eyeriss_v2", "dstc", "scnn", "sparten")
PE_OVERRIDES = {"array.rows": 1, "array.cols": 1}  # one PE, one MAC (Sparseloop Fig. 12)


@dataclass(frozen=True)
class Row:
    """One published figure and hwsim's value for it."""

    design: str
    preset: str
    workload: str
    layer: str
    metric: str
    iact_density: float
    weight_density: float
    published: float
    hwsim: float
    peer: float | None  # the peer model's value for the same figure (Sparseloop), if any
    source: str
    held_out: bool = True
    unit: str = "x (dense / sparse)"

    @property
    def error(self) -> float:
        return (self.hwsim - self.published) / self.published

    def to_dict(self) -> dict[str, Any]:
        return {"design": self.design, "preset": self.preset, "workload": self.workload,
                "layer": self.layer, "metric": self.metric, "unit": self.unit,
                "iact_density": self.iact_density, "weight_density": self.weight_density,
                "published": self.published, "hwsim": self.hwsim, "error": self.error,
                "peer": self.peer, "peer_error": None if self.peer is None else
                (self.peer - self.published) / self.published,
                "held_out": self.held_out, "source": self.source}


def _read(design: str, name: str) -> list[dict[str, str]]:
    with (reference_dir(f"accelerator/{design}") / name).open(newline="",
                                                              encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _compute_cycles(chip: Any, layer: dict[str, str], sparsity: list[str] | None) -> float:
    model = conv2d(int(layer["e"]), int(layer["f"]), int(layer["c"]), int(layer["m"]),
                   int(layer["r"]), int(layer["s"]), name="layer")
    r = simulate(model, chip, batch=1, sparsity=sparsity, fidelity="analytic")
    return float(sum(op.compute_cycles for op in r.ops))


def eyeriss_v2_rows() -> list[Row]:
    """Sparseloop Fig. 12: the Eyeriss v2 PE's speedup over dense per MobileNet-0.5 layer."""
    chip = load_chip("eyeriss-v2-like", overrides=PE_OVERRIDES)
    rows = []
    for lay in _read("eyeriss_v2", "sparseloop_fig12_pe_cycles.csv"):
        d_a, d_w = float(lay["iact_density"]), float(lay["weight_density"])
        dense = _compute_cycles(chip, lay, None)
        sparse = _compute_cycles(chip, lay, [f"*:relu:density={d_a},weight_density={d_w}"])
        macs = float(lay["dense_macs"])
        rows.append(Row("eyeriss_v2", "eyeriss-v2-like (1 PE, 1 MAC)",
                        "mobilenet0.5-sparse", lay["layer"], "speedup_vs_dense", d_a, d_w,
                        macs / float(lay["ground_truth_cycles"]), dense / sparse,
                        macs / float(lay["sparseloop_uniform_cycles"]),
                        "Wu et al., MICRO 2022, Fig. 12 (ground-truth cycles from the "
                        "Sparseloop artifact)", lay["split"] == "held_out"))
    return rows


def _latency_s(chip: Any, m: int, n: int, k: int, sparsity: list[str] | None) -> float:
    model = gemm(m, n, k, dtype="fp16", name="gemm")
    return float(simulate(model, chip, batch=1, sparsity=sparsity,
                          fidelity="analytic").total.latency_s)


def dstc_rows() -> list[Row]:
    """Sparseloop Fig. 13: DSTC's GEMM latency normalised to dense per (A, B) density pair.

    A (M x K) is hwsim's activation operand, B (K x N) the weight operand."""
    chip = load_chip("dstc-like")
    table = _read("dstc", "sparseloop_fig13_gemm_latency.csv")
    dense_ref = next(r for r in table if r["split"] == "dense_reference")
    shape = tuple(int(dense_ref[c]) for c in ("m", "n", "k"))
    dense_s = _latency_s(chip, *shape, None)
    rows = []
    for lay in table:
        if lay["split"] == "dense_reference":
            continue
        if tuple(int(lay[c]) for c in ("m", "n", "k")) != shape:
            raise ValueError(f"DSTC row {lay} is not the dense reference's GEMM {shape}")
        d_a, d_b = float(lay["a_density"]), float(lay["b_density"])
        sparse_s = _latency_s(chip, *shape, [f"*:relu:density={d_a},weight_density={d_b}"])
        peer = lay["sparseloop_uniform_normalized"]
        rows.append(Row("dstc", "dstc-like", "gemm 4096x4096x4096", f"A{d_a:.1f}_B{d_b:.1f}",
                        "latency_vs_dense", d_a, d_b,
                        float(lay["ground_truth_latency"]) / float(
                            dense_ref["ground_truth_latency"]),
                        sparse_s / dense_s, float(peer) if peer else None,
                        "Wang et al., ISCA 2021, Fig. 21 via Wu et al., MICRO 2022, Fig. 13 "
                        "(the Sparseloop artifact's baseline.yaml)", lay["split"] == "held_out",
                        unit="x (sparse / dense latency)"))
    return rows


def _median_abs(rows: list[Row], peer: bool = False) -> float | None:
    errs = [abs(r.to_dict()["peer_error"] if peer else r.error) for r in rows
            if r.held_out and (r.peer is not None or not peer)]
    return statistics.median(errs) if errs else None


def _gaps() -> dict[str, str]:
    """Why a design has no compared rows (the first paragraph of its SOURCES.md gap note)."""
    out = {}
    for design in DESIGNS:
        text = (reference_dir(f"accelerator/{design}") / "SOURCES.md").read_text(
            encoding="utf-8")
        if "## Not available" in text:
            out[design] = text.split("## Not available", 1)[1].strip().split("\n\n")[0]
    return out


@cache
def report() -> dict[str, Any]:
    """Rows (held-out first), the median |error| per design, and the gaps."""
    from hwsim.validation.sparse_accel_scnn import network_figures, scnn_rows

    rows = eyeriss_v2_rows() + dstc_rows() + scnn_rows(Row)
    rows.sort(key=lambda r: (not r.held_out, r.design, r.workload, r.layer))
    by_design = {}
    for design in DESIGNS:
        sel = [r for r in rows if r.design == design]
        by_design[design] = {"rows": len(sel), "median_abs_error": _median_abs(sel),
                             "peer_median_abs_error": _median_abs(sel, peer=True),
                             "by_metric": {m: _median_abs([r for r in sel if r.metric == m])
                                           for m in sorted({r.metric for r in sel})}}
    return {"rows": [r.to_dict() for r in rows], "by_design": by_design,
            "target_median_abs_error": 0.10, "gaps": _gaps(),
            "scnn_networks": network_figures(),
            "reference": "hwsim/data/reference/accelerator/{eyeriss_v2,dstc,scnn,sparten}/"
            "SOURCES.md"}
