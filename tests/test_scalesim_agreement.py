"""hwsim's closed-form systolic timing against SCALE-Sim v3.0.0 (the peer simulator).

Three layers of evidence:
- hand-derived unit cases (no SCALE-Sim needed), worked out in comments;
- a golden file of SCALE-Sim outputs (tests/reference/scalesim_golden.csv), matched exactly;
- a live run of SCALE-Sim on seeded random GEMMs and convs (``-m peer``), within 1 %.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from hwsim.engine.accelerator import systolic as sy
from hwsim.mapping.lowering import conv_to_gemm

try:  # repo root on sys.path (python -m pytest) or tests/ itself (pytest's rootdir insertion)
    from tests.peers import scalesim_runner as peer
    from tests.peers.hwsim_gemm import layer_gemm
except ImportError:  # pragma: no cover - depends on how pytest was launched
    from peers import scalesim_runner as peer  # type: ignore[no-redef]
    from peers.hwsim_gemm import layer_gemm  # type: ignore[no-redef]

GOLDEN_CSV = Path(__file__).parent / "reference" / "scalesim_golden.csv"
MAX_REL_ERR = 0.01  # the project's hard limit against SCALE-Sim
FLOAT_REL_TOL = 1e-9  # SCALE-Sim averages per-fold floats; we use the exact closed form


# ---------------------------------------------------------------- hand-derived unit cases


def test_single_fold_os_by_hand() -> None:
    # M=5, N=6, K=7 on 8x8, os: sr=M=5 <= 8 rows, sc=N=6 <= 8 cols -> 1 fold.
    # Fold = K + rows + cols - 2 = 7 + 8 + 8 - 2 = 21 demand rows; SCALE-Sim reports the last
    # row's 0-based index: 20. Mapping eff = 5*6/64. Compute util = (30*7) / (64*21).
    args = (5, 6, 7, 8, 8, "os")
    assert sy.fold_counts(*args) == (1, 1)
    assert sy.compute_cycles(*args) == 20
    assert sy.mapping_efficiency(*args) == pytest.approx(30 / 64, rel=1e-15)
    assert sy.compute_utilization(*args) == pytest.approx(30 * 7 / (64 * 21), rel=1e-15)
    assert sy.overall_utilization(*args) == pytest.approx(5 * 6 * 7 / (20 * 64), rel=1e-15)


def test_single_fold_ws_is_by_hand() -> None:
    # ws: sr=K=7, sc=N=6, t=M=5. Fold = 2*rows (preload + skew) + cols + t - 2 = 16+8+5-2 = 27
    # -> 26 cycles. Utilisation window adds another cols-1: 5 + 16 + 16 - 3 = 34.
    assert sy.compute_cycles(5, 6, 7, 8, 8, "ws") == 26
    assert sy.compute_utilization(5, 6, 7, 8, 8, "ws") == pytest.approx(42 / 64 * 5 / 34)
    # is: sr=K=7, sc=M=5, t=N=6. Fold = 16 + 8 + 6 - 2 = 28 -> 27 cycles.
    assert sy.compute_cycles(5, 6, 7, 8, 8, "is") == 27
    assert sy.mapping_efficiency(5, 6, 7, 8, 8, "is") == pytest.approx(35 / 64)


def test_multi_fold_os_by_hand() -> None:
    # M=17 on 8 rows -> ceil(17/8)=3 row folds; N=20 on 16 cols -> 2 col folds; 6 folds, each
    # K + 8 + 16 - 2 = 10 + 22 = 32 cycles even when partly empty: 6*32 - 1 = 191.
    # Mapping eff = 17*20 / (3*8 * 2*16) = 340/768 (the per-fold mean collapses to this).
    assert sy.fold_counts(17, 20, 10, 8, 16, "os") == (3, 2)
    assert sy.compute_cycles(17, 20, 10, 8, 16, "os") == 191
    assert sy.mapping_efficiency(17, 20, 10, 8, 16, "os") == pytest.approx(340 / 768)


def test_operand_dims_per_dataflow() -> None:
    assert [int(x) for x in sy.operand_dims(2, 3, 4, "os")] == [2, 3, 4]  # M, N, K
    assert [int(x) for x in sy.operand_dims(2, 3, 4, "ws")] == [4, 3, 2]  # K, N, M
    assert [int(x) for x in sy.operand_dims(2, 3, 4, "is")] == [4, 2, 3]  # K, M, N


def test_ws_and_is_are_mirror_images() -> None:
    # is maps (M, N) where ws maps (N, M): swapping M and N swaps the two dataflows.
    rng = np.random.default_rng(11)
    m, n, k = rng.integers(1, 3000, (3, 500))
    rows, cols = rng.integers(8, 257, (2, 500))
    np.testing.assert_array_equal(sy.compute_cycles(m, n, k, rows, cols, "ws"),
                                  sy.compute_cycles(n, m, k, rows, cols, "is"))


def test_vectorised_matches_scalar_calls() -> None:
    rng = np.random.default_rng(12)
    m, n, k = rng.integers(1, 5000, (3, 10_000))
    rows, cols = rng.integers(8, 257, (2, 10_000))
    for dataflow in sy.DATAFLOWS:
        batch = sy.compute_cycles(m, n, k, rows, cols, dataflow)
        assert batch.shape == (10_000,) and batch.dtype == np.int64
        for i in range(0, 10_000, 997):
            assert batch[i] == sy.compute_cycles(int(m[i]), int(n[i]), int(k[i]), int(rows[i]),
                                                 int(cols[i]), dataflow)
    # Broadcasting: one GEMM against a grid of array shapes.
    grid = sy.compute_cycles(64, 64, 64, np.array([[8], [16]]), np.array([8, 16, 32]), "os")
    assert grid.shape == (2, 3)


def test_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match="dataflow"):
        sy.compute_cycles(1, 1, 1, 8, 8, "rs")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=">= 1"):
        sy.compute_cycles(np.array([4, 0]), 1, 1, 8, 8, "os")


def test_conv_lowering() -> None:
    # 224x224x3, 64 filters 7x7, stride 2, pad 3: E = (230-7)//2 + 1 = 112.
    assert conv_to_gemm(224, 224, 3, 64, 7, 7, stride=2, padding=3) == (112 * 112, 64, 147, 1)
    # SCALE-Sim's ceil variant: 12x10 input, 3x3, stride 2 -> ceil(9/2)+1=6 by ceil(7/2)+1=5.
    assert conv_to_gemm(12, 10, 3, 20, 3, 3, 2) == (5 * 4, 20, 27, 1)
    assert conv_to_gemm(12, 10, 3, 20, 3, 3, 2, ofmap_rounding="ceil") == (6 * 5, 20, 27, 1)
    # Depthwise 3x3 on 56x56x64 (pad 1): 64 GEMMs of M=3136, N=1, K=9.
    assert conv_to_gemm(56, 56, 64, 64, 3, 3, padding=1, groups=64) == (3136, 1, 9, 64)
    m, n, k, count = conv_to_gemm(np.array([8, 9]), 8, 4, 6, 3, 3)
    np.testing.assert_array_equal(m, [36, 42])
    assert (n, k, count) == (6, 36, 1)
    with pytest.raises(ValueError, match="divisible"):
        conv_to_gemm(8, 8, 6, 6, 3, 3, groups=4)


# ---------------------------------------------------------------- golden file (no SCALE-Sim)


def _golden_rows() -> list[dict[str, str]]:
    with GOLDEN_CSV.open() as f:
        return list(csv.DictReader(f))


def test_golden_file_is_substantial() -> None:
    rows = _golden_rows()
    assert len(rows) >= 60
    assert {r["dataflow"] for r in rows} == set(sy.DATAFLOWS)
    assert {r["kind"] for r in rows} == {"gemm", "conv"}


@pytest.mark.parametrize("dataflow", sy.DATAFLOWS)
def test_golden_exact(dataflow: str) -> None:
    rows = [r for r in _golden_rows() if r["dataflow"] == dataflow]
    for r in rows:
        m, n, k = int(r["m"]), int(r["n"]), int(r["k"])
        if r["kind"] == "conv":  # the lowering must reproduce the GEMM SCALE-Sim built
            lowered = conv_to_gemm(*(int(r[x]) for x in ("h", "w", "c", "filters", "r", "s")),
                                   stride=int(r["stride"]), ofmap_rounding="ceil")
            assert lowered[:3] == (m, n, k), r
        shape = (m, n, k, int(r["rows"]), int(r["cols"]), dataflow)
        assert int(sy.compute_cycles(*shape)) == int(r["total_cycles"]), r
        for ours, col in ((sy.mapping_efficiency, "mapping_efficiency_pct"),
                          (sy.compute_utilization, "compute_util_pct"),
                          (sy.overall_utilization, "overall_util_pct")):
            assert 100 * float(ours(*shape)) == pytest.approx(float(r[col]), rel=FLOAT_REL_TOL)


# ---------------------------------------------------------------- live SCALE-Sim runs


@dataclass(frozen=True)
class LiveCase:
    layer: peer.GemmLayer | peer.ConvLayer
    rows: int
    cols: int
    dataflow: str

    def gemm(self) -> tuple[int, int, int]:
        return layer_gemm(self.layer)

    def label(self) -> str:
        return f"{self.dataflow}-{self.layer}-{self.rows}x{self.cols}".replace(" ", "")


CASES_PER_DATAFLOW = 32
# SCALE-Sim walks its demand matrices row by row in Python (~60 us per cycle plus ~0.6 us per
# array-edge element) and its prefetch matrices element by element (~2 us per operand element).
# Shapes whose estimated run exceeds this are redrawn, so the whole live test stays near a
# minute on two cores.
MAX_SCALESIM_EST_S = 3.0


def _scalesim_est_s(m: int, n: int, k: int, rows: int, cols: int, dataflow: str) -> float:
    cycles = int(sy.compute_cycles(m, n, k, rows, cols, dataflow))
    return cycles * (60e-6 + 0.6e-6 * (rows + cols)) + 2e-6 * (m * k + k * n)


def _draw_case(rng: np.random.Generator, dataflow: str, index: int) -> LiveCase:
    while True:
        # Log-uniform array sides in [8, 256], drawn independently: mostly non-square.
        rows, cols = (round(2 ** rng.uniform(3, 8)) for _ in range(2))
        layer: peer.GemmLayer | peer.ConvLayer
        if index % 2 == 0:
            m, n, k = (round(2 ** rng.uniform(0, 11)) for _ in range(3))
            layer = peer.GemmLayer(m, n, k)
        else:
            r = int(rng.choice([1, 2, 3, 5, 7]))
            h, w = (int(rng.integers(r, 49)) for _ in range(2))
            layer = peer.ConvLayer(h=h, w=w, c=int(rng.integers(1, 65)),
                                   filters=int(rng.integers(1, 257)), r=r, s=r,
                                   stride=int(rng.integers(1, 4)))
        case = LiveCase(layer, rows, cols, dataflow)
        if _scalesim_est_s(*case.gemm(), rows, cols, dataflow) <= MAX_SCALESIM_EST_S:
            return case


def live_cases() -> list[LiveCase]:
    """Seeded, so every pytest-xdist worker collects the identical list."""
    cases = []
    for seed, dataflow in enumerate(sy.DATAFLOWS):
        rng = np.random.default_rng(20240 + seed)
        cases += [_draw_case(rng, dataflow, i) for i in range(CASES_PER_DATAFLOW)]
    return cases


def _rel_err(ours: float, theirs: float) -> float:
    return abs(ours - theirs) / abs(theirs)


@pytest.mark.peer
@pytest.mark.parametrize("case", live_cases(), ids=LiveCase.label)
def test_live_agreement(case: LiveCase, scalesim_ok: None) -> None:
    res = peer.run_layer(case.layer, case.rows, case.cols, case.dataflow)
    assert res.stall_cycles == 0, "CALC mode with large SRAMs should be stall-free"
    shape = (*case.gemm(), case.rows, case.cols, case.dataflow)
    assert _rel_err(float(sy.compute_cycles(*shape)), res.total_cycles) <= MAX_REL_ERR
    assert _rel_err(100 * float(sy.mapping_efficiency(*shape)),
                    res.mapping_efficiency_pct) <= MAX_REL_ERR
    assert _rel_err(100 * float(sy.compute_utilization(*shape)),
                    res.compute_util_pct) <= MAX_REL_ERR
    assert _rel_err(100 * float(sy.overall_utilization(*shape)),
                    res.overall_util_pct) <= MAX_REL_ERR
