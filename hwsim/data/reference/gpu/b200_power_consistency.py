"""Prints what the B200's whole vLLM 0.22 AIConfigurator tables say about their ``power``
column (docs/gpu.md, "Kernel power"): how well same-shape repeats agree, what kernels
streaming >= 6 TB/s read, and how the readings follow the share of each reading the kernel
can be (``hwsim.validation.nvml_sampling.kernel_weight``: the collector polls NVML's one-second
average every 100 ms while it replays the kernel). Writes nothing; not run at test or run time.
Needs the unpacked aiconfigurator-core 0.12.0 wheel (as ``make_kernel_power.py``) and hwsim:

    python b200_power_consistency.py AICONFIGURATOR_CORE_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from make_heldout import _aic_path
from make_kernel_power import SYSTEM, VERSION

from hwsim.validation.nvml_sampling import kernel_weight

MOE_KEY = ("moe_dtype", "num_tokens", "hidden_size", "inter_size", "topk", "num_experts",
           "moe_tp_size", "moe_ep_size")
MOE_BYTES = {"bfloat16": 2.0, "float16": 2.0, "fp8": 1.0, "fp8_block": 1.0}


def main(pkg: Path) -> None:
    """Prints what the whole B200 tables say about their power column (docs/gpu.md, "Kernel
    power"); writes nothing. (1) Repeatability: MoE rows of one shape and token count that differ
    only in the routing distribution and whose latencies agree within 2 %, compared pairwise.
    (2) Power against HBM traffic: the lowest power read for a kernel streaming >= 6 TB/s, from
    the decode-attention KV bytes (bf16) and the balanced-routing MoE rows' expert weights with
    every expert touched (tokens x top-k >= experts, so all gate/up/down weights stream)."""
    moe = pd.read_parquet(pkg / _aic_path(SYSTEM, VERSION, "moe", "moe_perf"))
    diffs = []
    for _, g in moe.groupby(list(MOE_KEY)):
        lat, pw = g.latency.to_numpy(), g.power.to_numpy()
        diffs += [abs(pw[i] / pw[j] - 1) for i in range(len(g)) for j in range(i + 1, len(g))
                  if abs(lat[i] / lat[j] - 1) < 0.02]
    print(f"repeatability: {len(diffs)} same-shape MoE pairs (latency within 2 %), power "
          f"differs by {pd.Series(diffs).median():.1%} median, "
          f"{pd.Series(diffs).quantile(0.75):.1%} p75")
    full = moe[(moe.distribution == "balanced") & (moe.num_tokens * moe.topk >= moe.num_experts)
               & (moe.moe_tp_size == 1) & (moe.moe_ep_size == 1)
               & moe.moe_dtype.isin(list(MOE_BYTES))]
    weight_b = (3 * full.hidden_size * full.inter_size * full.num_experts
                * full.moe_dtype.map(MOE_BYTES))
    moe_tbps = weight_b / (full.latency * 1e-3) / 1e12
    gen = pd.read_parquet(pkg / _aic_path(SYSTEM, VERSION, "attention",
                                          "generation_attention_perf"))
    gen = gen[(gen.kv_cache_dtype == "bfloat16") & (gen.window_size == 0)]
    kv_b = gen.batch_size * gen.num_key_value_heads * gen.head_dim * gen.step * 2 * 2
    gen_tbps = kv_b / (gen.latency * 1e-3) / 1e12
    for name, tbps, pw in (("MoE expert weights", moe_tbps, full.power),
                           ("decode-attention KV", gen_tbps, gen.power)):
        fast = pw[tbps >= 6.0]
        print(f"{name}: {len(fast)} rows at >= 6 TB/s read {fast.min():.0f}-{fast.max():.0f} W "
              f"(median {fast.median():.0f} W); the tables' lowest reading is "
              f"{min(moe.power.min(), gen.power.min()):.0f} W")
    _by_weight(gen[gen_tbps >= 6.0], "decode attention at >= 6 TB/s")
    ctx = pd.read_parquet(pkg / _aic_path(SYSTEM, VERSION, "attention", "context_attention_perf"))
    _by_weight(ctx, "context attention, every row")
    _by_weight(moe[moe.distribution == "balanced"], "MoE, balanced routing")
    for table, name in ((gen, "decode attention"), (ctx, "context attention"), (moe, "MoE")):
        _repeats(table, name)


def _by_weight(df: pd.DataFrame, name: str) -> None:
    """Median reading per kernel weight (the share of each reading that can be the kernel),
    and a least-squares line through the readings against the weight."""
    weight = df.latency.map(lambda ms: kernel_weight(ms * 1e-3))
    print(f"{name}: {len(df)} rows")
    for lo, hi in ((0.0, 0.0), (1e-9, 0.2), (0.2, 0.45), (0.45, 0.55), (0.55, 1.0)):
        sel = df.power[(weight >= lo) & (weight <= hi)]
        if len(sel):
            print(f"  kernel weight {lo:.2f}-{hi:.2f}: {len(sel)} rows, power median "
                  f"{sel.median():.0f} W (p25 {sel.quantile(0.25):.0f}, p75 "
                  f"{sel.quantile(0.75):.0f})")
    slope, intercept = _line(weight.to_numpy(), df.power.to_numpy())
    print(f"  line: {intercept:.0f} W at weight 0, {intercept + slope:.0f} W extrapolated to 1")


def _repeats(df: pd.DataFrame, name: str) -> None:
    """How often a row carries the very reading of a row stored within five of it: a weight-0
    reading is one poll of a sensor that updates more slowly than rows finish."""
    weight = df.latency.map(lambda ms: kernel_weight(ms * 1e-3))
    power = df.power.to_numpy()
    repeats = [any(power[j] == power[i] for j in range(max(0, i - 5), min(len(power), i + 6))
                   if j != i) for i in range(len(power))]
    for label, sel in (("weight 0", weight.to_numpy() == 0.0),
                       ("weight >= 0.5", weight.to_numpy() >= 0.5 - 1e-9)):
        picked = [r for r, keep in zip(repeats, sel, strict=True) if keep]
        if picked:
            print(f"  {name}, {label}: {sum(picked) / len(picked):.1%} of rows repeat the "
                  f"reading of a row stored within 5 of it, to the milliwatt")


def _line(x, y) -> tuple[float, float]:
    """(slope, intercept) of the least-squares line through (x, y)."""
    mx, my = x.mean(), y.mean()
    slope = ((x - mx) * (y - my)).sum() / ((x - mx) ** 2).sum()
    return float(slope), float(my - slope * mx)



if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]))
