"""Regenerates the FITTING CSVs of this folder for the attention and norm kernel constants (see
SOURCES.md: every row here is "fitted"; none is held out).

Not run at test or run time: hwsim reads only the CSVs. Needs the same inputs as
``make_heldout.py`` (a NeuSight checkout or bare clone, the unpacked aiconfigurator-core 0.12.0
wheel):

    python make_fit.py NEUSIGHT_GIT_DIR AICONFIGURATOR_CORE_DIR

The AIConfigurator sample is drawn from the same filtered tables as the held-out one
(``make_heldout.aic_attention``), with the held-out rows removed first, so the two are disjoint;
the NeuSight rows are the ln/softmax test rows of GPUs that have no held-out role (the A100 PCIe
40GB and V100 PCIe 32GB cards, presets ``a100-pcie-40gb`` and ``v100-pcie-32gb``). Seeded
(``make_heldout.SEED`` with a ``fit:`` salt); no row is picked by how well hwsim does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from make_heldout import (
    AIC_ATTN_KEY,
    AIC_PKG,
    AIC_SYSTEMS,
    ATTN_HEADER,
    ATTN_PER_PHASE,
    HERE,
    NORM_HEADER,
    NORM_OPS,
    _sample,
    _write,
    aic_attention_seq,
    aic_attention_table,
    neusight_norm_table,
    norm_row,
)

NEUSIGHT_FIT_DEVICES = {"NVIDIA A100-PCIE-40GB": "a100-pcie-40gb",
                        "Tesla V100-PCIE-32GB": "v100-pcie-32gb"}
NORM_FIT_PER_GPU = 30
ATTN_FIT_PER_PHASE = 40
KEY = AIC_ATTN_KEY


def _heldout_keys(system: str, phase: str, df: pd.DataFrame) -> set[tuple]:
    """The rows make_heldout.aic_attention drew for this table (same filter, seed and salt)."""
    rows = list(df.itertuples(index=False))
    picked = _sample(rows, ATTN_PER_PHASE, f"{system}:{phase}")
    return {tuple(getattr(r, k) for k in KEY) for r in picked}


def aic_attention_fit(pkg: Path) -> None:
    out: list[list] = []
    for system, (preset, version, _) in AIC_SYSTEMS.items():
        for phase in ("context", "generation"):
            path, df = aic_attention_table(pkg, system, version, phase)
            held = _heldout_keys(system, phase, df)
            rows = [r for r in df.itertuples(index=False)
                    if tuple(getattr(r, k) for k in KEY) not in held]
            for r in _sample(rows, ATTN_FIT_PER_PHASE, f"fit:{system}:{phase}"):
                seq_q, seq_kv = aic_attention_seq(phase, r.isl, r.step)
                out.append([r.device, preset, phase, r.batch_size, seq_q, seq_kv, r.num_heads,
                            r.num_key_value_heads, r.head_dim, "true", "bf16",
                            f"{r.latency * 1e3:.4f}", r.kernel_source, f"vLLM {r.version}",
                            f"{AIC_PKG}:{path}"])
    _write("aiconfigurator_attention_fit.csv", ATTN_HEADER, out)


def neusight_norm_fit(repo: Path) -> None:
    out: list[list] = []
    for op in NORM_OPS:
        path, rows = neusight_norm_table(repo, op)
        for device, preset in NEUSIGHT_FIT_DEVICES.items():
            mine = [r for r in rows if r["Device"] == device]
            for r in _sample(mine, NORM_FIT_PER_GPU, f"fit:{op}:{device}"):
                out.append(norm_row(device, preset, op, r, path))
    _write("neusight_norm_fit.csv", NORM_HEADER, out)


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit(__doc__)
    neusight_norm_fit(Path(argv[0]))
    aic_attention_fit(Path(argv[1]))


if __name__ == "__main__":
    assert HERE.is_dir()
    main(sys.argv[1:])
