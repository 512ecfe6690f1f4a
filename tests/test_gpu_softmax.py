"""PyTorch's standalone softmax: how often it reads its input (hwsim.engine.gpu.softmax), by the
dispatch rules of aten SoftMax.cu, and the chip knob for PyTorch versions without the
shared-memory kernel."""

from __future__ import annotations

import pytest

from hwsim.engine.gpu.softmax import block_threads, softmax_input_passes
from hwsim.engine.simulate import simulate
from hwsim.workload.model import Model
from hwsim.workload.ops import VectorOp


@pytest.mark.parametrize(("row", "dtype_bytes", "passes"), [
    (1024, 4, 1.0),    # persistent warp softmax: 4 KB
    (1024, 2, 1.0),
    (2048, 2, 1.0),    # 4 KB fp16 but over 1024 elements: shared-memory kernel
    (12000, 4, 1.0),   # 48000 B < 48 KB - 128 B scratch
    (12288, 4, 3.0),   # 49152 B: does not fit 48 KB less the reduction scratch
    (24000, 2, 1.0),
    (32768, 2, 3.0),   # LLMCompass's widest rows: the generic kernel
    (1030, 4, 3.0),    # not a multiple of the 4-element vector
])
def test_reads_by_row_length(row: int, dtype_bytes: int, passes: float) -> None:
    assert softmax_input_passes(row, dtype_bytes) == passes


def test_unknown_rows_and_old_stacks_take_the_generic_kernel() -> None:
    assert softmax_input_passes(None, 2) == 3.0
    assert softmax_input_passes(2048, 4, smem_path=False) == 3.0
    assert softmax_input_passes(512, 4, smem_path=False) == 1.0  # persistent path is older


def test_block_threads_follow_pytorch() -> None:
    assert block_threads(12288, 4) == 1024  # 3072 wanted, capped
    assert block_threads(2048, 4) == 512
    assert block_threads(64, 4) == 32  # at least a warp


def test_engine_softmax_reads_once_or_three_times() -> None:
    op = VectorOp(name="sm", function="softmax", elements=8192 * 4096, row_elements=4096,
                  dtype="fp32")
    m = Model(name="m", ops=(op,), origin="test")
    over = {"launch_overhead_s": 0.0}
    once = simulate(m, "l4", chip_overrides=over)
    thrice = simulate(m, "l4", chip_overrides=over | {"softmax_smem": False})
    assert once.ops[0].bytes["offchip"] * 2 == pytest.approx(thrice.ops[0].bytes["offchip"])
    assert thrice.total.latency_s == pytest.approx(2 * once.total.latency_s, rel=0.01)
