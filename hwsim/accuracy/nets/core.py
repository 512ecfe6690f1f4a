"""numpy building blocks shared by the digit networks: init, Adam, cross-entropy, top-k masks.

Training runs in float64 on one BLAS thread (see :func:`one_thread`): the same seed then gives
the same weights bit for bit, and float rounding differences between machines stay far below
the float32 the weights are stored in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

Params = dict[str, np.ndarray]
TRAIN_DTYPE = np.float64


@contextmanager
def one_thread() -> Iterator[None]:
    """Pin BLAS to one thread: reproducible sums, and training leaves a core to the team."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def dense_init(rng: np.random.Generator, fan_in: int, fan_out: int, *,
               gain: float = 2.0) -> np.ndarray:
    """He-normal (gain 2, for ReLU) or Glorot-like (gain 1) weights, float64."""
    return rng.normal(0.0, np.sqrt(gain / fan_in), size=(fan_in, fan_out))


class Adam:
    """Adam (Kingma & Ba 2015) over a dict of arrays, updated in place."""

    def __init__(self, params: Params, lr: float = 1e-3, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8) -> None:
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, beta1, beta2, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, grads: Params) -> None:
        # Bias correction folded into the step size (Kingma & Ba, end of section 2), and
        # in-place updates: the optimizer is a large share of a small network's training time.
        self.t += 1
        lr_t = self.lr * np.sqrt(1.0 - self.b2**self.t) / (1.0 - self.b1**self.t)
        for k, g in grads.items():
            m, v = self.m[k], self.v[k]
            m *= self.b1
            m += (1.0 - self.b1) * g
            v *= self.b2
            v += (1.0 - self.b2) * (g * g)
            self.params[k] -= lr_t * m / (np.sqrt(v) + self.eps)


def batches(rng: np.random.Generator, n: int, size: int) -> Iterator[np.ndarray]:
    """Index batches of one shuffled epoch (the last one may be short)."""
    order = rng.permutation(n)
    for start in range(0, n, size):
        yield order[start:start + size]


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free form


def xent(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy and its gradient with respect to the logits."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    n = y.size
    loss = float(-(shifted[np.arange(n), y] - log_z[:, 0]).mean())
    p = np.exp(shifted - log_z)
    p[np.arange(n), y] -= 1.0
    return loss, p / n


def keep_count(density: float, width: int) -> int:
    """Neurons kept at ``density`` of ``width``: rounded, at least one unless density is 0."""
    if density <= 0.0:
        return 0
    return min(width, max(1, round(density * width)))


def topk_mask(scores: np.ndarray, k: int) -> np.ndarray:
    """1.0 at the ``k`` largest scores of each row (last axis), 0.0 elsewhere.

    Ties break by position (argpartition on a stable input is deterministic), which matters
    only for exact ties such as several zero activations."""
    width = scores.shape[-1]
    if k >= width:
        return np.ones_like(scores)
    mask = np.zeros_like(scores)
    if k <= 0:
        return mask
    idx = np.argpartition(-scores, k - 1, axis=-1)[..., :k]
    np.put_along_axis(mask, idx, 1.0, axis=-1)
    return mask
