"""digits-moe: an MoE MLP - fc_in (64->64, ReLU), a learned router over 8 expert FFNs
(64->128->64, ReLU) added to a residual, and a classifier (64->10).

Each test image is one token. Training routes every token to its top-2 experts with no capacity
limit (gates = router softmax renormalised over the chosen experts) plus the Switch Transformer
load-balancing loss (Fedus et al., JMLR 2022, eq. 4). Evaluation routes to the top-k of the
MoE spec and enforces expert capacity per group of tokens routed together (GShard, Lepikhin et
al. 2021: capacity = ceil(capacity_factor * group * k / experts); first choices claim slots
before second choices, in token order). A token's assignment over capacity is dropped: that
expert adds nothing and the token continues on the residual.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.accuracy.nets.core import TRAIN_DTYPE, Adam, Params, batches, dense_init, softmax, xent

D_MODEL, D_FF, EXPERTS, TRAIN_TOP_K = 64, 128, 8, 2
EPOCHS, BATCH, LR, AUX_WEIGHT = 40, 32, 1e-3, 0.01


@dataclass(frozen=True)
class Routing:
    top_k: int
    capacity_factor: float | None  # None: unlimited (training)
    group: int = 64  # tokens routed together; capacity is per group


@dataclass
class RouteStats:
    assignments: int = 0
    dropped_assignments: int = 0
    dropped_tokens: int = 0  # tokens all of whose assignments were dropped


def init(rng: np.random.Generator) -> Params:
    return {"w_in": dense_init(rng, 64, D_MODEL), "b_in": np.zeros(D_MODEL),
            "w_r": dense_init(rng, D_MODEL, EXPERTS, gain=0.1),
            "e_w1": np.stack([dense_init(rng, D_MODEL, D_FF) for _ in range(EXPERTS)]),
            "e_b1": np.zeros((EXPERTS, D_FF)),
            "e_w2": np.stack([dense_init(rng, D_FF, D_MODEL, gain=1.0) for _ in range(EXPERTS)]),
            "e_b2": np.zeros((EXPERTS, D_MODEL)),
            "w_out": dense_init(rng, D_MODEL, 10, gain=1.0), "b_out": np.zeros(10)}


def route(probs: np.ndarray, r: Routing,
          stats: RouteStats | None = None) -> np.ndarray:
    """0/1 assignment matrix (tokens x experts) after top-k and capacity."""
    n = probs.shape[0]
    ranked = np.argsort(-probs, axis=1, kind="stable")[:, :r.top_k]
    assign = np.zeros_like(probs)
    if r.capacity_factor is None:
        np.put_along_axis(assign, ranked, 1.0, axis=1)
        return assign
    for start in range(0, n, r.group):
        stop = min(n, start + r.group)
        cap = int(np.ceil(r.capacity_factor * (stop - start) * r.top_k / EXPERTS))
        used = np.zeros(EXPERTS, dtype=np.int64)
        for choice in range(r.top_k):  # all first choices before any second choice
            for t in range(start, stop):
                e = ranked[t, choice]
                if used[e] < cap:
                    used[e] += 1
                    assign[t, e] = 1.0
    if stats is not None:
        stats.assignments += n * r.top_k
        stats.dropped_assignments += n * r.top_k - int(assign.sum())
        stats.dropped_tokens += int((assign.sum(axis=1) == 0).sum())
    return assign


def forward(p: Params, x: np.ndarray, r: Routing,
            stats: RouteStats | None = None) -> tuple[np.ndarray, dict]:
    z_in = x @ p["w_in"] + p["b_in"]
    h = np.maximum(z_in, 0.0)
    probs = softmax(h @ p["w_r"])
    chosen = route(probs, Routing(r.top_k, None))  # the experts the router picked
    kept = chosen if r.capacity_factor is None else route(probs, r, stats)
    norm = (probs * chosen).sum(axis=1, keepdims=True)
    gates = probs * kept / norm
    out = h.copy()
    expert_cache = []
    for e in range(EXPERTS):
        tok = np.flatnonzero(kept[:, e])
        u = h[tok] @ p["e_w1"][e] + p["e_b1"][e]
        a = np.maximum(u, 0.0)
        y = a @ p["e_w2"][e] + p["e_b2"][e]
        out[tok] += gates[tok, e:e + 1] * y
        expert_cache.append((tok, u, a, y))
    logits = out @ p["w_out"] + p["b_out"]
    return logits, {"x": x, "z_in": z_in, "h": h, "probs": probs, "chosen": chosen,
                    "norm": norm, "gates": gates, "out": out, "experts": expert_cache}


def backward(p: Params, c: dict, dlogits: np.ndarray) -> Params:
    g: Params = {k: np.zeros_like(v) for k, v in p.items()}
    g["w_out"], g["b_out"] = c["out"].T @ dlogits, dlogits.sum(axis=0)
    dout = dlogits @ p["w_out"].T
    dh = dout.copy()  # residual
    dgates = np.zeros_like(c["probs"])
    for e, (tok, u, a, y) in enumerate(c["experts"]):
        dy = dout[tok] * c["gates"][tok, e:e + 1]
        dgates[tok, e] = (dout[tok] * y).sum(axis=1)
        g["e_w2"][e], g["e_b2"][e] = a.T @ dy, dy.sum(axis=0)
        du = (dy @ p["e_w2"][e].T) * (u > 0.0)
        g["e_w1"][e], g["e_b1"][e] = c["h"][tok].T @ du, du.sum(axis=0)
        dh[tok] += du @ p["e_w1"][e].T
    # gates = probs / norm over the chosen experts (quotient rule), plus the balancing loss
    # aux = E * sum_e f_e * P_e, f_e = share of tokens whose first choice is e (no gradient).
    probs, chosen, norm = c["probs"], c["chosen"], c["norm"]
    dprobs = chosen * (dgates - (dgates * c["gates"]).sum(axis=1, keepdims=True)) / norm
    n = probs.shape[0]
    first = np.bincount(probs.argmax(axis=1), minlength=EXPERTS) / n
    dprobs += AUX_WEIGHT * EXPERTS * first / n
    dscore = probs * (dprobs - (dprobs * probs).sum(axis=1, keepdims=True))
    g["w_r"] = c["h"].T @ dscore
    dh += dscore @ p["w_r"].T
    dz = dh * (c["z_in"] > 0.0)
    g["w_in"], g["b_in"] = c["x"].T @ dz, dz.sum(axis=0)
    return g


def train(x: np.ndarray, y: np.ndarray, seed: int, top_k: int = TRAIN_TOP_K) -> Params:
    """Train with ``top_k`` experts per token (:data:`EXPERTS` gives the dense twin: every
    expert runs, weighted by the router's softmax)."""
    rng = np.random.default_rng(seed)
    p = init(rng)
    opt = Adam(p, lr=LR)
    x = x.astype(TRAIN_DTYPE)
    for _ in range(EPOCHS):
        for idx in batches(rng, y.size, BATCH):
            logits, cache = forward(p, x[idx], Routing(top_k, None))
            _, dlogits = xent(logits, y[idx])
            opt.step(backward(p, cache, dlogits))
    return p
