"""Checks the sm80 split-K choice on every row of AIConfigurator's A100 SXM vLLM 0.14 bf16 GEMM
table that no held-out file holds (fitting side only; docs/gpu.md, "The A100 collector").

Not run at test or run time (it needs the unpacked aiconfigurator-core 0.12.0 wheel from PyPI):

    python a100_table_check.py AICONFIGURATOR_CORE_DIR              # as shipped
    python a100_table_check.py --in-kernel AICONFIGURATOR_CORE_DIR  # the alternative

For each way the sm80 tensor path can run split-K - cuBLAS's separate reduction kernel (shipped)
or the last K slice reducing in-kernel - it refits the constants the A100 table's fitting rows
set (``hwsim.calibration.gpu_gemm.refit``: the board's streaming share, the sm80 fill and the
collector's per-kernel time) and prints the median, mean and p90 |error| over the whole table
with held-out shapes removed, and the median signed error per band of measured time. The
200-row fitting sample alone cannot tell the two apart (a few per cent either way with the
sample); the whole table can.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
from make_hbm_stream_fit import A100_SYSTEM, A100_VERSION, _heldout_shapes
from make_heldout import _aic_path

from hwsim.calibration import gpu_gemm
from hwsim.engine.gpu import math_paths
from hwsim.engine.gpu.gemm_constants import gemm_constants, use_gemm_constants
from hwsim.validation.aiconfigurator import aic_gemm_s

PRESET = "a100-sxm-80gb"
BANDS_S = (0, 4e-6, 8e-6, 16e-6, 32e-6, 64e-6, 128e-6, 1e-3, 1.0)


def _table(pkg: Path) -> pd.DataFrame:
    df = pd.read_parquet(pkg / _aic_path(A100_SYSTEM, A100_VERSION, "gemm", "gemm_perf"))
    df = df[df.gemm_dtype == "bfloat16"].drop_duplicates(["m", "n", "k"])
    held = _heldout_shapes(PRESET)
    return df[[(int(r.m), int(r.n), int(r.k)) not in held for r in df.itertuples()]]


def _errors(df: pd.DataFrame) -> np.ndarray:
    simt, stream, tensor = gpu_gemm.refit()
    consts = dataclasses.replace(gemm_constants(), **simt.values, **stream.values,
                                 **tensor.values)
    print(f"  refitted: {stream.values | tensor.values}")
    with use_gemm_constants(consts):
        pred = np.array([aic_gemm_s({"m": r.m, "n": r.n, "k": r.k, "dtype": "bf16",
                                     "preset": PRESET, "framework": f"vLLM {A100_VERSION}"})
                         for r in df.itertuples()])
    return pred / (df.latency.to_numpy() * 1e-3) - 1.0


def _report(label: str, df: pd.DataFrame, err: np.ndarray) -> None:
    bands = pd.Series(err).groupby(pd.cut(df.latency.to_numpy() * 1e-3, BANDS_S)).median()
    print(f"{label}: {len(err)} rows, median |error| {np.median(abs(err)):.4f}, mean "
          f"{np.mean(abs(err)):.4f}, p90 {np.quantile(abs(err), 0.9):.3f}")
    print("  signed median per band: " + ", ".join(
        f"{iv.left * 1e6:g}-{iv.right * 1e6:g} us {v:+.2f}" for iv, v in bands.items()))


def main(pkg: Path, in_kernel: bool) -> None:
    df = _table(pkg)
    if not in_kernel:
        _report("cuBLAS reduction kernel (shipped)", df, _errors(df))
        return
    real = math_paths.MathPath

    def patched(*args: object, **kw: object) -> object:
        # sm80 (the one family with a serial epilogue) reduces in-kernel; sm90/sm100 unchanged.
        if "split_k_reduce_kernel" in kw:
            kw["split_k_reduce_kernel"] = not kw.get("serial_epilogue", False)
        return real(*args, **kw)

    with mock.patch.object(math_paths, "MathPath", patched):
        _report("in-kernel split-K reduction on sm80", df, _errors(df))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--in-kernel"]
    if len(args) != 1:
        sys.exit(__doc__)
    main(Path(args[0]), "--in-kernel" in sys.argv)
