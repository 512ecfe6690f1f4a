"""Fits GDDR6's sustained streaming efficiency and the eager-op timing overheads of NeuSight's
collector on the Tesla T4 FITTING rows (``neusight_t4_vector_fit.csv``: NeuSight's training-set
collections, disjoint from the held-out test rows; ``make_stream_fit.py``).

Why a GDDR6 constant at all: the presets' ``dram_efficiency`` was fitted once, on the A100's
HBM2e (LLMCompass weight streaming, 0.885), and the GDDR6 cards (L4, T4) borrowed it as an
[assumption]. GDDR's sustained fraction of peak is lower than HBM's (more read/write turnaround
per byte on a 16-bit channel, refresh and bank-group timing; an fp32 ``torch.add`` on the T4
sustains ~75 % of its 320 GB/s in these rows), so the GDDR6 presets take the value fitted here.
One GDDR6 GPU has fitting rows, so leave-one-GPU-out cannot run; the L4 (GDDR6, no fitting row)
is its out-of-GPU test, on the held-out rows.

A row is what ``neusight/Dataset/collect.py`` (``measure_once``) times: CUDA events around one
eager PyTorch call, i.e. the host's dispatch of that op (``eager_<op>_s``, one per op: a
LayerNorm module allocates its output and statistics, softmax and add less) plus the kernel as
the engine costs it (:func:`hwsim.engine.gpu.analytic.op_kernels`) with the candidate
``dram_efficiency``. Kernel components are computed once per row at full efficiency and no
launch cost, then rescaled, so a refit takes well under a second.

Refit and write (``configs/calibration/gpu_stream.yaml`` and the GDDR6 presets'
``dram_efficiency``): ``python -m hwsim.calibration.gddr_stream --write``.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Mapping
from functools import cache
from typing import cast

import yaml

from hwsim.calibration.fit import FitProblem, FitResult, Param, fit
from hwsim.calibration.preset_write import write_dram_efficiency
from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.analytic import op_kernels
from hwsim.hardware.chips import load_chip
from hwsim.presets import calibration_path, reference_dir
from hwsim.workload.builders import LAYERNORM_OPS, SOFTMAX_OPS
from hwsim.workload.ops import VectorOp

FIT_FILE = "neusight_t4_vector_fit.csv"
CALIBRATION = "gpu_stream"
# Presets whose DRAM is GDDR6 (offchip.kind): they take the fitted efficiency.
GDDR6_PRESETS = ("l4", "t4-pcie", "rtx-2080")
OPS = ("add", "layernorm", "softmax")
# NeuSight's stack as chip overrides: eager PyTorch 2.1.0 (its `Torch Version` column), whose
# LayerNorm is ATen's vectorized_layer_norm_kernel (its `Kernel Name` column). (Softmax rows over
# 1024 elements ran the three-read ``cunn_SoftMaxForward``, whose repeat reads mostly hit the L2
# on these GPUs; hwsim does not model that reuse, and the one-read shared-memory path stands in.)
NEUSIGHT_STACK: dict[str, object] = {"norm_kernel": "eager"}
PARAMS = (
    Param("gddr6_dram_efficiency", 0.85, 0.4, 1.0, "fraction of peak DRAM bandwidth",
          "sustained share of a GDDR6 card's peak bandwidth in a streaming kernel"),
    *(Param(f"eager_{op}_s", 2e-5, 0.0, 2e-4, "s",
            f"host dispatch of one eager PyTorch {op} call inside NeuSight's CUDA-event timing")
      for op in OPS),
)


def row_op(row: Mapping[str, object]) -> VectorOp:
    """A NeuSight (B, H) fp32 vector row as one op: add of two tensors, or a row-wise
    layernorm/softmax over H."""
    rows, width, op = int(str(row["rows"])), int(str(row["row_elements"])), str(row["op"])
    if op == "add":
        return VectorOp(name="add", function="elementwise", elements=rows * width,
                        ops_per_element=1.0, inputs_per_element=2.0, dtype="fp32")
    softmax = op == "softmax"
    return VectorOp(name=op, function="softmax" if softmax else "norm", elements=rows * width,
                    ops_per_element=SOFTMAX_OPS if softmax else LAYERNORM_OPS, dtype="fp32",
                    row_elements=width)


@cache
def _bare_chip(preset: str) -> GpuChip:
    # Full DRAM efficiency and no launch: the components predict() rescales. PyTorch 2.1 as
    # NeuSight ran it (NEUSIGHT_STACK).
    return cast(GpuChip, load_chip(preset, NEUSIGHT_STACK | {"dram_efficiency": 1.0,
                                                             "launch_overhead_s": 0.0}))


def read_rows(name: str = FIT_FILE) -> tuple[dict[str, object], ...]:
    """The fitting rows with ``preset``, ``measured`` (s), ``source`` (file:line) and the
    kernel components at full efficiency (``_parts``: compute/L2 seconds, DRAM seconds)."""
    out = []
    with open(reference_dir("gpu") / name, newline="") as fh:
        for i, r in enumerate(csv.DictReader(fh), start=2):
            if r["op"] not in OPS:
                raise ValueError(f"{name}:{i}: op {r['op']!r} is not one of {OPS}")
            costs = op_kernels(row_op(r), 1, _bare_chip(r["preset"]))
            parts = tuple((max(c.compute_s, c.l2_s), c.dram_s) for c in costs)
            out.append(dict(r) | {"measured": float(r["latency_us"]) * 1e-6, "_parts": parts,
                                  "source": f"hwsim/data/reference/gpu/{name}:{i}"})
    return tuple(out)


def predict(values: Mapping[str, float], row: Mapping[str, object]) -> float:
    """Seconds for one row: the eager dispatch plus its kernels at the candidate efficiency."""
    eff = values["gddr6_dram_efficiency"]
    parts = cast(tuple[tuple[float, float], ...], row["_parts"])
    return values[f"eager_{row['op']}_s"] + sum(max(on_chip, dram / eff)
                                               for on_chip, dram in parts)


def problem(rows: tuple[dict[str, object], ...] | None = None) -> FitProblem:
    return FitProblem(name="gddr6_streaming", params=PARAMS,
                      rows=rows if rows is not None else read_rows(), predict=predict)


def fit_stream() -> FitResult:
    """The fit the shipped constants come from."""
    return fit(problem())


@cache
def shipped() -> dict[str, float]:
    """The written constants (``configs/calibration/gpu_stream.yaml``), read once per process
    (every held-out norm row asks for its op's overhead)."""
    doc = yaml.safe_load(calibration_path(CALIBRATION).read_text())
    return {k: float(v["value"]) for k, v in doc["constants"].items()}


def eager_overhead_s(op: str) -> float:
    """The fitted host dispatch of one eager ``op`` (layernorm | softmax | add) in NeuSight's
    CUDA-event timing."""
    return shipped()[f"eager_{op}_s"]


def _write(result: FitResult) -> None:
    where = f"hwsim/data/reference/gpu/{FIT_FILE} ({result.rows} rows: NeuSight training-set " \
            "add, layernorm and softmax on the Tesla T4, fp32, disjoint from the held-out rows)"
    how = ("hwsim.calibration.gddr_stream.fit_stream (scipy least_squares on log(pred/meas), "
           f"soft_l1), jointly; median |error| on the fitted rows {result.median_abs_error:.3f}")
    consts = {p.name: {"value": float(f"{result.values[p.name]:.4g}"), "unit": p.unit,
                       "description": p.description, "status": "fitted", "source": how,
                       "fitted_on": where} for p in PARAMS}
    doc = {"schema_version": 1,
           "description": "GDDR6 sustained streaming efficiency (copied into the GDDR6 presets' "
                          "dram_efficiency) and NeuSight's eager-op timing overheads "
                          "(read by hwsim.validation.gpu_heldout)",
           "constants": consts}
    header = ("# Written by `python -m hwsim.calibration.gddr_stream --write`; do not edit.\n")
    calibration_path(CALIBRATION).write_text(header + yaml.safe_dump(doc, sort_keys=False,
                                                                     width=100))
    write_dram_efficiency(GDDR6_PRESETS, consts["gddr6_dram_efficiency"]["value"])


if __name__ == "__main__":
    res = fit_stream()
    print({k: round(v, 6) for k, v in res.values.items()}, f"median {res.median_abs_error:.4f}")
    if "--write" in sys.argv[1:]:
        _write(res)
