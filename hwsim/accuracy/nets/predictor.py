"""A Deja Vu-style low-rank predictor of which neurons of a layer will be the most active.

Liu et al., "Deja Vu: Contextual Sparsity for Efficient LLMs at Inference Time", ICML 2023,
predict a layer's active MLP neurons from the layer's input with a small network. Here it is a
rank-r linear map, input -> r -> width (the two matmuls the workload carries as predictor ops),
trained to score each neuron by its activation so the top-k scores pick the top-k neurons.
"""

from __future__ import annotations

import numpy as np

from hwsim.accuracy.nets.core import TRAIN_DTYPE, Adam, Params, batches, dense_init, sigmoid

RANKS = (8, 16, 32)
EPOCHS, BATCH, LR = 30, 32, 2e-3


def scores(pred: Params, inp: np.ndarray) -> np.ndarray:
    """Predicted activity of each neuron (higher = more likely among the most active)."""
    return (inp @ pred["a"]) @ pred["b"] + pred["c"]


def train(inp: np.ndarray, act: np.ndarray, rank: int, seed: int) -> Params:
    """Fit the predictor of ``act`` (dense ReLU outputs) from ``inp`` (the layer's input).

    The loss is a logistic loss on "active" (act > 0, Deja Vu's label) plus a squared error on
    the activation itself, so the scores both separate active from inactive neurons and order
    the active ones by size (top-k below the natural ReLU density needs the order)."""
    rng = np.random.default_rng(seed)
    inp, act = inp.astype(TRAIN_DTYPE), act.astype(TRAIN_DTYPE)
    scale = float(act.std()) or 1.0
    pred: Params = {"a": dense_init(rng, inp.shape[1], rank, gain=1.0),
                    "b": dense_init(rng, rank, act.shape[1], gain=1.0),
                    "c": np.zeros(act.shape[1])}
    opt = Adam(pred, lr=LR)
    for _ in range(EPOCHS):
        for idx in batches(rng, act.shape[0], BATCH):
            x, target = inp[idx], act[idx] / scale
            low = x @ pred["a"]
            s = low @ pred["b"] + pred["c"]
            n = s.size
            ds = (sigmoid(s) - (target > 0)) / n + 2.0 * (s - target) / n
            opt.step({"a": x.T @ (ds @ pred["b"].T), "b": low.T @ ds, "c": ds.sum(axis=0)})
    return pred
