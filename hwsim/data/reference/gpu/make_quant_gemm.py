"""Regenerates this folder's quantised-GEMM CSVs (fp8 W8A8 and int4 weight-only W4A16) from
NVIDIA AIConfigurator's measured GEMM tables (see SOURCES.md).

Not run at test or run time: hwsim reads only the CSVs. Needs the unpacked aiconfigurator-core
0.12.0 wheel from PyPI (``pip download --no-deps aiconfigurator-core==0.12.0``, then unzip):

    python make_quant_gemm.py AICONFIGURATOR_CORE_DIR

Split rule, fixed before any row was simulated: a shape (m, n, k) is a *fitting* shape when the
first byte of sha256("m,n,k") is divisible by 4, else held out; each file then keeps a seeded
sample (``make_heldout.SEED``, salted per GPU and split) of its split. The split depends only on
the shape, never on how well hwsim does; nothing has been fitted on the ``_fit`` files.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pandas as pd
from make_heldout import AIC_PKG, _sample, _write

HEADER = ["gpu", "preset", "m", "n", "k", "dtype", "latency_us", "kernel", "framework",
          "source"]
ROWS_PER_GPU = 40
# The fp8 fitting files hold more rows than the held-out ones (a superset of the first 40 from the
# same seed): the vLLM 0.24 collector's fp8 constants are fitted on kernels of every size and CTA
# count, not on 40 per GPU (docs/gpu.md, "fp8 outputs and tiles").
FP8_FIT_ROWS_PER_GPU = 300
FIT_MODULUS = 4
# (system folder, framework folder, version, AIConfigurator gemm_dtype, hwsim preset, hwsim
# dtype, output stem). fp8: vLLM's per-tensor FP8 GEMM (CutlassFP8ScaledMMLinearKernel) on the
# Hopper presets; int4: TensorRT-LLM's weight-only int4 plugin, the only W4A16 table in the
# wheel (A100 SXM).
TABLES = (("h100_sxm", "vllm", "0.24.0", "fp8", "h100-sxm", "fp8", "aiconfigurator_fp8_gemm"),
          ("h200_sxm", "vllm", "0.24.0", "fp8", "h200-sxm", "fp8", "aiconfigurator_fp8_gemm"),
          ("a100_sxm", "trtllm", "1.0.0", "int4_wo", "a100-sxm-80gb", "int4",
           "aiconfigurator_w4a16_gemm"))


def is_fit_shape(m: int, n: int, k: int) -> bool:
    """The fixed split rule of the module docstring."""
    return hashlib.sha256(f"{m},{n},{k}".encode()).digest()[0] % FIT_MODULUS == 0


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit(__doc__)
    pkg = Path(argv[0])
    out: dict[str, list[list]] = {}
    for system, fw, version, aic_dtype, preset, dtype, stem in TABLES:
        path = f"aiconfigurator_core/systems/data/{system}/gemm/{fw}/{version}/gemm_perf.parquet"
        df = pd.read_parquet(pkg / path)
        df = df[df.gemm_dtype == aic_dtype].drop_duplicates(["m", "n", "k"])
        rows = list(df.itertuples(index=False))
        for split, suffix in ((False, ""), (True, "_fit")):
            mine = [r for r in rows if is_fit_shape(r.m, r.n, r.k) == split]
            n = FP8_FIT_ROWS_PER_GPU if split and dtype == "fp8" else ROWS_PER_GPU
            picked = _sample(mine, n, f"{system}:{aic_dtype}:{suffix or 'heldout'}")
            out.setdefault(stem + suffix, []).extend(
                [r.device, preset, r.m, r.n, r.k, dtype, f"{r.latency * 1e3:.4f}",
                 r.kernel_source[:60], f"{r.framework} {r.version}", f"{AIC_PKG}:{path}"]
                for r in sorted(picked, key=lambda r: (r.m, r.n, r.k)))
    for name, rows_out in out.items():
        _write(f"{name}.csv", HEADER, rows_out)


if __name__ == "__main__":
    main(sys.argv[1:])
