"""Evaluate a stored digit network on the test split under one sparsity setting, for real.

Returns which test images it classifies correctly (the bootstrap resamples that vector), the
density the setting realises, and what happened on the way (predictor recall, dropped tokens,
heads run per layer). Evaluation is float32 with the stored float32 weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwsim.accuracy.measured_specs import (
    MOE_GROUP_TOKENS,
    AttnSetup,
    LiquidSetup,
    MlpSetup,
    MoeSetup,
    Setup,
)
from hwsim.accuracy.nets import attn, liquid, mlp, moe, predictor
from hwsim.accuracy.nets.core import keep_count, topk_mask
from hwsim.accuracy.nets.data import Split

Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class Evaluation:
    correct: np.ndarray  # bool per test image
    density: float  # realised activation density (family-specific meaning, see docs)
    notes: str
    extra: dict[str, float] = field(default_factory=dict)  # numbers behind the notes


def params(weights: Arrays, prefix: str) -> Arrays:
    return {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}


def block_topk(scores: np.ndarray, density: float, block: int) -> np.ndarray:
    """Top-k mask keeping whole blocks of ``block`` consecutive neurons (by summed score)."""
    if block == 1:
        return topk_mask(scores, keep_count(density, scores.shape[-1]))
    n, width = scores.shape
    sums = scores.reshape(n, width // block, block).sum(axis=-1)
    kept = topk_mask(sums, keep_count(density, width // block))
    return np.repeat(kept, block, axis=-1)


def nm_mask(values: np.ndarray, n: int, m: int) -> np.ndarray:
    """Keep the ``n`` largest-magnitude of every ``m`` consecutive entries of each row."""
    rows, width = values.shape
    groups = np.abs(values).reshape(rows, width // m, m)
    return topk_mask(groups, n).reshape(rows, width)


def eval_mlp(w: Arrays, variant: str, st: MlpSetup, split: Split) -> Evaluation:
    p = params(w, f"{variant}/")
    for layer, nm in enumerate(st.nm_weights, start=1):
        if nm is not None:  # magnitude N:M pruning along each output's inputs (post-hoc)
            p[f"w{layer}"] = p[f"w{layer}"] * nm_mask(p[f"w{layer}"].T, *nm).T
    kept: dict[int, float] = {}
    nonzero: dict[int, float] = {}
    recall: dict[int, float] = {}

    def select(site: int, inp: np.ndarray, act: np.ndarray) -> np.ndarray | None:
        mask = None
        if st.density[site] < 1.0:
            rank = st.rank[site]
            score = predictor.scores(params(p_all, f"pred{site}_r{rank}/"), inp) if rank else act
            mask = block_topk(score, st.density[site], st.block[site])
            if rank:
                oracle = block_topk(act, st.density[site], st.block[site])
                recall[site] = float((mask * oracle).sum() / max(oracle.sum(), 1.0))
        if st.nm_acts[site] is not None:
            nm = nm_mask(act if mask is None else act * mask, *st.nm_acts[site])
            mask = nm if mask is None else mask * nm
        kept[site] = 1.0 if mask is None else float(mask.mean())
        nonzero[site] = float(((act if mask is None else act * mask) != 0).mean())
        return mask

    p_all = params(w, f"{variant}/")
    logits, _ = mlp.forward(p, split.x_test, select)
    density = float(np.mean([nonzero[s] if st.relu[s] and kept[s] == 1.0 else kept[s]
                             for s in (1, 2)]))
    parts = []
    for site, label in ((0, "pixels"), (1, "h1"), (2, "h2")):
        nm = st.nm_acts[site]
        by = (f"rank-{st.rank[site]} predictor (recall {recall[site]:.2f})" if site in recall
              else "oracle top-k" if st.density[site] < 1.0 else "")
        by += (" and " if by and nm else "") + (f"{nm[0]}:{nm[1]} by magnitude" if nm else "")
        how = "all" if kept[site] == 1.0 else f"{kept[site]:.1%} kept by {by}"
        parts.append(f"{label}: {how}, {nonzero[site]:.1%} nonzero")
    pruned = [f"fc{i + 1} {nm[0]}:{nm[1]}" for i, nm in enumerate(st.nm_weights) if nm]
    if pruned:
        parts.append("weights pruned " + ", ".join(pruned))
    extra = {f"h{s}_kept": kept[s] for s in (1, 2)} | {f"h{s}_nonzero": nonzero[s]
                                                         for s in (1, 2)}
    extra |= {f"h{s}_predictor_recall": r for s, r in recall.items()}
    return Evaluation(logits.argmax(axis=1) == split.y_test, density, "; ".join(parts), extra)


def eval_moe(w: Arrays, variant: str, st: MoeSetup, split: Split) -> Evaluation:
    stats = moe.RouteStats()
    routing = moe.Routing(st.top_k, st.capacity_factor, MOE_GROUP_TOKENS)
    logits, cache = moe.forward(params(w, f"{variant}/"), split.x_test, routing, stats)
    load = cache["chosen"].sum(axis=0) / cache["chosen"].sum()
    if st.capacity_factor is None:
        cap = "no capacity limit (no token dropped)"
    else:
        cap = (f"capacity factor {st.capacity_factor:g} per group of {MOE_GROUP_TOKENS} test "
               f"images; dropped {stats.dropped_assignments} of {stats.assignments} expert "
               f"assignments, {stats.dropped_tokens} tokens lost every expert (kept on the "
               "residual)")
    law = (f"; the spec's routing law '{st.routing_law}' is not used (the learned router "
           "decides)" if st.routing_law else "")
    notes = (f"top-{st.top_k} of {moe.EXPERTS} experts; {cap}; busiest expert takes "
             f"{load.max():.0%} of assignments{law}")
    extra = {"assignments": float(stats.assignments),
             "dropped_assignments": float(stats.dropped_assignments),
             "dropped_tokens": float(stats.dropped_tokens), "busiest_expert_share": load.max()}
    return Evaluation(logits.argmax(axis=1) == split.y_test, st.top_k / moe.EXPERTS, notes,
                      {k: float(v) for k, v in extra.items()})


def eval_attn(w: Arrays, variant: str, st: AttnSetup, split: Split) -> Evaluation:
    p = params(w, f"{variant}/")
    sp = attn.calibrate(p, split.x_val, st.keep, st.key_density)
    logits, cache = attn.forward(p, split.x_test, sp)
    run = [float(o.mean()) for o in cache["open"]]
    notes = ("heads run per layer " + ", ".join(f"{r:.0%}" for r in run) + " (target "
             + ", ".join(f"{k:.0%}" for k in st.keep) + f"; gate thresholds calibrated on the "
             f"{split.y_val.size}-image validation split)")
    if any(d < 1.0 for d in st.key_density):
        notes += "; keys per query " + ", ".join(
            f"{attn.key_count(d)}/{attn.TOKENS}" for d in st.key_density)
    density = float(np.mean([r * attn.key_count(d) / attn.TOKENS
                             for r, d in zip(run, st.key_density, strict=True)]))
    extra = {f"layer{i}_heads_run": r for i, r in enumerate(run)}
    return Evaluation(logits.argmax(axis=1) == split.y_test, density, notes, extra)


def eval_liquid(w: Arrays, variant: str, st: LiquidSetup, split: Split) -> Evaluation:
    k = keep_count(st.density, liquid.HIDDEN)
    logits, _ = liquid.forward(params(w, f"{variant}/"), split.x_test, st.density)
    notes = f"{k} of {liquid.HIDDEN} hidden neurons kept per step (top-k by magnitude)"
    return Evaluation(logits.argmax(axis=1) == split.y_test, k / liquid.HIDDEN, notes)


def evaluate(family: str, w: Arrays, variant: str, setup: Setup, split: Split) -> Evaluation:
    run = {"digits-mlp": eval_mlp, "digits-moe": eval_moe, "digits-attn": eval_attn,
           "digits-liquid": eval_liquid}[family]
    return run(w, variant, setup, split)  # type: ignore[operator]
