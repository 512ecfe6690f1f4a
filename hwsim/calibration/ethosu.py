"""Fit the constants the structural Ethos-U model leaves unknown (``npu_structural`` in
``configs/calibration/mcu.yaml``) on the fitting rows of the Vela op sweep.

    .venv/bin/python -m hwsim.calibration.ethosu           # print the fit
    .venv/bin/python -m hwsim.calibration.ethosu --write   # and rewrite the yaml section

Two fits, log-space least squares (scipy.optimize.least_squares):

* the weight compression (encoded / raw bytes of non-zero and of zero weights) on Vela's
  encoded weight sizes of the four MLPerf Tiny models (``vela_encoded_weights.csv``; no cycle
  figure), with each op's zero-weight fraction from its import comment;
* six cycle constants (softmax per element, per row and fixed; the pooling factor; the fixed
  cost per output block and per op on the MAC array) on Vela's per-layer cycles of the runs
  whose op shape is ``fit`` (``vela_ops_runs.csv`` ``split``), with Vela's encoded weight sizes
  of those models. The held-out shapes are never read here.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from hwsim.engine.mcu.ethosu_layers import StructuralConstants, npu_layer
from hwsim.engine.mcu.ethosu_perf import BIAS_BYTES_PER_CHANNEL
from hwsim.engine.mcu.npu import weight_zero_fractions
from hwsim.mapping.primitives import lower
from hwsim.presets import calibration_path
from hwsim.report.mcu_reference import vela_encoded_weights
from hwsim.validation.mcu_vela_ops import op_runs, predict
from hwsim.workload.load import load_model

FITTED_ON = ("cycle constants: Vela 5.2.0 per-layer cycles of the synthetic single-op sweep, "
             "fitting op shapes only (split=fit: {n} runs of {ops} shapes x U55-128/U55-256/"
             "U65-256 x memory modes), hwsim/data/reference/mcu/vela_ops_runs.csv + "
             "vela_ops_layers.csv; weight ratios: Vela 5.2.0 total_npu_encoded_weights of the "
             "four MLPerf Tiny models x 4 configs, vela_encoded_weights.csv")
SOURCE = ("log-space least squares (hwsim.calibration.ethosu) of the structural model's "
          "per-layer cycles, with Vela's encoded weight sizes; bounds >= 0. Vela 5.2.0 "
          "compiles U55/U65 with its C++ core (regor), whose estimator is not in the wheel's "
          "Python: these constants are where its costs differ from the structure of the "
          "Python estimator (npu_performance.py) that hwsim follows")
INITIAL = StructuralConstants(15.0, 20.0, 500.0, 2.0, 50.0, 200.0, 0.8, 0.2)
CYCLE_FIELDS = 6  # the first six fields; the last two are the weight ratios


def weight_terms(model: str) -> tuple[float, float, float]:
    """(raw non-zero weight bytes, raw zero weight bytes, output channels with weights) of an
    MLPerf Tiny model as the structural model encodes it."""
    m = load_model(f"mlperf-tiny-{model}")
    zeros = weight_zero_fractions(m)
    dense = zero = channels = 0.0
    for op in m.ops:
        for w in lower(op, 1, 1):
            layer = npu_layer(op, w, 0.0, INITIAL)
            if layer is None or not layer.weight_bytes:
                continue
            raw = float(op.weight_bytes // op.dtype_bytes)
            z = zeros.get(op.name, 0.0)
            dense, zero, channels = dense + raw * (1 - z), zero + raw * z, channels + layer.ofm[2]
    return dense, zero, channels


def fit_weights() -> tuple[float, float]:
    """(dense ratio, zero ratio) fitted on Vela's encoded sizes of the MLPerf Tiny models."""
    rows = vela_encoded_weights()
    terms = [weight_terms(r["model"]) for r in rows]
    y = np.log([float(r["total_npu_encoded_weights"]) for r in rows])

    def resid(p: np.ndarray) -> np.ndarray:
        return np.log([d * p[0] + z * p[1] + BIAS_BYTES_PER_CHANNEL * ch
                       for d, z, ch in terms]) - y

    r = least_squares(resid, np.array([0.8, 0.2]), bounds=(1e-3, 2.0))
    return round(float(r.x[0]), 4), round(float(r.x[1]), 4)


def fit() -> tuple[StructuralConstants, int, int]:
    """(constants, runs, op shapes) fitted on the ``fit`` split and the encoded weights."""
    dense, zero = fit_weights()
    runs = [r for r in op_runs() if r.split == "fit"]
    y = np.log([r.vela_layer_cycles for r in runs])

    def resid(p: np.ndarray) -> np.ndarray:
        c = StructuralConstants(*map(float, p), dense, zero)
        return np.log([max(1.0, predict(r, c)) for r in runs]) - y

    x0 = np.array([getattr(INITIAL, f.name) for f in fields(StructuralConstants)][:CYCLE_FIELDS])
    lower = np.array([1e-3, 0.0, 0.0, 0.1, 0.0, 0.0])
    r = least_squares(resid, x0, bounds=(lower, np.inf), x_scale=np.abs(x0) + 1.0)
    values = [round(float(v), 4) for v in r.x]
    return StructuralConstants(*values, dense, zero), len(runs), len({x.op for x in runs})


def write(c: StructuralConstants, runs: int, ops: int, path: Path | None = None) -> None:
    """Rewrite the ``npu_structural`` section (the last one) of the calibration file."""
    path = path or calibration_path("mcu")
    text = path.read_text(encoding="utf-8")
    head = text[:text.index("npu_structural:")]
    body = "".join(f"  {k}: {v}\n" for k, v in asdict(c).items())
    fitted_on = FITTED_ON.format(n=runs, ops=ops)
    path.write_text(f'{head}npu_structural:\n{body}  source: "{SOURCE}"\n'
                    f'  fitted_on: "{fitted_on}"\n', encoding="utf-8")


def main() -> int:
    c, runs, ops = fit()
    print(c, f"({runs} runs, {ops} op shapes)")
    if "--write" in sys.argv[1:]:
        write(c, runs, ops)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
