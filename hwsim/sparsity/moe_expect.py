"""Expected MoE routing statistics for the analytic engine: per-expert loads, the largest load,
experts used, and tokens dropped at a capacity.

Routing law (shared with the seeded generator in :mod:`hwsim.sparsity.realise`): each token picks
``top_k`` distinct experts; expert popularity is uniform or zipf(s) (weight rank^-s). A token's
chance of including expert e, p_e, comes from that generator's law. ``balanced`` routing deals
the slots round-robin, so its loads, largest load and experts used are exact.

Execution law (GShard/Switch-style static shapes): every used expert's GEMM is padded to the
same token count, ``min(capacity, largest load)``, where capacity = ceil(capacity_factor *
tokens * top_k / experts); tokens above capacity are dropped. So routing skew costs latency
through the largest load (dropless) or accuracy through drops (capacity-bound).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hwsim.sparsity.realise import expected_dropped, expected_expert_loads, expert_capacity


@dataclass(frozen=True)
class MoeLoads:
    mean_loads: np.ndarray  # expected tokens per expert
    max_load: float  # expected largest per-expert load
    experts_used: float  # expected experts with at least one token
    capacity: int  # tokens an expert accepts (capacity factor), before the largest-load cap
    padded_tokens: int  # tokens each used expert's GEMM is padded to
    dropped: float  # expected tokens dropped over all experts


def expected_loads(tokens: int, experts: int, top_k: int, routing: str = "uniform",
                   zipf_s: float = 1.0, capacity_factor: float | None = None) -> MoeLoads:
    """Expected routing statistics for ``tokens`` tokens (each load ~ Binomial(tokens, p_e),
    p_e the inclusion probability of :func:`hwsim.sparsity.realise.moe_routes`' law)."""
    mean = expected_expert_loads(tokens, experts, top_k, routing, zipf_s)  # type: ignore[arg-type]
    if routing == "balanced":  # round-robin loads are exact, not a binomial law
        max_load, used = float(mean.max(initial=0.0)), float(np.count_nonzero(mean))
    else:
        p = mean / max(tokens, 1)
        max_load = expected_max_load(tokens, p)
        used = float(np.sum(1.0 - (1.0 - p) ** tokens))
    if capacity_factor:
        cap = expert_capacity(tokens, experts, top_k, capacity_factor)
        dropped = expected_dropped(tokens, experts, top_k, capacity_factor, routing,  # type: ignore[arg-type]
                                   zipf_s)
    else:
        cap, dropped = tokens, 0.0
    padded = max(1, min(cap, math.ceil(max_load)))
    return MoeLoads(mean, max_load, used, cap, padded, dropped)


def expected_max_load(tokens: int, p: np.ndarray) -> float:
    """E[max_e X_e] for independent X_e ~ Binomial(tokens, p_e), summed over the CDF:
    E[max] = sum_{x>=0} (1 - prod_e P(X_e <= x)). (Loads are in fact weakly negatively
    correlated; independence slightly overstates the maximum.)"""
    from scipy import stats  # here, not at import: scipy.stats costs ~0.6 s to import

    hi = int(min(tokens, np.max(tokens * p + 10.0 * np.sqrt(tokens * p * (1 - p)) + 10.0)))
    x = np.arange(0, hi + 1)
    cdf = stats.binom.cdf(x[None, :], tokens, p[:, None])
    return float(np.sum(1.0 - np.prod(cdf, axis=0)))
