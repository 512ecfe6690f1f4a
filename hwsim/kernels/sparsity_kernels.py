"""Numba kernels over bit-packed activation masks (see :mod:`hwsim.sparsity.masks`).

``bits`` is always uint8 (tokens, ceil(K/8)) in little bit order with zero padding past K. Rows
are read as uint64 words (bit ``k`` of a row is bit ``k % 64`` of word ``k // 64`` on a
little-endian host, which x86-64 and AArch64 are), and words are counted with the SWAR popcount
below, which LLVM turns into the hardware popcount instruction and vectorises: throughput is close
to memory bandwidth, where a per-bit loop would be two orders of magnitude slower. When a row's
byte width is not a multiple of 8 the rows are not word aligned: counting kernels then copy each
row (or token tile) into zero-padded scratch words that stay in cache, and the union kernels OR
bytes instead of words.

Each kernel has a pure-numpy twin in :mod:`hwsim.sparsity.reference` that the tests compare with.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_ZERO = np.uint64(0)
_ONE = np.uint64(1)


@njit(inline="always")
def _popcount64(x):
    # Numba mixes uint64 with int64 into float64: every constant and shift is uint64 on purpose.
    x = x - ((x >> _ONE) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return (x * _H01) >> np.uint64(56)


@njit(inline="always")
def _byte_popcounts(x):
    """The first SWAR steps only: each byte of the result is the popcount (0..8) of that byte."""
    x = x - ((x >> _ONE) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    return (x + (x >> np.uint64(4))) & _M4


@njit(inline="always")
def _row_popcount(row, n_words):
    s = _ZERO
    for j in range(n_words):
        s += _popcount64(row[j])
    return s


@njit(inline="always")
def _range_popcount(row, lo, hi):
    """Set bits of ``row`` in bit positions [lo, hi)."""
    if hi <= lo:
        return 0
    w_lo = lo >> 6
    w_hi = (hi - 1) >> 6
    m_lo = _ALL << np.uint64(lo & 63)
    m_hi = _ALL >> np.uint64(63 - ((hi - 1) & 63))
    if w_lo == w_hi:
        return int(_popcount64(row[w_lo] & m_lo & m_hi))
    s = _popcount64(row[w_lo] & m_lo)
    for j in range(w_lo + 1, w_hi):
        s += _popcount64(row[j])
    s += _popcount64(row[w_hi] & m_hi)
    return int(s)


@njit(inline="always")
def _range_or(row, lo, hi):
    """OR of the bits of ``row`` in positions [lo, hi), as a word (nonzero iff any is set)."""
    if hi <= lo:
        return _ZERO
    w_lo = lo >> 6
    w_hi = (hi - 1) >> 6
    m_lo = _ALL << np.uint64(lo & 63)
    m_hi = _ALL >> np.uint64(63 - ((hi - 1) & 63))
    if w_lo == w_hi:
        return row[w_lo] & m_lo & m_hi
    acc = row[w_lo] & m_lo
    for j in range(w_lo + 1, w_hi):
        acc |= row[j]
    return acc | (row[w_hi] & m_hi)


@njit(cache=True)
def _check_k_dim(bits, k_dim):
    if k_dim < 1 or (k_dim + 7) // 8 != bits.shape[1]:
        raise ValueError("k_dim does not match the packed width of bits (ceil(k_dim/8) bytes)")


@njit(cache=True)
def popcount_rows(bits):
    """Active elements per token: int32 (tokens,)."""
    b = np.ascontiguousarray(bits)
    n_tokens, n_bytes = b.shape
    n_words = (n_bytes + 7) // 8
    out = np.empty(n_tokens, np.int32)
    if n_bytes % 8 == 0:
        words = b.view(np.uint64)
        for r in range(n_tokens):
            out[r] = np.int32(_row_popcount(words[r], n_words))
    else:
        scratch8 = np.zeros(n_words * 8, np.uint8)
        scratch64 = scratch8.view(np.uint64)
        for r in range(n_tokens):
            scratch8[:n_bytes] = b[r]
            out[r] = np.int32(_row_popcount(scratch64, n_words))
    return out


@njit(inline="always")
def _tile_row(row, k_dim, tile_k, n_kt, out_row):
    for kt in range(n_kt):
        lo = kt * tile_k
        out_row[kt] += _range_popcount(row, lo, min(lo + tile_k, k_dim))


# Byte lanes hold counts up to 255 and each row adds at most 8 per byte.
_ROWS_PER_FLUSH = 31


@njit(cache=True)
def _tile_rows_bytewise(words, n_bytes, bytes_per_tile, out_row, acc, byte_counts):
    """One token tile, tile_k a multiple of 8: add its per-(K tile) counts to ``out_row``.

    Popcounts are summed down the tile per byte position, eight byte lanes per uint64 (no
    per-tile work per row), flushed into int64 per-byte totals every 31 rows, and only then
    reduced into K tiles, so the cost per row does not depend on the number of K tiles.
    """
    acc8 = acc.view(np.uint8)
    byte_counts[:] = 0
    for start in range(0, words.shape[0], _ROWS_PER_FLUSH):
        acc[:] = _ZERO
        for r in range(start, min(start + _ROWS_PER_FLUSH, words.shape[0])):
            row = words[r]
            for j in range(acc.shape[0]):
                acc[j] += _byte_popcounts(row[j])
        for i in range(n_bytes):
            byte_counts[i] += acc8[i]
    for kt in range(out_row.shape[0]):
        lo = kt * bytes_per_tile
        out_row[kt] += byte_counts[lo : min(lo + bytes_per_tile, n_bytes)].sum()


@njit(cache=True)
def _tile_rows_wordwise(words, words_per_tile, out_row, word_counts):
    """One token tile, tile_k a multiple of 64: per-word popcounts summed down the tile (a
    loop LLVM vectorises with the popcount instruction), then reduced into K tiles."""
    n_words = word_counts.shape[0]
    word_counts[:] = 0
    for r in range(words.shape[0]):
        row = words[r]
        for j in range(n_words):
            word_counts[j] += np.int64(_popcount64(row[j]))
    for kt in range(out_row.shape[0]):
        lo = kt * words_per_tile
        out_row[kt] += word_counts[lo : min(lo + words_per_tile, n_words)].sum()


@njit(cache=True)
def _tile_rows(words, n_bytes, tile_k, out_row, acc, counts):
    if tile_k % 64 == 0:
        _tile_rows_wordwise(words, tile_k // 64, out_row, counts[: acc.shape[0]])
    else:
        _tile_rows_bytewise(words, n_bytes, tile_k // 8, out_row, acc, counts[:n_bytes])


@njit(cache=True)
def tile_nonzero_counts(bits, k_dim, tile_tokens, tile_k):
    """Active elements per (token tile, K tile): int32 (ceil(T/tile_tokens), ceil(K/tile_k)).

    Edge tiles are short. Any ``tile_k >= 1`` is correct; multiples of 64 (whole words) and of
    8 (byte lanes) take fast paths, others count bit ranges row by row (several times slower).
    """
    _check_k_dim(bits, k_dim)
    if tile_tokens < 1 or tile_k < 1:
        raise ValueError("tile_tokens and tile_k must be >= 1")
    b = np.ascontiguousarray(bits)
    n_tokens, n_bytes = b.shape
    n_words = (n_bytes + 7) // 8
    n_tt = (n_tokens + tile_tokens - 1) // tile_tokens
    n_kt = (k_dim + tile_k - 1) // tile_k
    out = np.zeros((n_tt, n_kt), np.int32)
    if tile_k % 8 == 0:
        acc = np.zeros(n_words, np.uint64)
        counts = np.zeros(n_bytes, np.int64)
        if n_bytes % 8 == 0:
            words = b.view(np.uint64)
            for tt in range(n_tt):
                rows = words[tt * tile_tokens : min((tt + 1) * tile_tokens, n_tokens)]
                _tile_rows(rows, n_bytes, tile_k, out[tt], acc, counts)
        else:
            # Unaligned rows: copy each token tile into zero-padded whole-word rows first.
            pad = np.zeros((min(tile_tokens, n_tokens), n_words * 8), np.uint8)
            for tt in range(n_tt):
                r0 = tt * tile_tokens
                r1 = min(r0 + tile_tokens, n_tokens)
                pad[: r1 - r0, :n_bytes] = b[r0:r1]
                _tile_rows(pad[: r1 - r0].view(np.uint64), n_bytes, tile_k, out[tt], acc, counts)
        return out
    scratch8 = np.zeros(n_words * 8, np.uint8)
    scratch64 = scratch8.view(np.uint64)
    for r in range(n_tokens):
        scratch8[:n_bytes] = b[r]
        _tile_row(scratch64, k_dim, tile_k, n_kt, out[r // tile_tokens])
    return out


@njit(cache=True)
def _lane_high_bits(block):
    """uint64 with the top bit of each ``block``-bit lane set (block a power of two, 2..64)."""
    high = _ZERO
    for p in range(block - 1, 64, block):
        high |= _ONE << np.uint64(p)
    return high


@njit(inline="always")
def _nonzero_lanes(x, high):
    """Top bit of each lane set iff the lane is nonzero: adding ``~high`` to the low bits
    carries into the top bit exactly when a low bit is set (no shifts, any lane width)."""
    low = ~high
    return (((x & low) + low) | x) & high


@njit(inline="always")
def _nonzero(x):
    """1 if x != 0 else 0, branch free (so the counting loops vectorise)."""
    return (x | (_ZERO - x)) >> np.uint64(63)


@njit(inline="always")
def _count_nonzero_pair_folds(row, n_words, words_per_block, tmp):
    """Blocks of ``words_per_block`` (a power of two >= 2) words with any bit set.

    OR neighbouring words pairwise, log2(words_per_block) times (constant-stride loops that
    vectorise, unlike a loop over blocks of run-time length), then count nonzero words.
    """
    n = n_words
    for q in range(n // 2):
        tmp[q] = row[2 * q] | row[2 * q + 1]
    if n % 2:
        tmp[n // 2] = row[n - 1]
    n = (n + 1) // 2
    m = words_per_block // 2
    while m >= 2:
        for q in range(n // 2):
            tmp[q] = tmp[2 * q] | tmp[2 * q + 1]
        if n % 2:
            tmp[n // 2] = tmp[n - 1]
        n = (n + 1) // 2
        m //= 2
    s = _ZERO
    for q in range(n):
        s += _nonzero(tmp[q])
    return s


@njit(inline="always")
def _row_work(row, n_words, k_dim, block, high, tmp):
    if block == 1:
        return _row_popcount(row, n_words)
    s = _ZERO
    if high != _ZERO:
        # Power-of-two blocks never straddle words and padding bits are zero: lanes are blocks.
        for j in range(n_words):
            s += _popcount64(_nonzero_lanes(row[j], high))
    elif block % 64 == 0 and ((block // 64) & (block // 64 - 1)) == 0:
        s = _count_nonzero_pair_folds(row, n_words, block // 64, tmp)
    else:
        for q in range((k_dim + block - 1) // block):
            s += _nonzero(_range_or(row, q * block, min((q + 1) * block, k_dim)))
    return s


@njit(cache=True)
def token_work(bits, k_dim, block):
    """Work per token: int32 (tokens,) active elements (block=1) or blocks with any active element.

    Blocks are aligned to the start of the row; the last block may be short (K not a multiple of
    ``block``) and counts like any other. Fast paths: every power of two (carry tricks on lanes
    up to 64 bits, pairwise word folds above); any other block size tests its blocks one by one
    (several times slower).
    """
    _check_k_dim(bits, k_dim)
    if block < 1:
        raise ValueError("block must be >= 1")
    b = np.ascontiguousarray(bits)
    n_tokens, n_bytes = b.shape
    n_words = (n_bytes + 7) // 8
    power_of_two = block <= 64 and (block & (block - 1)) == 0
    high = _lane_high_bits(block) if power_of_two and block > 1 else _ZERO
    tmp = np.zeros(n_words + 1, np.uint64)
    out = np.empty(n_tokens, np.int32)
    if n_bytes % 8 == 0:
        words = b.view(np.uint64)
        for r in range(n_tokens):
            out[r] = np.int32(_row_work(words[r], n_words, k_dim, block, high, tmp))
    else:
        scratch8 = np.zeros(n_words * 8, np.uint8)
        scratch64 = scratch8.view(np.uint64)
        for r in range(n_tokens):
            scratch8[:n_bytes] = b[r]
            out[r] = np.int32(_row_work(scratch64, n_words, k_dim, block, high, tmp))
    return out


@njit(cache=True)
def lane_work(bits, k_dim, lanes, block):
    """Per fold of ``lanes`` consecutive tokens (one token per lane): (max int32, sum int64).

    A lane's work is :func:`token_work` of its token; the slowest lane sets the fold's time, so
    ``max * lanes / sum`` is the fold's imbalance. The last fold may have idle lanes (work 0).
    """
    if lanes < 1:
        raise ValueError("lanes must be >= 1")
    work = token_work(bits, k_dim, block)
    n_folds = (work.shape[0] + lanes - 1) // lanes
    max_per_fold = np.zeros(n_folds, np.int32)
    sum_per_fold = np.zeros(n_folds, np.int64)
    for t in range(work.shape[0]):
        f = t // lanes
        w = work[t]
        sum_per_fold[f] += w
        if w > max_per_fold[f]:
            max_per_fold[f] = w
    return max_per_fold, sum_per_fold


@njit(inline="always")
def _or_rows(rows, r0, r1, acc):
    """acc = OR of rows[r0:r1] (words, or bytes for unaligned rows: both loops vectorise)."""
    acc[:] = 0
    for r in range(r0, r1):
        row = rows[r]
        for j in range(acc.shape[0]):
            acc[j] |= row[j]


@njit(cache=True)
def batch_union_counts(bits, batch):
    """K positions active in at least one token of each group of ``batch`` tokens: int32 (groups,).

    Groups are consecutive tokens; the last group may be short.
    """
    if batch < 1:
        raise ValueError("batch must be >= 1")
    b = np.ascontiguousarray(bits)
    n_tokens, n_bytes = b.shape
    n_words = (n_bytes + 7) // 8
    acc = np.zeros(n_words, np.uint64)
    counts = np.empty((n_tokens + batch - 1) // batch, np.int32)
    for g in range(counts.shape[0]):
        r0, r1 = g * batch, min((g + 1) * batch, n_tokens)
        if n_bytes % 8 == 0:
            _or_rows(b.view(np.uint64), r0, r1, acc)
        else:
            _or_rows(b, r0, r1, acc.view(np.uint8)[:n_bytes])
        counts[g] = np.int32(_row_popcount(acc, n_words))
    return counts


@njit(cache=True)
def union_bits(bits, batch):
    """Packed union mask of each group of ``batch`` consecutive tokens: uint8 (groups, bytes)."""
    if batch < 1:
        raise ValueError("batch must be >= 1")
    b = np.ascontiguousarray(bits)
    n_tokens, n_bytes = b.shape
    out = np.empty(((n_tokens + batch - 1) // batch, n_bytes), np.uint8)
    for g in range(out.shape[0]):
        r0, r1 = g * batch, min((g + 1) * batch, n_tokens)
        if n_bytes % 8 == 0:
            _or_rows(b.view(np.uint64), r0, r1, out.view(np.uint64)[g])
        else:
            _or_rows(b, r0, r1, out[g])
    return out


@njit(cache=True)
def expert_loads(routes, experts, capacity):
    """Tokens per expert with capacity dropping: (loads int64[E], kept int64[E], dropped int64).

    ``routes`` is int (tokens, top_k) of expert ids. Tokens are admitted in token order; once an
    expert holds ``capacity`` tokens, later tokens routed to it are dropped (GShard/Switch).
    """
    if experts < 1 or capacity < 0:
        raise ValueError("experts must be >= 1 and capacity >= 0")
    loads = np.zeros(experts, np.int64)
    kept = np.zeros(experts, np.int64)
    dropped = 0
    for t in range(routes.shape[0]):
        for s in range(routes.shape[1]):
            e = routes[t, s]
            if e < 0 or e >= experts:
                raise ValueError("expert id out of range [0, experts)")
            loads[e] += 1
            if kept[e] < capacity:
                kept[e] += 1
            else:
                dropped += 1
    return loads, kept, dropped
