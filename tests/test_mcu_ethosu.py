"""The structural Ethos-U model: golden per-op numbers derived by hand from its structure,
Vela 5.2.0's own block choices, the held-out targets on the single-op sweep, and the refit."""

from __future__ import annotations

import pytest

from hwsim.calibration.ethosu import fit
from hwsim.data.reference.mcu.vela_op_sweep import OPS, held_out, op_key
from hwsim.engine.mcu.ethosu_arch import arch_for
from hwsim.engine.mcu.ethosu_layers import STRUCTURAL, memories, npu_layer
from hwsim.engine.mcu.ethosu_perf import NpuLayer, block_config, layer_cycles
from hwsim.hardware.chips import load_chip
from hwsim.mapping.primitives import lower
from hwsim.validation.mcu_vela_ops import comparison_rows, op_runs, summary
from hwsim.workload.load import load_model


def _sram_only(name: str) -> tuple[object, object]:
    chip = load_chip(name, {"npu.memory_mode": "Sram_Only"})
    assert chip.npu is not None
    return arch_for(chip.npu.product, chip.npu.macs_per_cycle), memories(chip.npu)


def test_elementwise_add_is_the_output_stage_rate() -> None:
    """16x16x16 int8 add on a U55-256: 0.75 output-stage cycles per element x 4096 = 3072,
    exactly Vela 5.2.0's figure for the same op (vela_ops_runs.csv)."""
    arch, mem = _sram_only("ethos-u55-256")
    lc = layer_cycles(NpuLayer("add", (16, 16, 16), (16, 16, 16)), arch, mem)  # type: ignore[arg-type]
    assert lc.npu == 3072
    vela = [r for r in op_runs() if r.op == "add_h16w16c16_k16_r1s1"
            and r.config == "ethos-u55-256" and r.memory_mode == "Sram_Only"]
    assert vela[0].vela_layer_cycles == 3072


def test_part_kernel_conv_by_hand() -> None:
    """3x3 conv, 16x16x8 -> 16x16x16, U55-256, weights in SRAM. One 16x16x16 block, part-kernel
    (8 input channels). MAC: max(weight load 4x8, 4 x 64 micro-blocks) x ceil(9/4) steps x
    2 depth micro-blocks = 1536. Output 0.25 x 4096 = 1024. Block command: input 16x16x8 bytes
    in 8-byte runs of 32-byte bursts (x4) at 8 B/cycle + 32 latency = 1056, output 4096 bytes
    + 32 = 544; (1056 + 544 + 1024 + 1536) / 4 = 1040 > 1024. Total 1536 x 1 block + 1040."""
    arch, mem = _sram_only("ethos-u55-256")
    layer = NpuLayer("conv", (16, 16, 8), (16, 16, 16), (3, 3), 1, 1500.0)
    blk = block_config(layer, arch)  # type: ignore[arg-type]
    assert blk.ofm == (16, 16, 16) and blk.part_kernel
    assert layer_cycles(layer, arch, mem).npu == 2576  # type: ignore[arg-type]


def test_block_choice_matches_vela() -> None:
    """Vela 5.2.0 ``--verbose-schedule`` on the MLPerf Tiny KWS model, ethos-u55-128: "OFM
    Block=[1, 10, 6, 16], IFM Block=[1, 26, 14, 8], Traversal=PartKernel" for the first conv,
    "OFM Block=[1, 14, 6, 16], IFM Block=[1, 16, 8, 16]" for the first depthwise."""
    model, chip = load_model("mlperf-tiny-kws"), load_chip("ethos-u55-128")
    arch = arch_for("ethos-u55", 128)
    layers = [npu_layer(op, lower(op, 1, 1)[0]) for op in model.ops[:2]]
    assert chip.npu is not None and all(layers)
    conv, dw = (block_config(x, arch) for x in layers if x is not None)
    assert (conv.ofm, conv.ifm, conv.part_kernel) == ((10, 6, 16), (26, 14, 8), True)
    assert (dw.ofm, dw.ifm) == ((14, 6, 16), (16, 8, 16))


def test_split_rule_is_declared_and_stable() -> None:
    """About a third of the op shapes held out, by a hash of the key alone; the CSV agrees."""
    held = {op_key(o) for o in OPS if held_out(op_key(o))}
    assert 0.25 < len(held) / len(OPS) < 0.45
    assert {r.op for r in op_runs() if r.split == "heldout"} == held


def test_heldout_targets() -> None:
    """Issue 18's targets on the held-out op shapes: per-layer median |error| <= 15 %, and the
    single-op networks' totals <= 10 % (Vela's per-layer cycles sum to its totals)."""
    rows = comparison_rows("heldout")
    assert summary(rows, "layer_error")[0]["median_abs_error"] <= 0.15
    assert summary(rows, "total_error")[0]["median_abs_error"] <= 0.10


def test_refit_reproduces_the_constants() -> None:
    c, runs, shapes = fit()
    assert runs == 350 and shapes == 50
    for name, value in c.__dict__.items():
        assert value == pytest.approx(getattr(STRUCTURAL, name), rel=1e-3, abs=1e-3), name
