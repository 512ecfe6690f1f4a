"""N:M structured weight sparsity on an array that supports one N:M pattern.

A chip with ``sparse_features.nm = (n, m)`` stores each group of m consecutive weights of a
filter column as n (value, index) slots and multiplies only the slots, so its reduction is the
number of slots, not K. Two facts the closed form needs:

- A weight pattern fits the chip's when every chip group of m weights has at most n nonzeros.
  1:4 weights are valid 2:4 weights (the empty slot holds a zero), and so are 1:8 weights
  (each half of a group of 8 has at most one nonzero); 3:8 weights are not 2:4 (a half may
  hold all three). Weights that do not fit are stored and computed dense.
- A K that m does not divide leaves a tail group of ``K mod m`` weights, which needs at most
  ``min(K mod m, n)`` slots: slots = n * (K // m) + min(K mod m, n). (SCALE-Sim v3's layer-wise
  N:M compresses the filter matrix to exactly this many rows.)
"""

from __future__ import annotations

import math


def nm_fits(weights: tuple[int, int], chip: tuple[int, int]) -> bool:
    """True when weights that are ``weights`` = (n, m) sparse are valid ``chip`` = (n, m)."""
    n_w, m_w = weights
    n_c, m_c = chip
    if n_w * m_c > n_c * m_w:  # denser than the chip's pattern: never fits
        return False
    if m_w % m_c == 0:  # a chip group lies inside one weight group: at most n_w nonzeros
        return n_w <= n_c
    if m_c % m_w == 0:  # a chip group spans m_c / m_w whole weight groups
        return n_w * (m_c // m_w) <= n_c
    return False  # groups straddle each other: a chip group can collect too many nonzeros


def nm_slots(k: int, n: int, m: int) -> int:
    """Reduction rows a K-long filter column occupies on an n:m array (>= 1)."""
    if n >= m:
        return k
    return max(1, n * (k // m) + min(k % m, n))


def nm_metadata_bits(m: int) -> int:
    """Index bits per kept slot: its position within the group of m."""
    return math.ceil(math.log2(m)) if m > 1 else 0
