"""Every numba sparsity kernel equals its pure-numpy reference on random packed masks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hwsim.kernels import sparsity_kernels as kern
from hwsim.sparsity import reference as ref
from hwsim.sparsity.masks import PackedMask, pack, unpack

# K values: odd and not a multiple of 8 (unaligned rows), and multiples of 8 and 64 (word views).
K_DIMS = st.one_of(st.integers(1, 300), st.sampled_from([8, 16, 64, 128, 192, 256]))
DENSITIES = st.sampled_from([0.0, 0.02, 0.3, 0.7, 1.0])
# powers of two take carry/fold fast paths, the rest the block-by-block path
BLOCKS = st.sampled_from([1, 2, 3, 4, 5, 8, 12, 16, 32, 64, 65, 96, 128, 192, 256])
# multiples of 64 (word path), of 8 (byte lanes), and anything else (bit ranges)
TILE_K = st.one_of(st.sampled_from([8, 16, 24, 64, 128, 192]), st.integers(1, 130))
SMALL = st.integers(1, 9)
KERNEL_SETTINGS = settings(max_examples=80, deadline=None)


@st.composite
def packed_masks(draw) -> PackedMask:
    tokens = draw(st.integers(0, 40))
    k_dim = draw(K_DIMS)
    density = draw(DENSITIES)
    seed = draw(st.integers(0, 2**32 - 1))
    return PackedMask.from_bool(np.random.default_rng(seed).random((tokens, k_dim)) < density)


def _mask(tokens: int, k_dim: int, density: float = 0.3, seed: int = 0) -> PackedMask:
    return PackedMask.from_bool(np.random.default_rng(seed).random((tokens, k_dim)) < density)


EDGE_CASES = [_mask(0, 13), _mask(0, 64), _mask(1, 1), _mask(1, 13), _mask(1, 64), _mask(3, 8, 1.0),
              _mask(5, 77, 0.0)]


def _with_edges(*extra):
    """Also run each edge case (no tokens, one token, all/no bits set), with ``extra`` args."""
    def decorate(test):
        for case in EDGE_CASES:
            test = example(case, *extra)(test)
        return test
    return decorate


@KERNEL_SETTINGS
@given(packed_masks())
@_with_edges()
def test_popcount_rows(m: PackedMask) -> None:
    got = kern.popcount_rows(m.bits)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, ref.popcount_rows(m.bits))
    np.testing.assert_array_equal(got, m.to_bool().sum(axis=1))


@KERNEL_SETTINGS
@given(packed_masks(), st.one_of(SMALL, st.just(64)), TILE_K)
@_with_edges(2, 8)
def test_tile_nonzero_counts(m: PackedMask, tile_tokens: int, tile_k: int) -> None:
    got = kern.tile_nonzero_counts(m.bits, m.k_dim, tile_tokens, tile_k)
    want = ref.tile_nonzero_counts(m.bits, m.k_dim, tile_tokens, tile_k)
    assert got.dtype == np.int32
    assert got.shape == (-(-m.tokens // tile_tokens), -(-m.k_dim // tile_k))
    np.testing.assert_array_equal(got, want)
    assert got.sum() == m.to_bool().sum()


@KERNEL_SETTINGS
@given(packed_masks(), SMALL, BLOCKS)
@_with_edges(4, 3)
def test_lane_work(m: PackedMask, lanes: int, block: int) -> None:
    got_max, got_sum = kern.lane_work(m.bits, m.k_dim, lanes, block)
    want_max, want_sum = ref.lane_work(m.bits, m.k_dim, lanes, block)
    assert got_max.dtype == np.int32 and got_sum.dtype == np.int64
    np.testing.assert_array_equal(got_max, want_max)
    np.testing.assert_array_equal(got_sum, want_sum)
    np.testing.assert_array_equal(kern.token_work(m.bits, m.k_dim, block),
                                  ref.token_work(m.bits, m.k_dim, block))


@KERNEL_SETTINGS
@given(packed_masks(), SMALL)
@_with_edges(3)
def test_batch_union(m: PackedMask, batch: int) -> None:
    counts = kern.batch_union_counts(m.bits, batch)
    union = kern.union_bits(m.bits, batch)
    assert counts.dtype == np.int32 and union.dtype == np.uint8
    np.testing.assert_array_equal(counts, ref.batch_union_counts(m.bits, batch))
    np.testing.assert_array_equal(union, ref.union_bits(m.bits, batch))
    np.testing.assert_array_equal(unpack(union, m.k_dim).sum(axis=1), counts)


@KERNEL_SETTINGS
@given(st.integers(0, 60), st.integers(1, 12), st.integers(1, 3), st.integers(0, 20),
       st.integers(0, 2**32 - 1))
def test_expert_loads(tokens: int, experts: int, top_k: int, capacity: int, seed: int) -> None:
    routes = np.random.default_rng(seed).integers(0, experts, (tokens, top_k), dtype=np.int32)
    loads, kept, dropped = kern.expert_loads(routes, experts, capacity)
    want_loads, want_kept, want_dropped = ref.expert_loads(routes, experts, capacity)
    np.testing.assert_array_equal(loads, want_loads)
    np.testing.assert_array_equal(kept, want_kept)
    assert dropped == want_dropped
    assert kept.sum() + dropped == tokens * top_k


def test_expert_loads_drop_in_token_order() -> None:
    routes = np.array([[0, 1], [0, 2], [0, 1], [1, 0]], dtype=np.int32)
    loads, kept, dropped = kern.expert_loads(routes, 3, 2)
    assert loads.tolist() == [4, 3, 1]
    assert kept.tolist() == [2, 2, 1]
    assert dropped == 3


def test_known_values() -> None:
    mask = np.zeros((4, 20), dtype=bool)
    mask[0, [0, 1, 2]] = True  # one block of 4
    mask[1, [0, 4, 8, 19]] = True  # four blocks of 4 (the last is 16..19)
    mask[3, :] = True
    bits = pack(mask)
    assert kern.popcount_rows(bits).tolist() == [3, 4, 0, 20]
    assert kern.token_work(bits, 20, 4).tolist() == [1, 4, 0, 5]
    fold_max, fold_sum = kern.lane_work(bits, 20, 3, 4)
    assert fold_max.tolist() == [4, 5] and fold_sum.tolist() == [5, 5]
    assert kern.batch_union_counts(bits, 2).tolist() == [6, 20]
    assert kern.tile_nonzero_counts(bits, 20, 2, 8).tolist() == [[5, 1, 1], [8, 8, 4]]


def test_readonly_and_strided_inputs() -> None:
    m = _mask(30, 100, seed=3)
    strided = np.asarray(m.bits)[::2]  # rows not contiguous
    assert not m.bits.flags.writeable
    np.testing.assert_array_equal(kern.popcount_rows(m.bits), ref.popcount_rows(m.bits))
    np.testing.assert_array_equal(kern.popcount_rows(strided), ref.popcount_rows(strided))
    np.testing.assert_array_equal(kern.batch_union_counts(strided, 4),
                                  ref.batch_union_counts(strided, 4))


def test_bad_arguments_raise() -> None:
    m = _mask(4, 20)
    with pytest.raises(ValueError, match="k_dim"):
        kern.tile_nonzero_counts(m.bits, 30, 1, 8)
    with pytest.raises(ValueError, match="lanes"):
        kern.lane_work(m.bits, 20, 0, 1)
    with pytest.raises(ValueError, match="block"):
        kern.token_work(m.bits, 20, 0)
    with pytest.raises(ValueError, match="batch"):
        kern.batch_union_counts(m.bits, 0)
    with pytest.raises(ValueError, match="expert id"):
        kern.expert_loads(np.array([[3]], dtype=np.int32), 3, 1)


def test_packed_mask_invariants() -> None:
    mask = np.random.default_rng(0).random((5, 13)) < 0.5
    m = PackedMask.from_bool(mask)
    assert m.tokens == 5 and m.bits.shape == (5, 2)
    np.testing.assert_array_equal(m.to_bool(), mask)
    assert m.density() == pytest.approx(mask.mean())
    with pytest.raises(ValueError, match="padding"):
        PackedMask(np.full((1, 2), 0xFF, dtype=np.uint8), 13)
    with pytest.raises(ValueError, match="bytes per token"):
        PackedMask(np.zeros((1, 3), dtype=np.uint8), 13)
    with pytest.raises(ValueError, match="boolean"):
        pack(np.ones((2, 3), dtype=np.int8))
