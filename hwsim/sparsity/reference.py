"""Pure-numpy references for :mod:`hwsim.kernels.sparsity_kernels`.

The obvious implementations (unpack to booleans, then sum / any): slow and memory hungry, but easy
to check by eye. The tests compare every kernel with its twin here, and the benchmark uses them as
the baseline.
"""

from __future__ import annotations

import numpy as np

from hwsim.sparsity.masks import pack, unpack


def _bool(bits: np.ndarray, k_dim: int | None = None) -> np.ndarray:
    """Unpacked mask; without ``k_dim`` all bits of every byte (padding is zero)."""
    return unpack(bits, bits.shape[1] * 8 if k_dim is None else k_dim)


def _pad(mask: np.ndarray, rows: int, cols: int) -> np.ndarray:
    out = np.zeros((rows, cols), dtype=mask.dtype)
    out[: mask.shape[0], : mask.shape[1]] = mask
    return out


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def popcount_rows(bits: np.ndarray) -> np.ndarray:
    """Active elements per token: int32 (tokens,)."""
    return _bool(bits).sum(axis=1).astype(np.int32)


def tile_nonzero_counts(bits: np.ndarray, k_dim: int, tile_tokens: int,
                        tile_k: int) -> np.ndarray:
    """Active elements per (token tile, K tile): int32 (ceil(T/tile_tokens), ceil(K/tile_k))."""
    mask = _bool(bits, k_dim)
    n_tt, n_kt = _cdiv(mask.shape[0], tile_tokens), _cdiv(k_dim, tile_k)
    padded = _pad(mask, n_tt * tile_tokens, n_kt * tile_k)
    return padded.reshape(n_tt, tile_tokens, n_kt, tile_k).sum(axis=(1, 3)).astype(np.int32)


def token_work(bits: np.ndarray, k_dim: int, block: int) -> np.ndarray:
    """Active elements (block=1) or blocks with any active element, per token: int32."""
    mask = _bool(bits, k_dim)
    n_blocks = _cdiv(k_dim, block)
    padded = _pad(mask, mask.shape[0], n_blocks * block)
    return padded.reshape(mask.shape[0], n_blocks, block).any(axis=2).sum(axis=1).astype(np.int32)


def lane_work(bits: np.ndarray, k_dim: int, lanes: int,
              block: int) -> tuple[np.ndarray, np.ndarray]:
    """Per fold of ``lanes`` tokens: (max lane work int32, total work int64)."""
    work = token_work(bits, k_dim, block)
    n_folds = _cdiv(work.shape[0], lanes)
    folded = np.zeros(n_folds * lanes, dtype=np.int64)
    folded[: work.shape[0]] = work
    folded = folded.reshape(n_folds, lanes)
    return folded.max(axis=1, initial=0).astype(np.int32), folded.sum(axis=1)


def _group_any(bits: np.ndarray, batch: int) -> np.ndarray:
    mask = _bool(bits)
    n_groups = _cdiv(mask.shape[0], batch)
    padded = _pad(mask, n_groups * batch, mask.shape[1])
    return padded.reshape(n_groups, batch, mask.shape[1]).any(axis=1)


def batch_union_counts(bits: np.ndarray, batch: int) -> np.ndarray:
    """K positions active in any token of each group of ``batch`` tokens: int32 (groups,)."""
    return _group_any(bits, batch).sum(axis=1).astype(np.int32)


def union_bits(bits: np.ndarray, batch: int) -> np.ndarray:
    """Packed union of each group of ``batch`` tokens: uint8 (groups, bytes)."""
    return pack(_group_any(bits, batch)).reshape(-1, bits.shape[1])


def expert_loads(routes: np.ndarray, experts: int,
                 capacity: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(loads int64[E], kept int64[E], dropped): tokens past ``capacity`` per expert drop.

    The counts do not depend on arrival order (only which tokens drop does): the first
    ``capacity`` arrivals at an expert are kept, so kept = min(load, capacity).
    """
    loads = np.bincount(np.asarray(routes).ravel(), minlength=experts).astype(np.int64)
    kept = np.minimum(loads, capacity)
    return loads, kept, int((loads - kept).sum())
