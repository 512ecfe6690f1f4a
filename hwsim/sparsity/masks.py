"""Bit-packed activation masks.

An activation mask covers a matmul's input operand A (tokens x K): a set bit means the element
(neuron) is active, i.e. nonzero. Rows are packed with ``np.packbits(mask, axis=1,
bitorder="little")``: element ``k`` of a token is bit ``k % 8`` of byte ``k // 8``, so a mask
takes ``ceil(K/8)`` bytes per token and K travels alongside. Padding bits past K are always zero;
the kernels in :mod:`hwsim.kernels.sparsity_kernels` rely on that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def packed_width_bytes(k_dim: int) -> int:
    """Bytes per token of a packed mask over ``k_dim`` elements."""
    return (k_dim + 7) // 8


def pack(mask: np.ndarray) -> np.ndarray:
    """Pack a boolean (tokens, K) mask into uint8 (tokens, ceil(K/8)), little bit order."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (tokens, K), got shape {mask.shape}")
    if mask.dtype != np.bool_:
        raise ValueError(f"mask must be boolean, got dtype {mask.dtype}")
    return np.ascontiguousarray(np.packbits(mask, axis=1, bitorder="little"))


def unpack(packed: np.ndarray, k_dim: int) -> np.ndarray:
    """Boolean (tokens, k_dim) mask from packed uint8 rows (the inverse of :func:`pack`)."""
    packed = np.asarray(packed)
    if packed.dtype != np.uint8 or packed.ndim != 2:
        raise ValueError(f"packed mask must be 2-D uint8, got {packed.dtype} {packed.shape}")
    if packed.shape[1] != packed_width_bytes(k_dim):
        raise ValueError(f"packed width {packed.shape[1]} bytes does not fit K={k_dim}")
    return np.unpackbits(packed, axis=1, count=k_dim, bitorder="little").astype(bool)


def padding_is_clear(packed: np.ndarray, k_dim: int) -> bool:
    """True when every bit past ``k_dim`` in the last byte of each row is zero."""
    spare_bits = packed.shape[1] * 8 - k_dim
    if spare_bits == 0 or packed.shape[0] == 0:
        return True
    high = np.uint8((0xFF << (8 - spare_bits)) & 0xFF)
    return not np.any(packed[:, -1] & high)


@dataclass(frozen=True, eq=False)
class PackedMask:
    """A packed activation mask: ``bits`` uint8 (tokens, ceil(k_dim/8)), ``k_dim`` elements."""

    bits: np.ndarray
    k_dim: int

    def __post_init__(self) -> None:
        bits = self.bits
        if not isinstance(bits, np.ndarray) or bits.dtype != np.uint8 or bits.ndim != 2:
            raise ValueError("PackedMask.bits must be a 2-D uint8 numpy array")
        if self.k_dim < 1:
            raise ValueError(f"PackedMask.k_dim must be >= 1, got {self.k_dim}")
        if bits.shape[1] != packed_width_bytes(self.k_dim):
            raise ValueError(f"PackedMask.bits has {bits.shape[1]} bytes per token; "
                             f"K={self.k_dim} needs {packed_width_bytes(self.k_dim)}")
        if not padding_is_clear(bits, self.k_dim):
            raise ValueError("PackedMask.bits has set bits past k_dim (padding must be zero)")
        # Kernels take uint64 views of the rows: keep one contiguous, read-only buffer.
        # A read-only view, so the caller's own array stays writeable.
        frozen = np.ascontiguousarray(bits).view()
        frozen.flags.writeable = False
        object.__setattr__(self, "bits", frozen)

    @classmethod
    def from_bool(cls, mask: np.ndarray) -> PackedMask:
        """Pack a boolean (tokens, K) mask."""
        mask = np.asarray(mask)
        return cls(pack(mask), int(mask.shape[1]) if mask.ndim == 2 else 0)

    @property
    def tokens(self) -> int:
        """Number of tokens (rows)."""
        return int(self.bits.shape[0])

    def to_bool(self) -> np.ndarray:
        """Boolean (tokens, k_dim) mask."""
        return unpack(self.bits, self.k_dim)

    def density(self) -> float:
        """Fraction of active elements over all tokens (0.0 for a mask with no tokens)."""
        if self.tokens == 0:
            return 0.0
        return float(np.bitwise_count(self.bits).sum(dtype=np.int64)) / (self.tokens * self.k_dim)
