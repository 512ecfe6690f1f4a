"""Regenerates ``aiconfigurator_b200_{attention,moe}_power.csv``: HELD-OUT per-kernel power rows
(SOURCES.md), the one public table of measured GPU power per kernel shape found for issue 17;
and ``aiconfigurator_b200_attention_fit.csv``, a FITTING sample of the same attention tables with
the held-out rows removed first (``FIT_PER_PHASE`` per phase, salt ``fit:``), so the two are
disjoint.

Not run at test or run time: hwsim reads only the CSV. Needs the unpacked aiconfigurator-core
0.12.0 wheel from PyPI (``pip download --no-deps aiconfigurator-core==0.12.0``, then unzip):

    python make_kernel_power.py AICONFIGURATOR_CORE_DIR

The B200's vLLM 0.22.0 attention tables carry ``power`` (W) and ``power_limit`` (W) beside
``latency`` (ms); no other GPU's tables in the wheel have a power column. Rows are filtered as
the held-out attention files are (bf16 math and KV cache, no window, one row per shape), to
vLLM's FlashInfer backend (the tables' other source is Triton), then a seeded sample
(``make_heldout.SEED``, salted per phase) of ``PER_PHASE`` rows per phase. No row is picked by
how well hwsim does, and no constant is fitted on any of them.

The B200's vLLM 0.22.0 MoE table carries the same columns; its rows are filtered as
``make_moe.py`` filters the held-out MoE files (bf16, no tensor or expert parallelism, the
balanced distribution, one row per shape) and ``MOE_ROWS`` are sampled the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from make_heldout import (
    AIC_ATTN_KEY,
    AIC_PKG,
    ATTN_HEADER,
    _aic_path,
    _sample,
    _write,
    aic_attention_seq,
)
from make_moe import HEADER as MOE_HEADER
from make_moe import moe_row, moe_table, sample

SYSTEM, PRESET, VERSION = "b200_sxm", "b200-sxm", "0.22.0"
KERNEL = "vllm_flashinfer"
PER_PHASE = 30
OUT = "aiconfigurator_b200_attention_power.csv"
MOE_OUT = "aiconfigurator_b200_moe_power.csv"
MOE_ROWS = 40
FIT_OUT = "aiconfigurator_b200_attention_fit.csv"
FIT_PER_PHASE = 40


def _attention_rows(pkg: Path, phase: str) -> tuple[str, list]:
    """(path, rows) of the B200 table of ``phase``, filtered as the held-out attention files."""
    path = _aic_path(SYSTEM, VERSION, "attention", f"{phase}_attention_perf")
    df = pd.read_parquet(pkg / path)
    keep = (df.kv_cache_dtype == "bfloat16") & (df.attn_dtype == "bfloat16")
    keep &= (df.kernel_source == KERNEL) & (df.window_size == 0)
    return path, list(df[keep].drop_duplicates(list(AIC_ATTN_KEY)).itertuples(index=False))


def _attention_row(r, phase: str, path: str) -> list:
    seq_q, seq_kv = aic_attention_seq(phase, r.isl, r.step)
    return [r.device, PRESET, phase, r.batch_size, seq_q, seq_kv, r.num_heads,
            r.num_key_value_heads, r.head_dim, "true", "bf16", f"{r.latency * 1e3:.4f}",
            r.kernel_source, f"vLLM {r.version}", f"{AIC_PKG}:{path}", f"{r.power:.2f}",
            f"{r.power_limit:.0f}"]


def b200_attention_power(pkg: Path) -> None:
    """The held-out rows, and a FITTING sample of the same tables with them removed first."""
    held_out: list[list] = []
    fitting: list[list] = []
    for phase in ("context", "generation"):
        path, rows = _attention_rows(pkg, phase)
        picked = _sample(rows, PER_PHASE, f"power:{SYSTEM}:{phase}")
        held_out += [_attention_row(r, phase, path) for r in picked]
        held = {tuple(getattr(r, k) for k in AIC_ATTN_KEY) for r in picked}
        rest = [r for r in rows if tuple(getattr(r, k) for k in AIC_ATTN_KEY) not in held]
        fitting += [_attention_row(r, phase, path)
                    for r in _sample(rest, FIT_PER_PHASE, f"fit:{SYSTEM}:{phase}")]
    header = [*ATTN_HEADER, "power_w", "power_limit_w"]
    _write(OUT, header, held_out)
    _write(FIT_OUT, header, fitting)


def b200_moe_power(pkg: Path) -> None:
    path, rows = moe_table(pkg, SYSTEM, VERSION)
    out = [[*moe_row(r, PRESET, path), f"{r.power:.2f}", f"{r.power_limit:.0f}"]
           for r in sample(rows, MOE_ROWS, f"power:{SYSTEM}:moe")]
    _write(MOE_OUT, [*MOE_HEADER, "power_w", "power_limit_w"], out)


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit(__doc__)
    b200_attention_power(Path(argv[0]))
    b200_moe_power(Path(argv[0]))


if __name__ == "__main__":
    main(sys.argv[1:])
