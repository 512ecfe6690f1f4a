"""hwsim's ``nm`` weight sparsity against SCALE-Sim v3.0.0's N:M sparsity (a live peer).

SCALE-Sim has two N:M modes (docs/scalesim-nm.md):
- layer-wise: every filter keeps the first n of each m weights, the filter matrix is compressed
  to n*(K//m) + min(K mod m, n) rows (blocked ELLPACK, log2(m) metadata bits per kept weight),
  on os, ws and is arrays;
- row-wise (``OptimizedMapping``, ws only): each filter column has its own N <= block/2 and the
  array provisions block/2 slots per block.

hwsim models an array that supports one n:m pattern (``sparse_features.nm``): its reduction is
the pattern's slots (``hwsim.engine.accelerator.nm``). Compared here, exactly, on seeded random
GEMMs and convs: compute cycles, filter SRAM reads and DRAM reads, the metadata bits, and the
partial-sum writes (ws/is). Where SCALE-Sim is not a usable reference the quirk is pinned by a
test that fails if a later SCALE-Sim fixes it. Run cost: SCALE-Sim's runs are cached per
process; the whole file takes ~20 s on two cores.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pytest

from hwsim.engine.accelerator import systolic as sy
from hwsim.engine.accelerator.nm import nm_fits, nm_metadata_bits, nm_slots

try:  # repo root on sys.path (python -m pytest) or tests/ itself (pytest's rootdir insertion)
    from tests.peers import scalesim_runner as peer
    from tests.peers.hwsim_gemm import HwsimGemm, hwsim_gemm, layer_gemm
except ImportError:  # pragma: no cover - depends on how pytest was launched
    from peers import scalesim_runner as peer  # type: ignore[no-redef]
    from peers.hwsim_gemm import HwsimGemm, hwsim_gemm, layer_gemm  # type: ignore[no-redef]

PATTERNS = ((1, 2), (1, 4), (2, 4), (3, 4), (1, 8), (2, 8), (3, 8), (4, 8))
LAYER_CASES_PER_DATAFLOW = 16
ROW_WISE_CASES = 16
BITS_PER_WORD = 32  # SCALE-Sim's sparse report counts metadata in 32-bit words


# ---------------------------------------------------------------- the N:M rules (no SCALE-Sim)


def test_slots_by_hand() -> None:
    # K=13 at 3:8: one whole group (3 slots) and a tail of 5 weights that holds at most 3.
    assert nm_slots(13, 3, 8) == 6  # the old ceil(13 * 3/8) = 5 dropped a weight
    assert nm_slots(30, 2, 4) == 16  # 7 groups + a tail of 2
    assert nm_slots(16, 2, 4) == 8
    assert nm_slots(3, 1, 8) == 1
    assert nm_slots(5, 4, 4) == 5  # n >= m: dense
    assert nm_metadata_bits(4) == 2 and nm_metadata_bits(8) == 3 and nm_metadata_bits(1) == 0


def test_pattern_fits() -> None:
    assert nm_fits((2, 4), (2, 4))
    assert nm_fits((1, 4), (2, 4))  # an empty slot holds a zero
    assert nm_fits((1, 8), (2, 4))  # each half of a group of 8 has at most one nonzero
    assert nm_fits((2, 8), (2, 4))  # both may sit in one half: still at most 2
    assert not nm_fits((3, 8), (2, 4))  # a half may hold all three
    assert not nm_fits((2, 4), (1, 4))  # denser than the chip
    assert nm_fits((1, 2), (2, 4))  # a group of 4 spans two groups of 2: at most 2
    assert not nm_fits((2, 6), (2, 4))  # groups straddle: 2+2 nonzeros can meet in one group


def test_sparser_weights_use_the_chips_slots() -> None:
    # 1:4 weights on a 2:4 array run at 2:4 (the array cannot skip its empty slots); before,
    # any pattern but the chip's own ran dense.
    on_24 = hwsim_gemm(64, 64, 64, 16, 16, "ws", (2, 4), (1, 4))
    assert on_24.k_compute == 32
    assert hwsim_gemm(64, 64, 64, 16, 16, "ws", (2, 4), (3, 8)).k_compute == 64  # does not fit


# ---------------------------------------------------------------- live SCALE-Sim runs


@dataclass(frozen=True)
class NmCase:
    layer: peer.GemmLayer | peer.ConvLayer
    rows: int
    cols: int
    dataflow: str
    sparsity: peer.NmSparsity

    def gemm(self) -> tuple[int, int, int]:
        return layer_gemm(self.layer)

    @property
    def chip_nm(self) -> tuple[int, int]:
        s = self.sparsity
        return (s.block_size // 2, s.block_size) if s.row_wise else (s.n, s.m)

    @property
    def weights_nm(self) -> tuple[int, int]:
        # Row-wise columns draw N in 1..block/2: every column fits block/2 : block.
        return (1, self.sparsity.block_size) if self.sparsity.row_wise else self.chip_nm

    def label(self) -> str:
        s = self.sparsity
        mode = f"rw{s.block_size}" if s.row_wise else f"{s.n}:{s.m}"
        return f"{self.dataflow}-{mode}-{self.layer}-{self.rows}x{self.cols}".replace(" ", "")


def _draw_layer(rng: np.random.Generator, conv: bool) -> peer.GemmLayer | peer.ConvLayer:
    if not conv:
        m, n, k = (round(2 ** rng.uniform(0, 7.5)) for _ in range(3))
        return peer.GemmLayer(m, n, k)
    r = int(rng.choice([1, 3, 5]))
    h, w = (int(rng.integers(r, 20)) for _ in range(2))
    return peer.ConvLayer(h=h, w=w, c=int(rng.integers(1, 17)), filters=int(rng.integers(1, 65)),
                          r=r, s=r, stride=int(rng.integers(1, 3)))


def layer_wise_cases() -> list[NmCase]:
    """Seeded, so every pytest-xdist worker collects the identical list. Arrays 8-64 a side
    (SCALE-Sim's run time grows with cycles x array edge); K is often not a multiple of m."""
    cases = []
    for seed, dataflow in enumerate(sy.DATAFLOWS):
        rng = np.random.default_rng(20250 + seed)
        for i in range(LAYER_CASES_PER_DATAFLOW):
            rows, cols = (round(2 ** rng.uniform(3, 6)) for _ in range(2))
            n, m = PATTERNS[int(rng.integers(len(PATTERNS)))]
            cases.append(NmCase(_draw_layer(rng, conv=i % 4 == 3), rows, cols, dataflow,
                                peer.NmSparsity(n, m)))
    return cases


def row_wise_cases() -> list[NmCase]:
    """Row-wise runs only where SCALE-Sim 3.0.0 does not crash: ws, rows a multiple of
    block/2 (test_row_wise_crashes_unless_rows_divide pins the rest)."""
    rng = np.random.default_rng(20260)
    # K=17 in blocks of 4: 9 slots, but SCALE-Sim pads to 12 rows: 2 folds of 10 rows, not 1.
    cases = [NmCase(peer.GemmLayer(8, 8, 17), 10, 8, "ws",
                    peer.NmSparsity(2, 4, row_wise=True, block_size=4))]
    while len(cases) < ROW_WISE_CASES + 1:
        block = int(rng.choice([4, 8]))
        rows = (block // 2) * int(rng.integers(2, 17))
        cols = round(2 ** rng.uniform(3, 6))
        cases.append(NmCase(_draw_layer(rng, conv=False), rows, cols, "ws",
                            peer.NmSparsity(block // 2, block, row_wise=True, block_size=block)))
    return cases


@functools.cache
def _scalesim(case: NmCase, sparse: bool = True) -> peer.ScaleSimResult:
    return peer.run_layer(case.layer, case.rows, case.cols, case.dataflow,
                          sparsity=case.sparsity if sparse else None)


def _hwsim(case: NmCase) -> HwsimGemm:
    return hwsim_gemm(*case.gemm(), case.rows, case.cols, case.dataflow, case.chip_nm,
                      case.weights_nm)


def _weight_bytes(total_bytes: float, m: int) -> float:
    """hwsim's filter bytes without the N:M metadata (int8: 1 byte per weight)."""
    return total_bytes / (1.0 + nm_metadata_bits(m) / 8.0)


def _ofmap_sram_bytes(theirs: peer.ScaleSimResult, m: int, n: int, acc: int) -> float:
    """hwsim's ofmap-buffer bytes from SCALE-Sim's word writes W (one per output per reduction
    fold): W psum writes and W - M*N read-backs at the accumulator width, M*N int8 read-outs."""
    return acc * (2 * theirs.sram_ofmap_writes - m * n) + m * n


@pytest.mark.peer
@pytest.mark.parametrize("case", layer_wise_cases(), ids=NmCase.label)
def test_layer_wise_exact(case: NmCase, scalesim_ok: None) -> None:
    theirs, ours = _scalesim(case), _hwsim(case)
    m, n, k = case.gemm()
    sp = case.sparsity
    assert ours.k_compute == nm_slots(k, sp.n, sp.m)
    assert theirs.stall_cycles == 0
    assert ours.compute_cycles == theirs.total_cycles
    assert _weight_bytes(ours.sram_b_read_bytes, sp.m) == pytest.approx(theirs.sram_filter_reads)
    assert _weight_bytes(ours.offchip_b_bytes, sp.m) == pytest.approx(theirs.dram_filter_reads)
    # Metadata: hwsim's log2(m) bits per stored slot, as SCALE-Sim's blocked-ELLPACK report.
    assert theirs.filter_metadata_words is not None
    meta_bits = ours.offchip_b_bytes * 8 - theirs.dram_filter_reads * 8
    assert meta_bits == pytest.approx(theirs.filter_metadata_words * BITS_PER_WORD)
    if case.dataflow != "os":  # os: SCALE-Sim pads its ofmap writes (dense too); untouched by N:M
        assert ours.ofmap_sram_bytes == pytest.approx(
            _ofmap_sram_bytes(theirs, m, n, ours.accumulator_bytes))
    if case.dataflow == "ws" and k % sp.m == 0:  # per-filter activation reads (see quirk test)
        assert ours.sram_a_read_bytes == pytest.approx(theirs.sram_ifmap_reads)


@pytest.mark.peer
@pytest.mark.parametrize("case", row_wise_cases(), ids=NmCase.label)
def test_row_wise(case: NmCase, scalesim_ok: None) -> None:
    """Row-wise: exact where SCALE-Sim's block pairing does not add a fold; else SCALE-Sim
    equals the same closed form on its padded K (pinned quirk)."""
    theirs, ours = _scalesim(case), _hwsim(case)
    m, n, k = case.gemm()
    block = case.sparsity.block_size
    slots = nm_slots(k, block // 2, block)
    padded = math.ceil(k / (2 * block)) * block  # SCALE-Sim pairs blocks: K -> mult. of 2*block
    assert ours.k_compute == slots
    assert theirs.total_cycles == sy.compute_cycles(m, n, padded, case.rows, case.cols, "ws")
    assert ours.compute_cycles == sy.compute_cycles(m, n, slots, case.rows, case.cols, "ws")
    assert theirs.sram_filter_reads == padded * n
    assert _weight_bytes(ours.sram_b_read_bytes, block) == pytest.approx(slots * n)
    if math.ceil(padded / case.rows) == math.ceil(slots / case.rows):  # same reduction folds
        assert ours.compute_cycles == theirs.total_cycles
        assert ours.ofmap_sram_bytes == pytest.approx(
            _ofmap_sram_bytes(theirs, m, n, ours.accumulator_bytes))


# ---------------------------------------------------------------- SCALE-Sim's quirks, pinned


def _quirk_case(dataflow: str, k: int = 30, n_m: tuple[int, int] = (2, 4)) -> NmCase:
    return NmCase(peer.GemmLayer(33, 20, k), 8, 16, dataflow, peer.NmSparsity(*n_m))


@pytest.mark.peer
def test_quirk_ifmap_reads_disagree_between_dataflows(scalesim_ok: None) -> None:
    """os/is compact the activations to the kept K (valid only if every filter keeps the same
    positions), ws reads each kept row's group m/n times (per-filter patterns) and counts the
    tail group as whole; DRAM reads are compacted in all three. hwsim's nm is per filter
    (A100/STC: each filter has its own 2:4 pattern), so every token's K activations are read."""
    m, n, k = 33, 20, 30
    slots = nm_slots(k, 2, 4)  # 16
    for dataflow in sy.DATAFLOWS:
        case = _quirk_case(dataflow)
        theirs, ours = _scalesim(case), _hwsim(case)
        cf = int(sy.fold_counts(m, n, slots, 8, 16, dataflow)[1])
        streamed = {"os": m * slots * cf, "ws": m * slots * cf * 2, "is": m * slots}[dataflow]
        assert theirs.sram_ifmap_reads == streamed
        assert theirs.dram_ifmap_reads == m * slots  # dense would be m * k
        hw_cf = int(sy.fold_counts(m, n, k, 8, 16, dataflow)[1])
        assert ours.sram_a_read_bytes == m * k * (hw_cf if dataflow != "is" else 1)
        assert ours.offchip_a_bytes == m * k


@pytest.mark.peer
def test_quirk_row_wise_only_on_ws(scalesim_ok: None) -> None:
    for dataflow in ("os", "is"):
        case = NmCase(peer.GemmLayer(20, 12, 16), 8, 8, dataflow,
                      peer.NmSparsity(4, 8, row_wise=True, block_size=8))
        with pytest.raises(AssertionError, match="Dimension mismatch"):
            _scalesim(case)


@pytest.mark.peer
def test_quirk_row_wise_crashes_unless_rows_divide(scalesim_ok: None) -> None:
    """Its row-wise skew builds a ragged array unless block/2 divides the array's rows."""
    case = NmCase(peer.GemmLayer(3, 4, 69), 29, 52, "ws",
                  peer.NmSparsity(4, 8, row_wise=True, block_size=8))
    with pytest.raises(ValueError, match="inhomogeneous"):
        _scalesim(case)


@pytest.mark.peer
def test_quirk_row_wise_reads(scalesim_ok: None) -> None:
    """Row-wise filter DRAM reads count only the nonzeros, below its own sparse report's
    storage (slots + metadata), and its ifmap SRAM reads count the skew's null requests."""
    m, n, k = 12, 15, 125
    case = NmCase(peer.GemmLayer(m, n, k), 14, 14, "ws",
                  peer.NmSparsity(2, 4, row_wise=True, block_size=4))
    theirs = _scalesim(case)
    padded = math.ceil(k / 8) * 4
    assert theirs.filter_compressed_words is not None and theirs.filter_metadata_words is not None
    stored = theirs.filter_compressed_words - theirs.filter_metadata_words
    assert stored == padded * n and theirs.dram_filter_reads < stored
    assert theirs.sram_ifmap_reads > 2 * m * k


@pytest.mark.peer
def test_quirk_overall_utilisation_counts_dense_macs(scalesim_ok: None) -> None:
    """Its "Overall Util %" divides the dense MAC count by the sparse run's cycles: above 100 %
    for 1:4 on ws (hwsim reports executed slots over peak)."""
    case = _quirk_case("ws", n_m=(1, 4))
    assert _scalesim(case).overall_util_pct > 100.0


@pytest.mark.peer
def test_nm_leaves_os_outputs_alone(scalesim_ok: None) -> None:
    """On os, N:M changes neither SCALE-Sim's ofmap writes nor hwsim's ofmap traffic."""
    case = _quirk_case("os")
    assert _scalesim(case).sram_ofmap_writes == _scalesim(case, sparse=False).sram_ofmap_writes
    dense = hwsim_gemm(33, 20, 30, 8, 16, "os", (2, 4), None)
    assert _hwsim(case).ofmap_sram_bytes == dense.ofmap_sram_bytes
