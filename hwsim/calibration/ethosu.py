"""Fit the constants the structural Ethos-U model leaves unknown (``npu_structural`` in
``configs/calibration/mcu.yaml``) on the fitting rows of the Vela op sweep.

    .venv/bin/python -m hwsim.calibration.ethosu           # print the fit
    .venv/bin/python -m hwsim.calibration.ethosu --write   # and rewrite the yaml section

Log-space least squares (scipy.optimize.least_squares) of hwsim's per-layer cycles against
Vela 5.2.0's on the runs whose op shape is ``fit`` (``vela_ops_runs.csv`` ``split``): the
held-out shapes are never read here. Six constants: softmax per element, per row and fixed;
the pooling factor; the fixed cost per output block and per op on the MAC array.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from hwsim.engine.mcu.ethosu_layers import StructuralConstants
from hwsim.presets import calibration_path
from hwsim.validation.mcu_vela_ops import op_runs, predict

FITTED_ON = ("Vela 5.2.0 per-layer cycles of the synthetic single-op sweep, fitting op shapes "
             "only (split=fit: {n} runs of {ops} shapes x U55-128/U55-256/U65-256 x memory "
             "modes), hwsim/data/reference/mcu/vela_ops_runs.csv + vela_ops_layers.csv")
SOURCE = ("log-space least squares (hwsim.calibration.ethosu) of the structural model's "
          "per-layer cycles, with Vela's encoded weight sizes; bounds >= 0. Vela 5.2.0 "
          "compiles U55/U65 with its C++ core (regor), whose estimator is not in the wheel's "
          "Python: these constants are where its costs differ from the structure of the "
          "Python estimator (npu_performance.py) that hwsim follows")
INITIAL = StructuralConstants(15.0, 20.0, 500.0, 2.0, 50.0, 200.0)


def fit() -> tuple[StructuralConstants, int, int]:
    """(constants, runs, op shapes) fitted on the ``fit`` split."""
    runs = [r for r in op_runs() if r.split == "fit"]
    y = np.log([r.vela_layer_cycles for r in runs])

    def resid(p: np.ndarray) -> np.ndarray:
        c = StructuralConstants(*map(float, p))
        return np.log([max(1.0, predict(r, c)) for r in runs]) - y

    x0 = np.array([getattr(INITIAL, f.name) for f in fields(StructuralConstants)])
    lower = np.array([1e-3, 0.0, 0.0, 0.1, 0.0, 0.0])
    r = least_squares(resid, x0, bounds=(lower, np.inf), x_scale=np.abs(x0) + 1.0)
    values = [round(float(v), 4) for v in r.x]
    return StructuralConstants(*values), len(runs), len({x.op for x in runs})


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
