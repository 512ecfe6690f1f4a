"""Seeded realisation of sparsity: activation masks, expert routes, attention gates, N:M masks.

Every generator takes an explicit ``seed`` (an int or a ``numpy.random.SeedSequence``) and gives
the same output bit for bit for the same inputs. Each generator's law is stated in its docstring,
and the closed forms the analytic engine uses sit next to the generator they summarise; the tests
check each closed form against realised draws.

Laws, in one place:

* Per-input density variability: ``d_i = clip(mean + std * z_i, min_density, 1)``, ``z_i`` iid
  standard normal (a clipped normal; :func:`expected_clipped_density` is its mean).
* Neuron / expert popularity: a seeded random permutation gives every unit a popularity rank
  ``r = 1..n``; its weight is ``w = r ** -skew`` (zipf). A token picks its k units by an
  *exponential race*: each unit draws ``E ~ Exp(1)`` and the k smallest ``E / w`` win. That is
  successive sampling without replacement with probability proportional to ``w`` (equivalent to
  Gumbel-top-k), uniform when ``skew = 0``.
* Token correlation ``c`` (top-k): token t keeps a uniformly random subset of
  ``R_t = min(round(c * k_{t-1}), k_t)`` of token t-1's active units and draws its other
  ``k_t - R_t`` units fresh (by the race above) from all units it did not keep. ``c = 0`` gives
  independent tokens, ``c = 1`` (equal k) repeats the previous token's set.

Rounding is half up throughout: ``round(x) = floor(x + 0.5)``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

import numpy as np

from hwsim.config.sparsity import (
    DenseSpec,
    NmSpec,
    ReluSpec,
    TopKSpec,
    TraceSpec,
)
from hwsim.errors import input_error
from hwsim.sparsity.masks import PackedMask, pack

if TYPE_CHECKING:  # an alias for annotations only: np.random is imported on first draw
    Seed = int | np.random.SeedSequence

# Rows of a dense (tokens x units) intermediate handled at once: bounds memory to ~32 MiB of
# float64 keys whatever the mask size, without changing the draws (the chunk size is fixed).
# More tokens than this add nothing to the statistics a fold or an MCU kernel sees.
MAX_REALISED_TOKENS = 4096
_CHUNK_ELEMENTS = 1 << 22


def _seed_seq(seed: Seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        # A fresh copy: spawn() counts children on the object, so reusing the caller's one
        # would make a second call with the same seed draw differently.
        return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key,
                                      pool_size=seed.pool_size)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative int or a SeedSequence, got {seed!r}")
    return np.random.SeedSequence(int(seed))


def _round_half_up(x: np.ndarray | float) -> np.ndarray:
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5)


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")


def _chunk_rows(rows: int, width: int) -> int:
    return max(1, _CHUNK_ELEMENTS // max(1, width))


# --------------------------------------------------------------------------- variability


def draw_densities(n_inputs: int, mean: float, std: float, seed: Seed, *,
                   min_density: float = 0.0) -> np.ndarray:
    """Per-input densities (fractions), float64 (n_inputs,).

    Law: ``clip(mean + std * z, min_density, 1)`` with ``z`` iid standard normal. ``std = 0``
    returns ``mean`` for every input (no draws). :func:`topk_masks` passes one unit
    (``min_density = 1/U``) so a top-k token is never empty; clipping moves the mean, see
    :func:`expected_clipped_density`.
    """
    _check_fraction("mean", mean)
    _check_fraction("std", std)
    _check_fraction("min_density", min_density)
    if std == 0.0:
        return np.full(n_inputs, mean, dtype=np.float64)
    z = np.random.default_rng(_seed_seq(seed)).standard_normal(n_inputs)
    return np.clip(mean + std * z, min_density, 1.0)


def expected_clipped_density(mean: float, std: float, min_density: float = 0.0) -> float:
    """Mean of :func:`draw_densities`' law: E[clip(N(mean, std^2), min_density, 1)]."""
    if std == 0.0:
        return float(np.clip(mean, min_density, 1.0))
    a, b = (min_density - mean) / std, (1.0 - mean) / std
    from scipy import stats  # here, not at import: scipy.stats costs ~0.6 s to import

    phi, cdf = stats.norm.pdf, stats.norm.cdf
    inside = mean * (cdf(b) - cdf(a)) + std * (phi(a) - phi(b))
    return float(min_density * cdf(a) + 1.0 * (1.0 - cdf(b)) + inside)


# --------------------------------------------------------------------------- popularity


def _race_scale(n_units: int, skew: float, seed: Seed) -> np.ndarray:
    """1/w per unit: ``rank ** skew`` with ranks 1..n over a seeded random permutation."""
    if skew < 0.0:
        raise ValueError(f"popularity skew must be >= 0, got {skew}")
    rank = np.empty(n_units, dtype=np.float64)
    rank[np.random.default_rng(_seed_seq(seed)).permutation(n_units)] = np.arange(1, n_units + 1)
    return rank**skew


def _race_keys(rng: np.random.Generator, rows: int, scale: np.ndarray) -> np.ndarray:
    """Arrival times E/w (smaller wins): float64 (rows, units), always finite."""
    keys = rng.standard_exponential((rows, scale.shape[0]))
    if np.any(scale != 1.0):  # skew 0: all weights 1, skip a pass over the keys
        keys *= scale
    return keys


def _first_arrivals(keys: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k smallest keys per row, earliest first: (rows, k)."""
    if k == 0:
        return np.empty((keys.shape[0], 0), dtype=np.int64)
    part = np.argpartition(keys, k - 1, axis=1)[:, :k]
    order = np.argsort(np.take_along_axis(keys, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


# --------------------------------------------------------------------------- top-k masks


def topk_masks(tokens: int, k_dim: int, density: float, *, seed: Seed,
               popularity_skew: float = 0.0, token_correlation: float = 0.0,
               granularity: Literal["element", "block"] = "element", block: int = 1,
               density_std: float = 0.0) -> PackedMask:
    """Top-k activation masks: exactly ``round(d_t * U)`` active units per token.

    Units are elements (``granularity="element"``, ``block`` ignored) or aligned blocks of
    ``block`` elements (``U = ceil(K/block)`` units; a chosen block activates all its elements,
    the last one may be short). ``d_t = density`` for every token, or drawn per token by
    :func:`draw_densities` (``min_density = 1/U``) when ``density_std > 0``. Units are picked by
    the popularity race and the token-correlation law of the module docstring.
    """
    if tokens < 0 or k_dim < 1:
        raise ValueError(f"need tokens >= 0 and k_dim >= 1, got {tokens}, {k_dim}")
    _check_fraction("density", density)
    _check_fraction("token_correlation", token_correlation)
    if granularity not in ("element", "block") or block < 1:
        raise ValueError(f"bad granularity/block: {granularity!r}, {block}")
    unit = block if granularity == "block" else 1
    n_units = -(-k_dim // unit)
    ss_density, ss_rank, ss_race, ss_keep = _seed_seq(seed).spawn(4)
    d_t = draw_densities(tokens, density, density_std, ss_density,
                         min_density=min(density, 1.0 / n_units))
    k_t = np.clip(_round_half_up(d_t * n_units), 0, n_units).astype(np.int64)
    scale = _race_scale(n_units, popularity_skew, ss_rank)
    race, keep_rng = np.random.default_rng(ss_race), np.random.default_rng(ss_keep)

    bits = np.zeros((tokens, -(-k_dim // 8)), dtype=np.uint8)
    prev: np.ndarray | None = None
    step = _chunk_rows(tokens, n_units)
    for start in range(0, tokens, step):
        stop = min(start + step, tokens)
        keys = _race_keys(race, stop - start, scale)
        units = np.zeros((stop - start, n_units), dtype=bool)
        if token_correlation == 0.0:
            _select_independent(keys, k_t[start:stop], units)
        else:
            prev = _select_correlated(keys, k_t[start:stop], units, prev, token_correlation,
                                      keep_rng)
        elements = np.repeat(units, unit, axis=1)[:, :k_dim] if unit > 1 else units
        bits[start:stop] = pack(elements)
    return PackedMask(bits, k_dim)


def _select_independent(keys: np.ndarray, k_t: np.ndarray, units: np.ndarray) -> None:
    """Mark the first ``k_t[i]`` arrivals of each row of ``keys`` in ``units``."""
    k_max = int(k_t.max(initial=0))
    if k_max == 0:
        return
    if np.all(k_t == k_max):  # one k for all rows: the arrival order inside the set is moot
        chosen = np.argpartition(keys, k_max - 1, axis=1)[:, :k_max]
        units[np.arange(keys.shape[0])[:, None], chosen] = True
        return
    chosen = _first_arrivals(keys, k_max)
    wanted = np.arange(k_max)[None, :] < k_t[:, None]
    rows = np.broadcast_to(np.arange(keys.shape[0])[:, None], chosen.shape)
    units[rows[wanted], chosen[wanted]] = True


def _select_correlated(keys: np.ndarray, k_t: np.ndarray, units: np.ndarray,
                       prev: np.ndarray | None, correlation: float,
                       keep_rng: np.random.Generator) -> np.ndarray | None:
    """Token by token (each depends on the last): keep part of ``prev``, race for the rest."""
    for i in range(keys.shape[0]):
        k = int(k_t[i])
        row = keys[i]
        if prev is None:
            kept = np.empty(0, dtype=np.int64)
        else:
            n_keep = min(int(_round_half_up(correlation * prev.shape[0])), k)
            kept = keep_rng.choice(prev, size=n_keep, replace=False)
            row[kept] = np.inf  # kept units cannot be raced for again
        fresh = k - kept.shape[0]
        new = np.argpartition(row, fresh - 1)[:fresh] if fresh > 0 else kept[:0]
        prev = np.concatenate([kept, new])
        units[i, prev] = True
    return prev


def expected_union_density(density: float | np.ndarray, batch: int | np.ndarray,
                           correlation: float | np.ndarray = 0.0, *,
                           k_dim: int | None = None) -> np.ndarray:
    """Expected fraction of units active in at least one of ``batch`` consecutive tokens.

    Independent tokens: ``1 - (1 - d)^B``. With the token-correlation law (equal k per token,
    uniform popularity) one unit's membership is a two-state Markov chain: a unit outside token
    t-1's set enters token t's with probability ``q = (k - R) / (U - R)`` (``R = round(c k)``
    kept, ``k - R`` fresh units raced among the ``U - R`` not kept), so exactly

        E[union] = 1 - (1 - d) * (1 - q)^(B - 1).

    With ``k_dim`` (= U) the rounded counts are used and the value is exact for
    :func:`topk_masks`; without it the continuous limit ``q = d (1 - c) / (1 - c d)``. ``c = 0``
    gives ``q = d``, the independent formula. Popularity skew lowers the union further (popular
    units overlap); per-token density spread does not change it for independent tokens when
    ``d`` is the mean density. Broadcasts over array arguments.
    """
    d = np.asarray(density, dtype=np.float64)
    b = np.asarray(batch, dtype=np.float64)
    c = np.asarray(correlation, dtype=np.float64)
    if k_dim is None:
        q = np.where(c * d < 1.0, d * (1.0 - c) / np.maximum(1.0 - c * d, 1e-300), 0.0)
    else:
        k = _round_half_up(d * k_dim)
        r = _round_half_up(c * k)
        d = k / k_dim
        q = np.where(k_dim > r, (k - r) / np.maximum(k_dim - r, 1.0), 1.0)
    return 1.0 - (1.0 - d) * (1.0 - q) ** np.maximum(b - 1.0, 0.0)


def expected_max_lane_nnz(k_dim: int | np.ndarray, density: float | np.ndarray,
                          lanes: int | np.ndarray, *, exact_topk: bool = False,
                          density_std: float | np.ndarray = 0.0) -> np.ndarray:
    """Expected largest active count (elements) over ``lanes`` independent tokens.

    Exact top-k without spread: every token has ``round(K d)``, so that is the maximum.
    Otherwise the count is approximately normal with mean ``K d`` and variance
    ``K d (1 - d)`` (Bernoulli/ReLU; 0 for exact top-k) plus ``(K std)^2`` (density spread, law
    of total variance); the expected maximum of L iid normals is ``mean + sd * m_L`` with Blom's
    ``m_L = Phi^-1((L - 0.375) / (L + 0.25))`` (``m_1 = 0``), capped at K.
    """
    k = np.asarray(k_dim, dtype=np.float64)
    d = np.asarray(density, dtype=np.float64)
    n_lanes = np.asarray(lanes, dtype=np.float64)
    spread = np.asarray(density_std, dtype=np.float64)
    mean = _round_half_up(k * d) if exact_topk else k * d
    var = (0.0 if exact_topk else k * d * (1.0 - d)) + (k * spread) ** 2
    from scipy import stats  # here, not at import (slow)

    m_l = stats.norm.ppf((n_lanes - 0.375) / (n_lanes + 0.25))
    return np.minimum(mean + np.sqrt(var) * m_l, k)


# --------------------------------------------------------------------------- ReLU masks


def relu_masks(tokens: int, k_dim: int, density: float, *, seed: Seed,
               density_std: float = 0.0) -> PackedMask:
    """Natural (ReLU) sparsity: each element active independently with its token's density.

    The token density ``d_t`` comes from :func:`draw_densities` (``std = density_std``), then
    every element is Bernoulli(``d_t``), so active counts vary even without spread.
    """
    if tokens < 0 or k_dim < 1:
        raise ValueError(f"need tokens >= 0 and k_dim >= 1, got {tokens}, {k_dim}")
    ss_density, ss_draw = _seed_seq(seed).spawn(2)
    d_t = draw_densities(tokens, density, density_std, ss_density)
    rng = np.random.default_rng(ss_draw)
    bits = np.zeros((tokens, -(-k_dim // 8)), dtype=np.uint8)
    step = _chunk_rows(tokens, k_dim)
    for start in range(0, tokens, step):
        stop = min(start + step, tokens)
        bits[start:stop] = pack(rng.random((stop - start, k_dim)) < d_t[start:stop, None])
    return PackedMask(bits, k_dim)


# --------------------------------------------------------------------------- MoE routing


Routing = Literal["uniform", "zipf", "balanced"]


def moe_routes(tokens: int, experts: int, top_k: int, *, seed: Seed,
               routing: Routing = "uniform", zipf_s: float = 1.0) -> np.ndarray:
    """Expert ids per token: int32 (tokens, top_k), distinct per row, first choice first.

    Experts are picked by the popularity race of the module docstring with skew ``zipf_s``
    (``routing="zipf"``) or 0 (``"uniform"``), over a seeded permutation of the experts.
    ``"balanced"`` deals the token-expert slots round-robin (token t's j-th choice is expert
    (t * top_k + j) mod experts): every expert's load is within one of the mean, as expert-choice
    routing and load-balanced benchmark harnesses give (no draw, so the seed is unused).
    """
    _check_routing(tokens, experts, top_k, routing)
    if routing == "balanced":
        slots = np.arange(tokens * top_k, dtype=np.int64).reshape(tokens, top_k)
        return (slots % experts).astype(np.int32)
    ss_rank, ss_race = _seed_seq(seed).spawn(2)
    scale = _race_scale(experts, zipf_s if routing == "zipf" else 0.0, ss_rank)
    race = np.random.default_rng(ss_race)
    routes = np.empty((tokens, top_k), dtype=np.int32)
    step = _chunk_rows(tokens, experts)
    for start in range(0, tokens, step):
        stop = min(start + step, tokens)
        routes[start:stop] = _first_arrivals(_race_keys(race, stop - start, scale), top_k)
    return routes


def _check_routing(tokens: int, experts: int, top_k: int, routing: str) -> None:
    if routing not in ("uniform", "zipf", "balanced"):
        raise ValueError(f"routing must be 'uniform', 'zipf' or 'balanced' (traces load "
                         f"routes), got {routing!r}")
    if tokens < 0 or experts < 1 or not 1 <= top_k <= experts:
        raise ValueError(f"need tokens >= 0, experts >= 1, 1 <= top_k <= experts; got "
                         f"{tokens}, {experts}, {top_k}")


def expert_capacity(tokens: int, experts: int, top_k: int, capacity_factor: float) -> int:
    """Tokens an expert accepts: ``ceil(capacity_factor * tokens * top_k / experts)``.

    A relative 1e-12 is taken off before the ceiling so that products like 1.25 * 8 = 10.000..01
    in floating point do not round up to 11.
    """
    fair = capacity_factor * tokens * top_k / experts
    return max(0, math.ceil(fair - 1e-12 * max(1.0, fair)))


@lru_cache(maxsize=256)
def _inclusion_probabilities(experts: int, top_k: int, skew: float) -> np.ndarray:
    """P(expert of popularity rank r is among a token's top_k), rank order, sums to top_k.

    Race law: expert i arrives at ``E_i / w_i``. In ``u`` (the arrival time of expert e),
    ``P(e chosen) = int_0^inf w_e exp(-w_e u) P(fewer than top_k others arrive before u) du``,
    where others arrive before u independently with ``p_i = 1 - exp(-w_i u)``. The count of
    others uses prefix and suffix truncated Poisson-binomial tables (leave-one-out without
    division), and the integral a trapezoid rule in ``log u`` (smooth, so converged to ~1e-9).
    """
    w = np.arange(1, experts + 1, dtype=np.float64) ** -skew
    w /= w.sum()
    if top_k >= experts:
        return np.ones(experts)
    if top_k == 1 or skew == 0.0:
        return top_k * w if skew == 0.0 else w
    log_u = np.arange(math.log(1e-8 / w.max()), math.log(60.0 / w.min()), 0.02)
    u = np.exp(log_u)
    p = -np.expm1(-np.outer(u, w))  # (grid, experts)
    prefix = _count_tables(p, top_k)  # prefix[i]: counts among experts < i
    suffix = _count_tables(p[:, ::-1], top_k)[::-1]  # suffix[i]: counts among experts >= i
    suffix_cdf = np.cumsum(suffix, axis=2)
    # P(others < top_k) for expert e = sum_a prefix[e][a] * P(suffix[e+1] <= top_k - 1 - a)
    below = np.einsum("egk,egk->eg", prefix[:-1], suffix_cdf[1:, :, ::-1])
    integrand = w[:, None] * u[None, :] * np.exp(-np.outer(w, u)) * below
    incl = np.trapezoid(integrand, log_u, axis=1)
    return incl * (top_k / incl.sum())  # absorbs the ~1e-9 quadrature error


def _count_tables(p: np.ndarray, top_k: int) -> np.ndarray:
    """(experts+1, grid, top_k): P(count == j) among the first i experts, counts < top_k kept."""
    grid, n = p.shape
    tables = np.zeros((n + 1, grid, top_k))
    tables[0, :, 0] = 1.0
    for i in range(n):
        prev, pi = tables[i], p[:, i : i + 1]
        tables[i + 1] = prev * (1.0 - pi)
        tables[i + 1, :, 1:] += prev[:, :-1] * pi
    return tables


def expected_expert_loads(tokens: int, experts: int, top_k: int,
                          routing: Routing = "uniform", zipf_s: float = 1.0) -> np.ndarray:
    """Expected tokens per expert, float64 (experts,), in popularity rank order (most first).

    ``tokens * P(expert chosen)`` under :func:`moe_routes`' law; the ids of the ranks depend on
    the seed, the loads do not. Uniform: ``tokens * top_k / experts`` each. Balanced: the exact
    round-robin loads, ``(tokens * top_k) mod experts`` experts one above the floor of the mean.
    """
    _check_routing(tokens, experts, top_k, routing)
    if routing == "balanced":
        base, extra = divmod(tokens * top_k, experts)
        return np.where(np.arange(experts) < extra, base + 1, base).astype(np.float64)
    skew = float(zipf_s) if routing == "zipf" else 0.0
    return tokens * _inclusion_probabilities(experts, top_k, skew)


def expected_dropped(tokens: int, experts: int, top_k: int, capacity_factor: float,
                     routing: Routing = "uniform", zipf_s: float = 1.0) -> float:
    """Expected dropped token-expert assignments with capacity :func:`expert_capacity`.

    Tokens route independently, so expert e's load is Binomial(n = tokens, pi_e) and
    ``E[max(0, L - C)] = n pi P(Binomial(n - 1, pi) >= C) - C P(L > C)`` (exact, no normal or
    Poisson approximation), summed over experts. Uniform routing still drops by chance.
    """
    cap = expert_capacity(tokens, experts, top_k, capacity_factor)
    loads = expected_expert_loads(tokens, experts, top_k, routing, zipf_s)
    if routing == "balanced":  # deterministic loads: the excess over capacity, exactly
        return float(np.clip(loads - cap, 0.0, None).sum())
    pi = loads / max(tokens, 1)
    if tokens == 0:
        return 0.0
    from scipy import stats  # here, not at import (slow)

    above = tokens * pi * stats.binom.sf(cap - 1, tokens - 1, pi) - cap * stats.binom.sf(
        cap, tokens, pi)
    return float(np.clip(above, 0.0, None).sum())


# --------------------------------------------------------------------------- attention gates


def _kept_units(layers: int, units: int, keep_ratio: float, depth_decay: float) -> np.ndarray:
    _check_fraction("keep_ratio", keep_ratio)
    _check_fraction("depth_decay", depth_decay)
    ratio = keep_ratio * (1.0 - depth_decay) ** np.arange(layers)
    return np.clip(_round_half_up(ratio * units), 1, units).astype(np.int64)


def attention_keep_fraction(layers: int, units: int, keep_ratio: float, *,
                            depth_decay: float = 0.0) -> np.ndarray:
    """Kept fraction per layer, float64 (layers,): ``max(1, round(r_l * units)) / units``.

    ``r_l = keep_ratio * (1 - depth_decay)^l``; ``units`` is kv blocks (block/token
    granularity) or heads (head granularity). This is exactly what
    :func:`attention_gate_masks` keeps.
    """
    return _kept_units(layers, units, keep_ratio, depth_decay) / units


def attention_gate_masks(layers: int, heads: int, q_blocks: int, kv_blocks: int,
                         keep_ratio: float, *, seed: Seed, depth_decay: float = 0.0,
                         granularity: Literal["head", "block", "token"] = "block") -> np.ndarray:
    """Kept attention work, bool (layers, heads, q_blocks, kv_blocks).

    Layer l keeps :func:`attention_keep_fraction` of its units, chosen uniformly at random:
    ``block`` keeps that many kv blocks in every (head, query block) row (at least one);
    ``head`` keeps whole heads (at least one per layer); ``token`` is ``block`` with blocks of
    one token (pass token counts as q_blocks, kv_blocks). No causal structure is imposed.
    """
    if min(layers, heads, q_blocks, kv_blocks) < 1:
        raise ValueError("layers, heads, q_blocks and kv_blocks must be >= 1")
    if granularity not in ("head", "block", "token"):
        raise ValueError(f"unknown attention gate granularity {granularity!r}")
    rng = np.random.default_rng(_seed_seq(seed))
    units = heads if granularity == "head" else kv_blocks
    kept = _kept_units(layers, units, keep_ratio, depth_decay)
    out = np.zeros((layers, heads, q_blocks, kv_blocks), dtype=bool)
    for layer in range(layers):
        if granularity == "head":
            out[layer, rng.permutation(heads)[: kept[layer]]] = True
            continue
        keys = rng.random((heads * q_blocks, kv_blocks))
        chosen = np.argpartition(keys, kept[layer] - 1, axis=1)[:, : kept[layer]]
        flat = out[layer].reshape(heads * q_blocks, kv_blocks)
        np.put_along_axis(flat, chosen, True, axis=1)
    return out


# --------------------------------------------------------------------------- N:M


def nm_mask(rows: int, cols: int, n: int, m: int, *, seed: Seed) -> np.ndarray:
    """N:M structured mask, bool (rows, cols): exactly n of every m consecutive columns.

    Groups are aligned at multiples of m; which n are kept is uniform at random. A last partial
    group of g < m columns keeps ``min(n, g)``.
    """
    if not 1 <= n <= m or rows < 0 or cols < 1:
        raise ValueError(f"need 1 <= n <= m, rows >= 0, cols >= 1; got {n}:{m}, {rows}x{cols}")
    groups = -(-cols // m)
    keys = np.random.default_rng(_seed_seq(seed)).random((rows, groups, m))
    keys.reshape(rows, groups * m)[:, cols:] = 2.0  # padding never wins while real columns remain
    chosen = np.argpartition(keys, n - 1, axis=2)[:, :, :n]
    out = np.zeros((rows, groups, m), dtype=bool)
    np.put_along_axis(out, chosen, True, axis=2)
    return out.reshape(rows, groups * m)[:, :cols]


# --------------------------------------------------------------------------- dispatch


def all_active(tokens: int, k_dim: int) -> PackedMask:
    """Dense mask: every element of every token active (built packed, no boolean pass)."""
    row = pack(np.ones((1, k_dim), dtype=bool))
    return PackedMask(np.repeat(row, tokens, axis=0), k_dim)


def realise(spec: object, tokens: int, k_dim: int, seed: int) -> PackedMask:
    """Activation mask (tokens x K) of a matmul's input operand under ``spec``.

    ``dense``, and ``nm`` on weights, leave activations dense (all ones); ``topk``, ``relu`` and
    ``nm`` on activations are realised here. The caller's ``seed`` is mixed with the spec's
    ``variability.seed`` so either changes the draws. ``moe``, ``attention_gate`` and ``trace``
    are not activation masks of one operand: use :func:`moe_routes`,
    :func:`attention_gate_masks` or :func:`hwsim.sparsity.traces.load_trace`.
    """
    if isinstance(spec, DenseSpec) or (isinstance(spec, NmSpec) and spec.operand == "weights"):
        return all_active(tokens, k_dim)
    if isinstance(spec, TopKSpec):
        return topk_masks(tokens, k_dim, spec.density,
                          seed=np.random.SeedSequence([seed, spec.variability.seed]),
                          popularity_skew=spec.popularity_skew,
                          token_correlation=spec.token_correlation,
                          granularity=spec.granularity, block=spec.block,
                          density_std=spec.variability.std)
    if isinstance(spec, ReluSpec):
        return relu_masks(tokens, k_dim, spec.density,
                          seed=np.random.SeedSequence([seed, spec.variability.seed]),
                          density_std=spec.variability.std)
    if isinstance(spec, NmSpec):
        return PackedMask(pack(nm_mask(tokens, k_dim, spec.n, spec.m, seed=seed)), k_dim)
    if isinstance(spec, TraceSpec):
        raise input_error(spec.path, "trace masks are loaded, not realised", field="kind",
                          given="trace",
                          hint="use hwsim.sparsity.traces.load_trace(path) for this op's mask")
    kind = getattr(spec, "kind", type(spec).__name__)
    raise input_error("sparsity", "this sparsity kind has no activation mask", field="kind",
                      given=kind, hint="use moe_routes (moe) or attention_gate_masks "
                      "(attention_gate) from hwsim.sparsity.realise")


def shifted_density(spec: TopKSpec | ReluSpec, k_dim: int, z: float) -> float:
    """The spec's density moved by ``z`` standard deviations of its per-input variability (one
    input busier or quieter than average), kept within [1/k_dim, 1]."""
    return float(np.clip(spec.density + z * spec.variability.std, 1.0 / k_dim, 1.0))


def spec_masks(spec: object, tokens: int, k_dim: int, *, seed: Seed,
               z: float = 0.0) -> PackedMask | None:
    """Seeded activation masks of ``tokens`` rows for a top-k, ReLU or activation N:M spec, at
    the density ``z`` shifts it to; None for kinds realised elsewhere (traces, weight N:M, MoE,
    dense). The one place every cycle engine (accelerator, GPU, MCU) draws its masks."""
    if isinstance(spec, TopKSpec):
        return topk_masks(tokens, k_dim, shifted_density(spec, k_dim, z), seed=seed,
                          popularity_skew=spec.popularity_skew,
                          token_correlation=spec.token_correlation,
                          granularity=spec.granularity, block=spec.block,
                          density_std=spec.variability.std)
    if isinstance(spec, ReluSpec):
        return relu_masks(tokens, k_dim, shifted_density(spec, k_dim, z), seed=seed,
                          density_std=spec.variability.std)
    if isinstance(spec, NmSpec) and spec.operand == "activations":
        return PackedMask(pack(nm_mask(tokens, k_dim, spec.n, spec.m, seed=seed)), k_dim)
    return None
