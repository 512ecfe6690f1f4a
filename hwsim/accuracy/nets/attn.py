"""digits-attn: a tiny transformer over the 8 image rows as 8 tokens of 8 pixels, with a learned
gate per attention head and layer that skips attention work (adaptive sparse attention, ASA-like).

Rows -> linear embed (8->32) + learned positions -> 2 layers of [gated 2-head self-attention +
residual, FFN 32->64->32 (ReLU) + residual] -> mean over tokens -> classifier (32->10). No
LayerNorm: two residual layers train stably without it and the backward pass stays short.

The gate of a layer reads the mean of its input tokens and gives one value g in (0, 1) per head
(the "block" is one head's whole 8x8 attention for one image); a head's output is scaled by g.
Training keeps every head and adds GATE_COST * mean(g) to the loss, so the gate learns to stay
low where attention does not help. At inference a head runs only if g clears the layer's
threshold, which is calibrated on the validation split to the requested keep ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.accuracy.nets.core import (
    TRAIN_DTYPE,
    Adam,
    Params,
    batches,
    dense_init,
    keep_count,
    sigmoid,
    softmax,
    topk_mask,
    xent,
)

TOKENS, FEATURES, D, HEADS, D_FF, LAYERS = 8, 8, 32, 2, 64, 2
HEAD_DIM = D // HEADS
EPOCHS, BATCH, LR, GATE_COST = 30, 32, 1e-3, 0.05
# Each training batch skips heads at a keep ratio drawn from this set (lowest gates skipped), so
# the network learns to work with skipped heads and the gate learns which heads matter.
TRAIN_KEEP = (0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class AttnSparsity:
    """Per-layer thresholds on g (None: run every head) and keys kept per query (1.0: all)."""

    thresholds: tuple[float | None, ...] = (None,) * LAYERS
    key_density: tuple[float, ...] = (1.0,) * LAYERS
    batch_keep: float | None = None  # training: keep this share of the batch's heads per layer


def init(rng: np.random.Generator) -> Params:
    p: Params = {"we": dense_init(rng, FEATURES, D, gain=1.0), "be": np.zeros(D),
                 "pos": rng.normal(0.0, 0.1, size=(TOKENS, D)),
                 "wc": dense_init(rng, D, 10, gain=1.0), "bc": np.zeros(10)}
    for i in range(LAYERS):
        for name in ("wq", "wk", "wv", "wo"):
            p[f"l{i}.{name}"] = dense_init(rng, D, D, gain=1.0)
        p[f"l{i}.wg"], p[f"l{i}.bg"] = np.zeros((D, HEADS)), np.full(HEADS, 2.0)  # start open
        p[f"l{i}.f1"], p[f"l{i}.fb1"] = dense_init(rng, D, D_FF), np.zeros(D_FF)
        p[f"l{i}.f2"], p[f"l{i}.fb2"] = dense_init(rng, D_FF, D, gain=1.0), np.zeros(D)
    return p


def _heads(t: np.ndarray) -> np.ndarray:  # (B, T, D) -> (B, H, T, hd)
    return t.reshape(t.shape[0], TOKENS, HEADS, HEAD_DIM).transpose(0, 2, 1, 3)


def forward(p: Params, x: np.ndarray, sp: AttnSparsity = AttnSparsity()) -> tuple[np.ndarray,
                                                                                   dict]:
    """Logits and the cache; cache["gates"][i] is g and cache["open"][i] the heads run."""
    xs = x.reshape(x.shape[0], TOKENS, FEATURES)
    e = xs @ p["we"] + p["be"] + p["pos"]
    cache: dict = {"xs": xs, "layers": [], "gates": [], "open": []}
    for i in range(LAYERS):
        w = {k: p[f"l{i}.{k}"] for k in ("wq", "wk", "wv", "wo", "wg", "bg", "f1", "fb1", "f2",
                                         "fb2")}
        pooled = e.mean(axis=1)
        g = sigmoid(pooled @ w["wg"] + w["bg"])
        thr = sp.thresholds[i]
        if sp.batch_keep is not None:
            thr = _kth_largest(g, sp.batch_keep)
        opened = np.ones_like(g) if thr is None else (g >= thr).astype(g.dtype)
        q, k, v = _heads(e @ w["wq"]), _heads(e @ w["wk"]), _heads(e @ w["wv"])
        s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(HEAD_DIM)
        if sp.key_density[i] < 1.0:
            keep = topk_mask(s, key_count(sp.key_density[i]))
            s = np.where(keep > 0, s, -np.inf)
        a = softmax(s)
        o = a @ v
        geff = (g * opened)[:, :, None, None]
        oc = (o * geff).transpose(0, 2, 1, 3).reshape(e.shape)
        e_mid = e + oc @ w["wo"]
        u = e_mid @ w["f1"] + w["fb1"]
        r = np.maximum(u, 0.0)
        e_out = e_mid + r @ w["f2"] + w["fb2"]
        cache["layers"].append((e, pooled, g, q, k, v, a, o, geff, oc, e_mid, u, r))
        cache["gates"].append(g)
        cache["open"].append(opened)
        e = e_out
    pooled = e.mean(axis=1)
    cache["final"] = pooled
    return pooled @ p["wc"] + p["bc"], cache


def backward(p: Params, c: dict, dlogits: np.ndarray) -> Params:
    g_: Params = {"wc": c["final"].T @ dlogits, "bc": dlogits.sum(axis=0)}
    de = np.repeat((dlogits @ p["wc"].T)[:, None, :] / TOKENS, TOKENS, axis=1)
    n_gates = dlogits.shape[0] * HEADS * LAYERS
    for i in reversed(range(LAYERS)):
        e, pooled, g, q, k, v, a, o, geff, oc, e_mid, u, r = c["layers"][i]
        pre = f"l{i}."
        flat = lambda t: t.reshape(-1, t.shape[-1])  # noqa: E731
        g_[pre + "f2"], g_[pre + "fb2"] = flat(r).T @ flat(de), de.sum(axis=(0, 1))
        du = (de @ p[pre + "f2"].T) * (u > 0.0)
        g_[pre + "f1"], g_[pre + "fb1"] = flat(e_mid).T @ flat(du), du.sum(axis=(0, 1))
        dmid = de + du @ p[pre + "f1"].T
        g_[pre + "wo"] = flat(oc).T @ flat(dmid)
        doc = _heads(dmid @ p[pre + "wo"].T)
        do = doc * geff
        # Straight-through: a skipped head's gate still learns what opening it would have
        # done (o is computed for every head during training).
        dg = (doc * o).sum(axis=(2, 3)) + GATE_COST / n_gates
        ds_gate = dg * g * (1.0 - g)
        da = do @ v.transpose(0, 1, 3, 2)
        dv = a.transpose(0, 1, 3, 2) @ do
        ds = a * (da - (da * a).sum(axis=-1, keepdims=True)) / np.sqrt(HEAD_DIM)
        dq, dk = ds @ k, ds.transpose(0, 1, 3, 2) @ q
        dq, dk, dv = _merge(dq), _merge(dk), _merge(dv)
        g_[pre + "wq"], g_[pre + "wk"], g_[pre + "wv"] = (flat(e).T @ flat(dq),
                                                          flat(e).T @ flat(dk),
                                                          flat(e).T @ flat(dv))
        g_[pre + "wg"], g_[pre + "bg"] = pooled.T @ ds_gate, ds_gate.sum(axis=0)
        de = (dmid + dq @ p[pre + "wq"].T + dk @ p[pre + "wk"].T + dv @ p[pre + "wv"].T
              + (ds_gate @ p[pre + "wg"].T)[:, None, :] / TOKENS)
    g_["we"] = flat(c["xs"]).T @ flat(de)
    g_["be"], g_["pos"] = de.sum(axis=(0, 1)), de.sum(axis=0)
    return g_


def key_count(density: float) -> int:
    """Keys each query attends to at ``density`` (at least one: a query needs a key)."""
    return max(1, keep_count(density, TOKENS))


def _merge(t: np.ndarray) -> np.ndarray:  # (B, H, T, hd) -> (B, T, D)
    return t.transpose(0, 2, 1, 3).reshape(t.shape[0], TOKENS, D)


def train(x: np.ndarray, y: np.ndarray, seed: int,
          train_keep: tuple[float, ...] = TRAIN_KEEP) -> Params:
    """Train with each batch's heads kept at a ratio drawn from ``train_keep``; ``(1.0,)``
    gives the dense twin (every head runs; the gate still learns, scaling heads, under
    GATE_COST, so its ranking can sparsify the twin post hoc)."""
    rng = np.random.default_rng(seed)
    p = init(rng)
    opt = Adam(p, lr=LR)
    x = x.astype(TRAIN_DTYPE)
    for _ in range(EPOCHS):
        for idx in batches(rng, y.size, BATCH):
            keep = float(rng.choice(train_keep))
            logits, cache = forward(p, x[idx], AttnSparsity(batch_keep=keep))
            _, dlogits = xent(logits, y[idx])
            opt.step(backward(p, cache, dlogits))
    return p


def calibrate(p: Params, x_val: np.ndarray, keep: tuple[float, ...],
              key_density: tuple[float, ...] = (1.0,) * LAYERS) -> AttnSparsity:
    """Thresholds that keep the fraction ``keep[i]`` of layer i's heads on the validation split,
    layer by layer (a layer's gates see the previous layers already thinned)."""
    thresholds: list[float | None] = [None] * LAYERS
    for i in range(LAYERS):
        sp = AttnSparsity(tuple(thresholds), key_density)
        gates = forward(p, x_val, sp)[1]["gates"][i].ravel()
        thresholds[i] = _kth_largest(gates, keep[i])
    return AttnSparsity(tuple(thresholds), key_density)


def _kth_largest(gates: np.ndarray, keep: float) -> float | None:
    """The threshold that keeps the ceil(keep * n) highest of ``gates`` (None: keep all)."""
    if keep >= 1.0:
        return None
    if keep <= 0.0:
        return float("inf")
    flat = np.sort(gates.ravel())[::-1]
    return float(flat[int(np.ceil(keep * flat.size)) - 1])
