"""digits-mlp: a 64-256-256-10 ReLU MLP whose hidden activations can be cut to the top-k.

Sites of activation sparsity (what a ``topk`` spec on an op means here):
site 0 = the 64 input pixels (input of fc1), site 1 = the 256 neurons of hidden layer 1 (input of
fc2), site 2 = the 256 neurons of hidden layer 2 (input of fc3). A selector picks each site's
kept neurons from the activations (oracle) or from a low-rank predictor's scores
(:mod:`.predictor`); everything outside the kept set is zero.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from hwsim.accuracy.nets.core import (
    TRAIN_DTYPE,
    Adam,
    Params,
    batches,
    dense_init,
    keep_count,
    topk_mask,
    xent,
)

WIDTHS = (64, 256, 256, 10)
EPOCHS, FT_EPOCHS, BATCH, LR, FT_LR = 40, 20, 32, 1e-3, 3e-4
# Sparsity-aware fine-tuning draws each batch's density from this set, so one weight set serves
# every density from 2 % to dense (instead of one fine-tuned copy per density).
FT_DENSITIES = (0.02, 0.05, 0.1, 0.25, 0.5, 1.0)

# select(site, layer input, activation) -> 0/1 mask of the activation, or None to keep all.
Selector = Callable[[int, np.ndarray, np.ndarray], "np.ndarray | None"]


def init(rng: np.random.Generator) -> Params:
    p: Params = {}
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(WIDTHS), start=1):
        p[f"w{i}"] = dense_init(rng, fan_in, fan_out)
        p[f"b{i}"] = np.zeros(fan_out)
    return p


def forward(p: Params, x: np.ndarray, select: Selector | None = None) -> tuple[np.ndarray, dict]:
    """Logits, and the cache :func:`backward` needs (masks included). The selector sees each
    site's activation together with the input of the layer that produced it (a predictor's
    input), so a site's mask is known before the next layer runs."""
    cache: dict[str, np.ndarray | None] = {}
    h, inp = x, x
    for i in (1, 2, 3):
        mask = select(i - 1, inp, h) if select else None
        if mask is not None:
            h = h * mask
        cache[f"mask{i - 1}"], cache[f"in{i}"] = mask, h
        z = h @ p[f"w{i}"] + p[f"b{i}"]
        if i == 3:
            return z, cache
        cache[f"z{i}"] = z
        inp, h = h, np.maximum(z, 0.0)
    raise AssertionError("unreachable")


def backward(p: Params, cache: dict, dlogits: np.ndarray) -> Params:
    g: Params = {}
    dz = dlogits
    for i in (3, 2, 1):
        g[f"w{i}"] = cache[f"in{i}"].T @ dz
        g[f"b{i}"] = dz.sum(axis=0)
        if i == 1:
            break
        dh = dz @ p[f"w{i}"].T
        if cache[f"mask{i - 1}"] is not None:
            dh = dh * cache[f"mask{i - 1}"]
        dz = dh * (cache[f"z{i - 1}"] > 0.0)
    return g


def oracle(densities: tuple[float, float, float]) -> Selector:
    """Keep each site's largest activations (ReLU outputs are >= 0, so largest = most active)."""
    def select(site: int, _inp: np.ndarray, act: np.ndarray) -> np.ndarray | None:
        d = densities[site]
        return None if d >= 1.0 else topk_mask(act, keep_count(d, act.shape[-1]))
    return select


def _fit(p: Params, x: np.ndarray, y: np.ndarray, rng: np.random.Generator, epochs: int,
         lr: float, pick: Callable[[], Selector | None]) -> Params:
    opt = Adam(p, lr=lr)
    for _ in range(epochs):
        for idx in batches(rng, y.size, BATCH):
            logits, cache = forward(p, x[idx], pick())
            _, dlogits = xent(logits, y[idx])
            opt.step(backward(p, cache, dlogits))
    return p


def train_dense(x: np.ndarray, y: np.ndarray, seed: int) -> Params:
    rng = np.random.default_rng(seed)
    return _fit(init(rng), x.astype(TRAIN_DTYPE), y, rng, EPOCHS, LR, lambda: None)


def train_sparse(dense: Params, x: np.ndarray, y: np.ndarray, seed: int) -> Params:
    """Fine-tune ``dense`` with oracle top-k on both hidden layers in the loop (straight
    through the kept neurons), each batch at a density drawn from :data:`FT_DENSITIES`."""
    rng = np.random.default_rng(seed)
    p = {k: v.copy() for k, v in dense.items()}

    def pick() -> Selector:
        d = float(rng.choice(FT_DENSITIES))
        return oracle((1.0, d, d))
    return _fit(p, x.astype(TRAIN_DTYPE), y, rng, FT_EPOCHS, FT_LR, pick)


def hidden_activations(p: Params, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense ReLU outputs of both hidden layers (the predictors' training targets)."""
    h1 = np.maximum(x @ p["w1"] + p["b1"], 0.0)
    return h1, np.maximum(h1 @ p["w2"] + p["b2"], 0.0)
