"""What activation/weight sparsity buys a GEMM on a given accelerator (analytic expectations).

Activation sparsity of a matmul lives on A's K dimension (the active neurons feeding the layer).
A chip only benefits through the ``sparse_features`` it has:

- no feature: the GEMM costs exactly as much as dense (zeros are multiplied and moved).
- ``zero_gating``: MACs and ifmap SRAM reads on zero operands cost the gated energy (Sparseloop
  ratios in the tech table); cycles unchanged; data stored dense.
- ``zero_skipping``: zero operands are not issued. Output-stationary arrays stream K in time, one
  token per PE row, so a fold lasts as long as its slowest lane's active work (the expected
  maximum over the fold's lanes) plus index decode per active block; weight/input-stationary
  arrays hold K spatially, so the array is packed with the K rows active in *any* token streaming
  through (the union). Activations are stored compressed (values + index metadata).
- ``gather``: only the weight rows (K) some token of the GEMM needs are fetched from off-chip,
  each row of a column tile costing whole bursts (``offchip.burst_bytes``).
- ``nm``: N:M-structured weights (the op's spec ``nm`` with operand=weights) compact K to the
  chip's n:m slots when the weights fit the chip's pattern, with log2(m) bits of metadata per
  slot (rules in :mod:`hwsim.engine.accelerator.nm`).

The union over the M tokens of a GEMM uses the closed forms of :mod:`hwsim.sparsity.realise`
(1-(1-d)^M when independent, less when correlated or skewed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hwsim.config.chip import AcceleratorChip
from hwsim.config.sparsity import DenseSpec, NmSpec, ReluSpec, TopKSpec, TraceSpec
from hwsim.engine.accelerator.nm import nm_fits, nm_metadata_bits, nm_slots
from hwsim.sparsity.masks import PackedMask

# Index metadata per token, in bytes, as a function of (K, nonzeros): bitmask 1 bit per element;
# CSR a 16-bit column index per nonzero plus a 32-bit row pointer; RLE a 4-bit zero-run length
# per nonzero (Eyeriss's RLC uses 5-bit runs for 16-bit values; 4 bits per 8-bit value here).
META_BYTES = {
    "bitmask": lambda k, nnz: k / 8.0,
    "csr": lambda k, nnz: 2.0 * nnz + 4.0,
    "rle": lambda k, nnz: 0.5 * nnz,
}


# Eyeriss's run-length code (Chen et al., JSSC 2017, Sec. IV-B): a 5-bit zero run and a value
# form a pair; pairs are packed whole into 64-bit words with one termination bit.
RLE_RUN_BITS, RLE_WORD_BITS = 5, 64


def rle_ratio(density: float, dtype_bytes: int) -> float:
    """Off-chip bytes of run-length-coded activations over their raw bytes, at ``density``
    nonzeros (independent zeros). Each nonzero ends a run; a run longer than 31 zeros takes an
    extra pair per 32 zeros. A layer that would grow (dense inputs) is stored raw."""
    bits = 8 * dtype_bytes
    per_word = (RLE_WORD_BITS - 1) // (RLE_RUN_BITS + bits)
    max_run = (1 << RLE_RUN_BITS)
    pairs = density + (1.0 - density) ** max_run / max_run
    return min(1.0, pairs * RLE_WORD_BITS / per_word / bits)


@dataclass(frozen=True)
class SparseEffect:
    """Multipliers and effective sizes for one GEMM (all 1.0 / unchanged for dense work)."""

    density: float = 1.0  # mean fraction of A's K entries that are nonzero, per token
    union_density: float = 1.0  # fraction of K rows active in at least one of the M tokens
    k_compute: int | None = None  # effective K for the compute-cycle formula (None: K)
    n_compute: int | None = None  # effective N (keys a routed attention computes; None: N)
    mac_full: float = 1.0  # fraction of dense MACs executed at full energy
    mac_gated: float = 0.0  # fraction executed at gated energy (the rest are skipped)
    a_offchip: float = 1.0  # multiplier on A's off-chip bytes (compression + metadata)
    a_sram: float = 1.0  # multiplier on A's SRAM bytes
    a_sram_energy: float = 1.0  # multiplier on A's SRAM read energy (gating)
    b_offchip: float = 1.0  # multiplier on B's off-chip bytes (gather, N:M)
    b_sram: float = 1.0  # multiplier on B's SRAM bytes
    decode_cycles: float = 0.0  # index-decode cycles added per fold's slowest lane


DENSE = SparseEffect()


def activation_density(spec: object) -> float:
    """Mean density of A's K entries for an activation sparsity spec (1.0 when dense)."""
    if isinstance(spec, TopKSpec | ReluSpec):
        return spec.density
    if isinstance(spec, NmSpec) and spec.operand == "activations":
        return spec.n / spec.m
    return 1.0


def _unions(d: float, m: int, sparse_len: int, other_len: int, dtype_bytes: int,
            chip: AcceleratorChip, correlation: float,
            stats: MaskStats | None = None) -> tuple[float, float]:
    """(union the array computes on, union the weight fetch must cover).

    Output-stationary arrays take ``rows`` tokens per fold, so a fold needs the union of those
    tokens; the weights are fetched once for all M tokens only if they fit in half the filter
    buffer, else once per fold. Weight/input-stationary arrays stream all M tokens past each
    stationary tile, so both unions are over M."""
    from hwsim.sparsity.realise import expected_union_density

    def u(tokens: int) -> float:
        return float(expected_union_density(d, tokens, correlation=correlation,
                                            k_dim=sparse_len))

    whole = stats.union_whole if stats is not None else u(m)
    if chip.dataflow != "os":
        return whole, whole
    fold = stats.union_fold if stats is not None else u(min(m, chip.array.rows))
    fits = sparse_len * other_len * dtype_bytes <= chip.buffers.filter.size_bytes / 2
    return fold, whole if fits else fold


def mask_stats(mask: PackedMask, m: int, lanes: int, block: int) -> MaskStats:
    """Density, unions and slowest-lane work measured on a real (trace) mask.

    The trace's tokens stand for the GEMM's M tokens: unions are measured over groups of
    ``min(M, tokens)`` (whole GEMM) and ``min(M, lanes)`` (one output-stationary fold)."""
    from hwsim.kernels import sparsity_kernels as kern

    k = mask.k_dim
    whole = float(np.mean(kern.batch_union_counts(mask.bits, max(1, min(m, mask.tokens))))) / k
    fold_tokens = max(1, min(m, lanes, mask.tokens))
    fold = float(np.mean(kern.batch_union_counts(mask.bits, fold_tokens))) / k
    max_per_fold, _ = kern.lane_work(mask.bits, k, fold_tokens, block)
    return MaskStats(mask.density(), whole, fold, float(np.mean(max_per_fold)) * (
        block if block > 1 else 1))


@dataclass(frozen=True)
class MaskStats:
    density: float
    union_whole: float
    union_fold: float
    max_lane_work: float  # elements of the slowest lane of a fold, averaged over folds


def gemm_effect(spec: object, m: int, n: int, k: int, dtype_bytes: int, chip: AcceleratorChip,
                gated_read_ratio: float, sparse_dim: str = "k",
                mask: PackedMask | None = None, window: int = 1) -> SparseEffect:
    """The :class:`SparseEffect` of ``spec`` on a GEMM (M tokens x K) @ (K x N) on ``chip``.

    ``sparse_dim="n"`` is sparsity on the output columns (routed attention: the keys each
    query scores); a skipping or gathering chip computes and fetches only the columns some row
    of the GEMM needs (the union over M). ``window`` is a lowered convolution's R*S (K = C *
    window), which a Cartesian-product PE needs to size its weight vectors."""
    from hwsim.sparsity.realise import expected_max_lane_nnz

    if spec is None or isinstance(spec, DenseSpec):
        return DENSE
    f = chip.sparse_features
    if isinstance(spec, NmSpec) and spec.operand == "weights":
        if f.nm is None or not nm_fits((spec.n, spec.m), (f.nm[0], f.nm[1])):
            return DENSE  # stored and computed dense: the chip's N:M cannot hold this pattern
        # The chip computes and stores its own slots (a sparser pattern leaves some empty).
        slots = nm_slots(k, f.nm[0], f.nm[1])
        keep = slots / k
        meta = nm_metadata_bits(f.nm[1]) / 8.0 / dtype_bytes  # bytes per kept weight byte
        return SparseEffect(k_compute=slots, mac_full=keep, mac_gated=0.0,
                            b_offchip=keep * (1.0 + meta), b_sram=keep * (1.0 + meta))
    stats = None
    if isinstance(spec, TraceSpec) and mask is None:
        raise ValueError("a trace spec needs its op's mask")
    if mask is not None:  # a trace or a realised mask: measure instead of the closed forms
        if mask.k_dim != (n if sparse_dim == "n" else k):
            raise ValueError(f"trace mask has K={mask.k_dim}, the op has "
                             f"{n if sparse_dim == 'n' else k}")
        block = f.skip_block_elements if (f.zero_skipping and f.skip_granularity == "block"
                                          ) else 1
        stats = mask_stats(mask, m, chip.array.rows, block)
        d = stats.density
    else:
        d = activation_density(spec)
    d_w = float(getattr(spec, "weight_density", 1.0))
    if (f.zero_skipping and f.weight_skipping and sparse_dim == "k"
            and (d_w < 1.0 or (d < 1.0 and f.pe_join == "cartesian"))):
        return both_sided_effect(d, d_w, m, n, k, window, dtype_bytes, chip)
    if d >= 1.0:
        return DENSE
    if sparse_dim == "n":
        if not (f.zero_skipping or f.gather):
            return DENSE
        u, fetch_u = _unions(d, m, n, k, dtype_bytes, chip,
                             getattr(spec, "token_correlation", 0.0), stats)
        return SparseEffect(density=d, union_density=u, n_compute=max(1, math.ceil(u * n)),
                            mac_full=u, b_offchip=fetch_u if f.gather else 1.0, b_sram=u)
    correlation = getattr(spec, "token_correlation", 0.0)
    exact = (isinstance(spec, TopKSpec) and spec.variability.std == 0.0) or isinstance(spec, NmSpec)
    std = getattr(getattr(spec, "variability", None), "std", 0.0)
    # The unit a chip skips: its own block size, or the spec's blocks when coarser and aligned.
    work_d = d
    if f.zero_skipping and f.skip_granularity == "block" and f.skip_block_elements > 1:
        spec_block = spec.block if isinstance(spec, TopKSpec) and spec.granularity == "block" else 1
        if spec_block % f.skip_block_elements:
            work_d = 1.0 - (1.0 - d) ** f.skip_block_elements  # a block is busy if any is
    # Popularity skew lowers the union further; the independent/correlated law is an upper
    # bound there (conservative for the sparse chip).
    union, fetch_union = _unions(d, m, k, n, dtype_bytes, chip, correlation, stats)
    if stats is not None:
        work_d = max(work_d, d)
    union_work = max(union, work_d)
    gate = f.zero_gating
    eff = dict(density=d, union_density=union)
    if f.zero_skipping:
        if chip.dataflow == "os":
            lanes = max(1, min(chip.array.rows, m))
            lane_nnz = stats.max_lane_work if stats is not None else float(
                expected_max_lane_nnz(k, work_d, lanes, exact_topk=exact, density_std=std))
            blocks = lane_nnz / (f.skip_block_elements if f.skip_granularity == "block" else 1)
            eff.update(k_compute=max(1, math.ceil(lane_nnz)), mac_full=d, mac_gated=0.0,
                       decode_cycles=f.decode_cycles_per_block * blocks)
        else:  # K is spatial: pack only the union's rows into the array
            zeros_in_union = max(0.0, union_work - d)
            eff.update(k_compute=max(1, math.ceil(union_work * k)), mac_full=d + (
                0.0 if gate else zeros_in_union), mac_gated=zeros_in_union if gate else 0.0,
                b_sram=union_work)
        meta = META_BYTES[f.index_format](k, d * k) / (k * dtype_bytes)
        eff.update(a_offchip=d + meta, a_sram=d + meta)
    elif gate:
        eff.update(mac_full=d, mac_gated=1.0 - d,
                   a_sram_energy=d + (1.0 - d) * gated_read_ratio)
    if f.offchip_compression == "rle" and not f.zero_skipping:
        eff.update(a_offchip=rle_ratio(d, dtype_bytes))
    if f.gather:
        slice_bytes = min(n, chip.array.cols) * dtype_bytes
        burst = chip.offchip.burst_bytes
        burst_factor = math.ceil(slice_bytes / burst) * burst / slice_bytes
        eff.update(b_offchip=min(1.0, fetch_union * burst_factor), b_sram=min(
            eff.get("b_sram", 1.0), union))
        if not f.zero_skipping:  # gathered rows arrive packed: compute on the union only
            eff.update(k_compute=max(1, math.ceil(union * k)), mac_full=d if gate else union,
                       mac_gated=max(0.0, union - d) if gate else 0.0)
    return SparseEffect(**eff)  # type: ignore[arg-type]


def both_sided_effect(d_a: float, d_w: float, m: int, n: int, k: int, window: int,
                      dtype_bytes: int, chip: AcceleratorChip) -> SparseEffect:
    """Zero weights and zero activations both skipped (:mod:`.dual_sparse`): K shrinks to the
    PE's sparse/dense cycle ratio, only the useful products cost MAC energy, both operands are
    stored compressed with the chip's index metadata; where K is spatial (ws, is) the partial
    sums then spill once per fold of the shrunk K (``sram_traffic``'s ``k_reduce``)."""
    from hwsim.engine.accelerator import dual_sparse

    f = chip.sparse_features
    if f.pe_join == "cartesian":
        ratio = dual_sparse.cartesian_ratio(d_a, d_w, m, n, k, window, chip.array.rows,
                                            chip.array.cols, f)
        work = k * ratio
    else:
        lanes = max(1, min(chip.array.rows, m)) * max(1, min(chip.array.cols, n))
        work = dual_sparse.intersect_lane_work(d_a, d_w, k, lanes, chip)
    k_c = max(1, math.ceil(work))
    meta = META_BYTES[f.index_format]
    a_bytes = d_a + meta(k, d_a * k) / (k * dtype_bytes) if d_a < 1.0 else 1.0
    b_bytes = d_w + meta(k, d_w * k) / (k * dtype_bytes) if d_w < 1.0 else 1.0
    return SparseEffect(density=d_a, union_density=d_a, k_compute=k_c,
                        mac_full=d_a * d_w, mac_gated=0.0, a_offchip=a_bytes, a_sram=a_bytes,
                        b_offchip=b_bytes, b_sram=b_bytes,
                        decode_cycles=f.decode_cycles_per_block * work)
