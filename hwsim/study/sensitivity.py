"""Each objective's sensitivity to each parameter, from the evaluated points alone.

Two numbers per (parameter, objective): the Spearman rank correlation over the points (the
direction and monotonicity of the effect; numeric parameters only) and the spread of the
objective's median across the parameter's values (max median / min median: how much choosing
this parameter moves the objective when the others vary as the study sampled them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_POINTS = 3


def sensitivity(df: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """One row per (parameter, metric): spearman, median_spread, levels, points."""
    rows = []
    params = [c for c in df.columns if c.startswith("param.")]
    if "chip" in df.columns and df["chip"].nunique() > 1:
        params.append("chip")
    for var in ("batch", "sparsity", "model"):
        if var in df.columns and df[var].nunique() > 1:
            params.append(var)
    for p in params:
        for m in metrics:
            if m not in df.columns:
                continue
            sub = df[[p, m]].dropna()
            sub = sub[np.isfinite(pd.to_numeric(sub[m], errors="coerce"))]
            if len(sub) < MIN_POINTS or sub[p].nunique() < 2:
                continue
            y = pd.to_numeric(sub[m]).astype(float)
            x = pd.to_numeric(sub[p], errors="coerce")
            rho = None
            if x.notna().all():
                rx, ry = x.rank(), y.rank()
                if rx.std() > 0 and ry.std() > 0:
                    rho = float(np.corrcoef(rx, ry)[0, 1])
            med = y.groupby(sub[p].astype(str)).median()
            spread = (float(med.max() / med.min()) if med.min() > 0 else None)
            rows.append({"parameter": p.removeprefix("param."), "metric": m, "spearman": rho,
                         "median_spread": spread, "levels": int(sub[p].nunique()),
                         "points": len(sub)})
    return pd.DataFrame(rows, columns=["parameter", "metric", "spearman", "median_spread",
                                       "levels", "points"])
