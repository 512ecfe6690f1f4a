"""Which keys each query of an attention op sees: causal masks, sliding windows, GQA groups.

Queries are the last ``seq_q`` positions of a ``seq_kv``-token sequence (prefill has
``seq_q == seq_kv``; decode and chunked prefill append ``seq_q`` new tokens to a KV cache of
``seq_kv - seq_q``), so query ``i`` (0-based) sits at position ``p = seq_kv - seq_q + i``.

- full attention: keys ``[0, seq_kv)``;
- causal: keys ``[0, p]``;
- causal with ``window`` w (Mistral's sliding window, Jiang et al. 2023, Sec. 2): the last w
  of those, ``[max(0, p - w + 1), p]``;
- full with a window: a band of ``min(w, seq_kv)`` keys centred on ``p`` (local attention).

Everything downstream (MACs, the lowered GEMMs, FlashAttention tile skipping, the KV cache)
derives from these key ranges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class AttentionShape:
    """The geometry of one attention op (per input; the simulation batch multiplies it)."""

    heads: int
    kv_heads: int
    seq_q: int
    seq_kv: int
    head_dim: int
    causal: bool = False
    window: int | None = None

    @property
    def group(self) -> int:
        """Query heads that share one K/V head (grouped-query attention)."""
        return self.heads // self.kv_heads

    @property
    def visible_pairs(self) -> int:
        """(query, key) pairs inside the mask, per head: the sum over queries of keys seen."""
        return visible_pairs(self.seq_q, self.seq_kv, self.causal, self.window)

    @property
    def keys_per_query(self) -> int:
        """Mean keys a query sees, rounded up (the N of the lowered QK^T GEMM)."""
        return max(1, -(-self.visible_pairs // self.seq_q))

    @property
    def cached_keys(self) -> int:
        """Keys the KV cache must hold: all of them, or the window's worth for a rolling
        cache (a sliding window never looks further back)."""
        return self.seq_kv if self.window is None else min(self.seq_kv, self.window)

    def key_ranges(self) -> tuple[np.ndarray, np.ndarray]:
        """Per query, the first and one-past-last key it sees (int64 arrays of ``seq_q``)."""
        pos = np.arange(self.seq_kv - self.seq_q, self.seq_kv, dtype=np.int64)
        return key_ranges(pos, self.seq_kv, self.causal, self.window)

    @property
    def keys_touched(self) -> int:
        """Distinct keys any query sees: what must be read from memory at least once."""
        pos = np.array([self.seq_kv - self.seq_q, self.seq_kv - 1], dtype=np.int64)
        lo, hi = key_ranges(pos, self.seq_kv, self.causal, self.window)
        return int(hi[1] - lo[0])

    def block_spans(self, rows_per_block: int, kv_block: int) -> tuple[int, int, int]:
        """FlashAttention tile skipping. Query rows (``group`` rows per query position: the
        GQA heads of a K/V head packed together, head fastest) go in blocks of
        ``rows_per_block``, keys in tiles of ``kv_block``; a block computes every key tile
        holding a key visible to any of its rows, and skips the rest.

        Returns, per K/V head: query blocks, keys read summed over blocks, and (row, key)
        pairs computed (masked ones on partial tiles included)."""
        rows = self.group * self.seq_q
        blocks = math.ceil(rows / rows_per_block)
        if not self.causal and self.window is None:
            return blocks, blocks * self.seq_kv, rows * self.seq_kv
        first_row = np.arange(blocks, dtype=np.int64) * rows_per_block
        last_row = np.minimum(first_row + rows_per_block, rows) - 1
        offset = self.seq_kv - self.seq_q
        lo, _ = key_ranges(first_row // self.group + offset, self.seq_kv, self.causal,
                           self.window)
        _, hi = key_ranges(last_row // self.group + offset, self.seq_kv, self.causal,
                           self.window)
        end = np.minimum(-(-hi // kv_block) * kv_block, self.seq_kv)
        span = end - (lo // kv_block) * kv_block
        return blocks, int(np.sum(span)), int(np.sum(span * (last_row - first_row + 1)))


def key_ranges(pos: np.ndarray, seq_kv: int, causal: bool,
               window: int | None) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last key seen by queries at positions ``pos``."""
    if causal:
        hi = pos + 1
        lo = np.zeros_like(hi) if window is None else np.maximum(0, hi - window)
        return lo, hi
    if window is None or window >= seq_kv:
        return np.zeros_like(pos), np.full_like(pos, seq_kv)
    lo = np.clip(pos - (window - 1) // 2, 0, seq_kv - window)
    return lo, lo + window


@lru_cache(maxsize=4096)
def visible_pairs(seq_q: int, seq_kv: int, causal: bool, window: int | None) -> int:
    """Sum over the ``seq_q`` queries of the keys each sees (module docstring)."""
    if not causal:
        return seq_q * (seq_kv if window is None else min(window, seq_kv))
    offset = seq_kv - seq_q
    if window is None:  # query i sees offset + i + 1 keys
        return seq_q * offset + seq_q * (seq_q + 1) // 2
    # Query i sees min(window, offset + i + 1): a ramp until the window is full, then flat.
    ramp = max(0, min(seq_q, window - offset))  # queries still filling the window
    return ramp * offset + ramp * (ramp + 1) // 2 + (seq_q - ramp) * window
