"""Activation sparsity per iteration: the union of active neurons over the running batch.

A weight row is read in an iteration if any token of the iteration needs it, so a sparse
layer's weight traffic follows the union of its tokens' active sets (the engine's law,
:func:`hwsim.sparsity.realise.expected_union_density`). In serving the tokens of one
iteration come from different requests: a decode contributes one token, a prefill chunk
``n`` consecutive tokens of one request. Tokens of different requests are independent; tokens
of one chunk keep the spec's ``token_correlation``. So for a reference op with per-token
density ``d``::

    U = 1 - prod_s (1 - u(d, n_s, c)),   u = expected_union_density (k-rounded)

B decodes alone give ``1 - (1 - d)^B``: the savings of sparse activation shrink as the batch
grows. The engine prices a body of T rows either with the spec's correlation (all T tokens one
request: the smallest union) or with none (all independent: the largest); an iteration's cost
is interpolated linearly in U between the two (weight traffic is linear in the union). When
the spec has no token correlation both are the same and no interpolation happens.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hwsim.config.sparsity import ReluSpec, TopKSpec
from hwsim.sparsity.realise import expected_union_density
from hwsim.workload.model import Model, content_hash
from hwsim.workload.ops import MatmulOp


@dataclass(frozen=True)
class UnionLaw:
    """The reference op's per-token density law (the first sparse FFN-like matmul)."""

    op: str
    density: float
    correlation: float
    k_dim: int

    def union(self, tokens: int, correlation: float | None = None) -> float:
        """Union density of ``tokens`` rows of one request (or independent: correlation 0)."""
        c = self.correlation if correlation is None else correlation
        return float(expected_union_density(self.density, tokens, c, k_dim=self.k_dim))

    def step_union(self, decodes: int, chunks: list[int]) -> float:
        """``U`` of an iteration of ``decodes`` single tokens and prefill ``chunks``."""
        miss = (1.0 - self.union(1)) ** decodes
        for n in chunks:
            miss *= 1.0 - self.union(n)
        return 1.0 - miss

    def weight_toward_correlated(self, tokens: int, union: float) -> float:
        """Where ``union`` sits between independent (0) and one-request (1) rows."""
        indep, corr = self.union(tokens, 0.0), self.union(tokens)
        if indep - corr <= 1e-15:
            return 0.0
        return min(max((indep - union) / (indep - corr), 0.0), 1.0)


def union_law(model: Model) -> UnionLaw | None:
    """The law of ``model``'s first top-k/ReLU matmul, or None for a dense model."""
    for op in model.ops:
        spec = op.sparsity
        if isinstance(op, MatmulOp) and isinstance(spec, TopKSpec | ReluSpec):
            corr = spec.token_correlation if isinstance(spec, TopKSpec) else 0.0
            k_dim = op.k if op.sparse_dim == "k" else op.n
            return UnionLaw(op.name, float(spec.density), float(corr), int(k_dim))
    return None


def decorrelated(model: Model) -> Model:
    """``model`` with every top-k spec's token correlation set to 0 (independent rows)."""
    ops = tuple(op.model_copy(update={"sparsity": op.sparsity.model_copy(
        update={"token_correlation": 0.0})}) if isinstance(op.sparsity, TopKSpec) else op
        for op in model.ops)
    return dataclasses.replace(model, ops=ops, content_hash=content_hash(
        {"base": model.content_hash, "token_correlation": 0.0}))
