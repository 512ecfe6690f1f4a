"""Ops derive MACs, FLOPs and bytes from shapes; model presets carry sources."""

from __future__ import annotations

import pytest

import hwsim
from hwsim.mapping.primitives import GemmWork, lower
from hwsim.workload.model import Model
from hwsim.workload.ops import AttentionOp, Conv2dOp, MatmulOp, MoeOp, RecurrentOp


def test_matmul_and_conv_derivations():
    mm = MatmulOp(name="x", m=3, n=5, k=7, batch=2, dtype="fp16")
    assert mm.macs == 210 and mm.flops == 420 and mm.weight_bytes == 7 * 5 * 2 * 2
    cv = Conv2dOp(name="c", h=32, w=30, c=16, k=8, r=3, s=5, stride=2, padding=1)
    assert (cv.out_h, cv.out_w) == (16, 14)
    assert cv.macs == 16 * 14 * 8 * 3 * 5 * 16
    dw = Conv2dOp(name="dw", h=8, w=8, c=32, k=32, r=3, s=3, padding=1, groups=32)
    assert dw.macs == 8 * 8 * 32 * 9
    (g,) = lower(dw, batch=2)
    assert isinstance(g, GemmWork)
    assert (g.m, g.n, g.k, g.count) == (128, 1, 9, 32)
    assert g.m * g.n * g.k * g.count == 2 * dw.macs


def test_attention_moe_recurrent_macs_match_lowering():
    ops = [AttentionOp(name="a", heads=4, seq_q=16, seq_kv=32, head_dim=8),
           RecurrentOp(name="r", cell="lstm", steps=10, inputs=4, hidden=16)]
    for op in ops:
        works = [w for w in lower(op, batch=3) if isinstance(w, GemmWork)]
        lowered = sum(w.m * w.n * w.k * w.count for w in works)
        assert lowered == 3 * op.macs, op.name
    # Experts run padded to the largest expected load (static shapes): never fewer MACs.
    moe = MoeOp(name="m", tokens=64, d_model=32, d_ff=64, experts=8, top_k=2)
    works = [w for w in lower(moe, batch=3) if isinstance(w, GemmWork)]
    padded = sum(w.m * w.n * w.k * w.count for w in works)
    assert 3 * moe.macs <= padded <= 1.5 * 3 * moe.macs


def test_gpt2_small_shapes_follow_the_published_configuration():
    m = hwsim.load_model("gpt2-small", seq=1024)
    linear = [op for op in m.ops if isinstance(op, MatmulOp) and op.name != "lm_head"]
    # 12 layers x (qkv 768x2304 + out 768x768 + up 768x3072 + down 3072x768) = 84,934,656
    assert sum(op.k * op.n for op in linear) == 84_934_656
    assert "Radford" in m.source
    prefill = m.macs
    decode = hwsim.load_model("gpt2-small", seq=1024, phase="decode").macs
    assert decode < prefill / 500


def test_resnet18_macs_match_the_paper():
    m = hwsim.load_model("resnet18")
    # He et al. 2016 Table 1: 1.8e9 multiply-adds for the 18-layer network.
    assert m.macs == pytest.approx(1.8e9, rel=0.01)
    assert "He et al." in m.source


def test_models_accept_only_builder_overrides_they_have():
    with pytest.raises(hwsim.HwsimError, match="explicit op list"):
        hwsim.load_model("resnet18", seq=128)


def test_training_step_is_forward_backward_update():
    inf = hwsim.load_model("gpt2-small", seq=64)
    tr = hwsim.load_model("gpt2-small", seq=64, mode="training")
    assert tr.macs == 3 * inf.macs  # backward = 2x forward, op by op
    (adam,) = [op for op in tr.ops if op.name == "optimizer.adam"]
    assert adam.elements == sum(op.weight_bytes for op in inf.ops)  # int8: 1 byte per weight
    # Backward sparsity follows the forward masks.
    sel = hwsim.load_model("selective-gpt2-small", mode="training")
    bwd = {op.name: op for op in sel.ops}
    assert bwd["layer0.ffn_down.bwd_data"].sparsity == bwd["layer0.ffn_down"].sparsity
    assert bwd["layer0.ffn_down.bwd_data"].sparse_dim == "n"
    with pytest.raises(hwsim.HwsimError, match="unknown mode"):
        hwsim.load_model("gpt2-small", mode="train")


def test_training_step_updates_one_adam_element_per_parameter_at_any_width():
    # An odd count of 4-bit weights packs into count/2 rounded up bytes; the optimizer still
    # updates each parameter once (it had counted bytes x 2, one too many).
    from hwsim.workload.training import training_step

    ops = (MatmulOp(name="a", m=4, n=3, k=5, dtype="int4"),
           MatmulOp(name="b", m=4, n=2, k=3, dtype="bf16"))
    step = training_step(Model(name="odd", ops=ops, origin="test"))
    (adam,) = [op for op in step.ops if op.name == "optimizer.adam"]
    assert ops[0].weight_elements == 15 and ops[0].weight_bytes == 8
    assert adam.elements == 15 + 6
