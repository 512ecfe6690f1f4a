"""SCNN (Parashar et al., ISCA 2017) per layer against ``scnn-like``: part of
``hwsim validate sparse-accel``.

The published figures (Fig. 1 densities, Fig. 9 speedups, Fig. 11 energies of AlexNet and VGGNet,
read from the paper's vector charts: hwsim/data/reference/accelerator/scnn/SOURCES.md) are all
held out. hwsim runs each layer of ``alexnet-conv`` / ``vgg16-conv`` on ``scnn-like`` at batch 1
with the row's activation and weight densities, and against the same chip running dense (the
counterpart of the paper's DCNN: same 1,024 multipliers); GoogLeNet's inception modules 3a
and 5b (the two whose sublayer densities Fig. 1b gives) as the sums of their six convolutions.
Three metrics per layer:

- ``speedup_vs_dense``: dense / sparse compute cycles (the paper hides DRAM behind compute);
- ``fraction_of_oracle``: ideal sparse cycles (useful multiplies / 1,024) / sparse cycles,
  published as SCNN's bar over SCNN (oracle)'s, so the DCNN baseline cancels;
- ``energy_vs_dense``: sparse / dense energy (off-chip included on both sides).
"""

from __future__ import annotations

import csv
from functools import cache
from typing import Any

from hwsim.config.sparsity import ReluSpec
from hwsim.engine.result import Result
from hwsim.engine.simulate import simulate
from hwsim.hardware.chips import load_chip
from hwsim.presets import reference_dir
from hwsim.workload.load import conv2d

CSV_NAME = "parashar2017_fig1_fig9_fig11.csv"
GOOGLENET_CSV = "parashar2017_googlenet_fig1b_sublayers.csv"
PRESET = "scnn-like"
SOURCE = "Parashar et al., ISCA 2017, Fig. 1/9/11 (vector charts read from the PDF)"
UNITS = {"speedup_vs_dense": "x (dense / sparse cycles)",
         "fraction_of_oracle": "ideal sparse / sparse cycles",
         "energy_vs_dense": "sparse / dense energy"}


def read_rows(name: str = CSV_NAME) -> list[dict[str, str]]:
    """A reference CSV's rows as strings (the main one: per-layer rows, GoogLeNet's per-module
    rows and the networks' ``all`` rows)."""
    with (reference_dir("accelerator/scnn") / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@cache
def _runs(model: str) -> tuple[Result, Result, tuple[dict[str, str], ...]]:
    """``model`` on scnn-like dense and with the paper's per-layer densities."""
    layers = tuple(r for r in read_rows() if r["hwsim_model"] == model and r["layer"] != "all")
    chip = load_chip(PRESET)
    sparsity = [(r["hwsim_op"], ReluSpec(density=float(r["iact_density"]),
                                         weight_density=float(r["weight_density"])))
                for r in layers]
    return (simulate(model, chip, batch=1, fidelity="analytic"),
            simulate(model, chip, batch=1, sparsity=sparsity, fidelity="analytic"), layers)


def _multipliers() -> int:
    chip = load_chip(PRESET)
    return chip.array.rows * chip.array.cols


def layer_figures(model: str) -> list[dict[str, Any]]:
    """Per layer of ``model``: the published and the hwsim value of each metric."""
    dense, sparse, layers = _runs(model)
    d_ops = {o.name: o for o in dense.ops}
    s_ops = {o.name: o for o in sparse.ops}
    out = []
    for r in layers:
        d, s = d_ops[r["hwsim_op"]], s_ops[r["hwsim_op"]]
        d_a, d_w = float(r["iact_density"]), float(r["weight_density"])
        ideal = d.macs * d_a * d_w / _multipliers()
        published = {"speedup_vs_dense": float(r["speedup_scnn"]),
                     "fraction_of_oracle": float(r["speedup_scnn"])
                     / float(r["speedup_scnn_oracle"]),
                     "energy_vs_dense": float(r["energy_scnn"])}
        hwsim = {"speedup_vs_dense": d.compute_cycles / s.compute_cycles,
                 "fraction_of_oracle": ideal / s.compute_cycles,
                 "energy_vs_dense": s.energy_j / d.energy_j}
        out.append({"network": r["network"], "model": model, "layer": r["layer"],
                    "iact_density": d_a, "weight_density": d_w, "published": published,
                    "hwsim": hwsim, "held_out": r["split"] == "held_out"})
    return out


def _sublayer_run(sub: dict[str, str]) -> tuple[Any, Any]:
    """One GoogLeNet inception sublayer on scnn-like, dense and with its Fig. 1b densities."""
    model = conv2d(int(sub["h"]), int(sub["w"]), int(sub["c"]), int(sub["k"]), int(sub["r"]),
                   int(sub["s"]), padding=int(sub["padding"]), name=sub["sublayer"])
    chip = load_chip(PRESET)
    spec = ReluSpec(density=float(sub["iact_density"]),
                    weight_density=float(sub["weight_density"]))
    dense = simulate(model, chip, batch=1, fidelity="analytic").ops[0]
    sparse = simulate(model, chip, batch=1, sparsity=[(sub["sublayer"], spec)],
                      fidelity="analytic").ops[0]
    return dense, sparse


def googlenet_figures() -> list[dict[str, Any]]:
    """The inception modules whose sublayer densities Fig. 1b gives (IC_3a, IC_5b): each module
    is the sum of its six convolutions (shapes from BVLC's GoogLeNet, SOURCES.md)."""
    published = {r["layer"]: r for r in read_rows() if r["network"] == "googlenet"}
    subs = read_rows(GOOGLENET_CSV)
    out = []
    for module in dict.fromkeys(r["module"] for r in subs):
        runs = [(sub, *_sublayer_run(sub)) for sub in subs if sub["module"] == module]
        dense_cc = sum(d.compute_cycles for _, d, _ in runs)
        sparse_cc = sum(s.compute_cycles for _, _, s in runs)
        ideal = sum(d.macs * float(sub["iact_density"]) * float(sub["weight_density"])
                    for sub, d, _ in runs) / _multipliers()
        pub = published[module]
        out.append({"network": "googlenet", "model": "bvlc-googlenet inception", "layer": module,
                    # the module's MAC-weighted mean densities, for display only
                    "iact_density": sum(d.macs * float(sub["iact_density"]) for sub, d, _ in runs)
                    / sum(d.macs for _, d, _ in runs),
                    "weight_density": sum(d.macs * float(sub["weight_density"])
                                          for sub, d, _ in runs) / sum(d.macs for _, d, _ in runs),
                    "published": {"speedup_vs_dense": float(pub["speedup_scnn"]),
                                  "fraction_of_oracle": float(pub["speedup_scnn"])
                                  / float(pub["speedup_scnn_oracle"]),
                                  "energy_vs_dense": float(pub["energy_scnn"])},
                    "hwsim": {"speedup_vs_dense": dense_cc / sparse_cc,
                              "fraction_of_oracle": ideal / sparse_cc,
                              "energy_vs_dense": sum(s.energy_j for _, _, s in runs)
                              / sum(d.energy_j for _, d, _ in runs)},
                    "held_out": pub["split"] == "held_out"
                    and all(sub["split"] == "held_out" for sub, _, _ in runs)})
    return out


def network_figures() -> list[dict[str, Any]]:
    """The networks' bars (``all``): published, and hwsim's summed over the layers."""
    out = []
    for r in (r for r in read_rows() if r["layer"] == "all" and r["hwsim_model"]):
        dense, sparse, _ = _runs(r["hwsim_model"])
        hw_speedup = (sum(o.compute_cycles for o in dense.ops)
                      / sum(o.compute_cycles for o in sparse.ops))
        hw_energy = sparse.total.energy_j / dense.total.energy_j
        out.append({"network": r["network"], "model": r["hwsim_model"],
                    "speedup_vs_dense": {"published": float(r["speedup_scnn"]),
                                         "hwsim": hw_speedup},
                    "energy_vs_dense": {"published": float(r["energy_scnn"]),
                                        "hwsim": hw_energy}})
    return out


def scnn_rows(row_type: Any) -> list[Any]:
    """One ``row_type`` (sparse_accel.Row) per layer and metric, all held out."""
    rows = []
    layers = layer_figures("alexnet-conv") + layer_figures("vgg16-conv") + googlenet_figures()
    for lay in layers:
        for metric, unit in UNITS.items():
            rows.append(row_type("scnn", PRESET, lay["network"], lay["layer"], metric,
                                 lay["iact_density"], lay["weight_density"],
                                 lay["published"][metric], lay["hwsim"][metric], None,
                                 SOURCE, lay["held_out"], unit))
    return rows
