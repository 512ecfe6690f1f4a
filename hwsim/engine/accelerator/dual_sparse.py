"""Both-sided sparsity: what a PE that skips zero weights *and* zero activations computes.

A chip with ``sparse_features.weight_skipping`` (and ``zero_skipping``) issues a product only
when both operands are nonzero. With independent masks of densities ``d_a`` (activations) and
``d_w`` (weights) the useful products are ``d_a * d_w`` of the dense MACs; how many cycles they
take depends on how the PE pairs the nonzeros (``sparse_features.pe_join``):

- ``intersect`` (Eyeriss v2's CSC PE, Chen et al. JETCAS 2019; SparTen's bitmask inner join,
  Gondimalla et al. MICRO 2019): one useful product per MAC per cycle, so a lane's work is the
  count of matching nonzero pairs along K. An output-stationary fold lasts its busiest lane
  (the expected maximum over the fold's lanes) unless the chip balances the lanes
  (``load_balance: greedy``, SparTen's greedy filter sorting: the mean lane's work).
- ``cartesian`` (SCNN, Parashar et al. ISCA 2017): a PE holds a planar tile of the input
  activations; per input channel it multiplies every vector of F nonzero weights by every
  vector of I nonzero activations on an F x I multiplier array. Partly filled vectors waste
  multipliers (fragmentation: ``E[Nw Na] / (F I E[ceil(Nw/F)] E[ceil(Na/I)])``), the F*I
  products per cycle scatter to ``accumulator_banks`` banks (a fluid model: at most one write
  per bank per cycle, so fewer banks than products throttle the array to banks/(F I)), and all
  PEs of an output group wait for the one with the most activation vectors summed over the
  input channels (inter-PE imbalance: the weights are broadcast, so only the activation tiles
  differ; the expected maximum over PEs of that sum, normal approximation). The same join
  is the Dual-side Sparse Tensor Core's outer product (Wang et al., ISCA 2021): per k the
  nonzeros of an A column segment times those of a B row segment, the segments bounded by the
  accumulator's output tile (``activation_group`` x ``output_group``, 32 x 32 there).

The result is an effective K for the engine's fold formulas: the dense K times the ratio of
the PE's sparse cycles to its dense cycles, so the array's own fold and fill timing stays the
engine's. Nothing here is fitted.
"""

from __future__ import annotations

import math

import numpy as np

from hwsim.config.chip import AcceleratorChip, SparseFeatures


def ceil_binomial_moments(n: int, density: float, width: int) -> tuple[float, float]:
    """Mean and variance of ceil(N / width) for N ~ Binomial(n, density): the vectors of
    ``width`` a PE issues for ``N`` nonzeros out of ``n`` candidates."""
    if n <= 0:
        return 0.0, 0.0
    if density >= 1.0:
        return float(math.ceil(n / width)), 0.0
    from scipy import stats  # here, not at import (slow)

    counts = np.arange(n + 1)
    pmf = stats.binom.pmf(counts, n, density)
    vectors = np.ceil(counts / width)
    mean = float(np.dot(pmf, vectors))
    return mean, max(0.0, float(np.dot(pmf, vectors**2)) - mean * mean)


def expected_ceil_binomial(n: int, density: float, width: int) -> float:
    """E[ceil(N / width)] for N ~ Binomial(n, density)."""
    return ceil_binomial_moments(n, density, width)[0]


def expected_max_of_sums(mean: float, var: float, terms: int, lanes: int) -> float:
    """Expected largest of ``lanes`` independent sums of ``terms`` iid terms (each of the given
    mean and variance): the normal approximation with Blom's expected maximum, as
    :func:`hwsim.sparsity.realise.expected_max_lane_nnz` does for counts."""
    if lanes <= 1 or var <= 0.0:
        return terms * mean
    from scipy import stats  # here, not at import (slow)

    m_l = float(stats.norm.ppf((lanes - 0.375) / (lanes + 0.25)))
    return terms * mean + math.sqrt(terms * var) * m_l


def cartesian_utilisation(v_w: int, d_w: float, v_a: int, d_a: float, f: int, i: int) -> float:
    """Fraction of an F x I multiplier array's slots doing useful products when ``v_w`` weight
    and ``v_a`` activation candidates (densities ``d_w``, ``d_a``, independent) of one input
    channel are multiplied as a Cartesian product of F- and I-wide vectors."""
    useful = v_w * d_w * v_a * d_a
    slots = f * i * expected_ceil_binomial(v_w, d_w, f) * expected_ceil_binomial(v_a, d_a, i)
    return 1.0 if slots <= 0 else useful / slots


def bank_throughput(f: int, i: int, banks: int) -> float:
    """Products accepted per issued product when F*I products a cycle scatter to ``banks``
    accumulator banks that take one write each per cycle (queued, so only the mean rate
    matters: a throttle only when the banks are fewer than the products)."""
    return min(1.0, banks / float(f * i))


def cartesian_ratio(d_a: float, d_w: float, m: int, n: int, k: int, window: int,
                    rows: int, cols: int, feat: SparseFeatures) -> float:
    """SCNN PE cycles of the sparse GEMM over its dense cycles on the same multipliers.

    ``m`` output positions (the planar tile is split over the PEs, in groups of
    ``activation_group`` when set), ``n`` output channels (in groups of ``output_group``),
    ``k = C * window`` (window = R*S for a convolution)."""
    f, i = feat.cartesian_f, feat.cartesian_i
    # F x I multiplier arrays in the rows x cols multipliers, however they are oriented
    pes = max(1, (rows * cols) // (f * i))
    channels = max(1, k // max(1, window))
    v_a = max(1, math.ceil(m / pes))
    if feat.activation_group is not None:  # the accumulator tile bounds the vector stream
        v_a = min(v_a, feat.activation_group)
    v_w = min(n, feat.output_group) * max(1, window)
    dense = math.ceil(v_w / f) * math.ceil(v_a / i)
    w_vectors = expected_ceil_binomial(v_w, d_w, f)
    # the weights are broadcast, so PEs differ only in their activation vectors per channel;
    # each output group waits for the PE with the most (summed over the input channels)
    a_mean, a_var = ceil_binomial_moments(v_a, d_a, i)
    slowest = expected_max_of_sums(a_mean, a_var, channels, pes) / channels
    sparse = w_vectors * slowest
    return sparse / bank_throughput(f, i, feat.accumulator_banks) / dense


def intersect_lane_work(d_a: float, d_w: float, k: int, lanes: int, chip: AcceleratorChip
                        ) -> float:
    """Elements of K the busiest of ``lanes`` PEs of a fold processes when only matching
    nonzero pairs issue (the mean PE's when the chip balances its PEs or K is not streamed in
    time). Every PE of an output-stationary fold pairs its own token with its own filter, so
    each is a lane: ``lanes`` = the fold's rows x columns."""
    from hwsim.sparsity.realise import expected_max_lane_nnz

    w = d_a * d_w
    if chip.dataflow != "os" or chip.sparse_features.load_balance == "greedy" or lanes <= 1:
        return k * w
    return float(expected_max_lane_nnz(k, w, lanes))
