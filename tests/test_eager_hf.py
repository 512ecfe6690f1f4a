"""The eager HuggingFace forward-pass builder (hwsim/workload/eager_hf.py): the kernel sequence
eager fp32 PyTorch runs, and what it costs next to hwsim's fused stock build."""

from __future__ import annotations

import pytest

from hwsim.engine.simulate import simulate
from hwsim.workload.eager_hf import NEUSIGHT_FAMILY, eager_hf_model, eager_hf_ops
from hwsim.workload.load import load_model
from hwsim.workload.ops import AttentionOp, MatmulOp, VectorOp

GPT2_LARGE = {"layers": 2, "d_model": 1280, "heads": 20, "d_ff": 5120, "vocab": 50257,
              "seq": 1024}


def _names(family: str, **shape: int) -> list[str]:
    return [op.name for op in eager_hf_ops(family, **(GPT2_LARGE | shape))]  # type: ignore[arg-type]


def test_scores_are_materialised_not_flash() -> None:
    ops = eager_hf_ops("gpt2", **GPT2_LARGE)
    assert not any(isinstance(op, AttentionOp) for op in ops)
    scores = 20 * 1024 * 1024
    layer0 = {op.name: op for op in ops if op.name.startswith("layer0.")}
    assert isinstance(layer0["layer0.scores"], MatmulOp)
    assert not layer0["layer0.scores"].b_is_weight and layer0["layer0.scores"].batch == 20
    for step in ("scale", "mask", "softmax"):
        op = layer0[f"layer0.{step}"]
        assert isinstance(op, VectorOp) and op.elements == scores
    assert all(op.dtype == "fp32" for op in ops)


def test_family_differences() -> None:
    gpt2, bert, opt = _names("gpt2"), _names("bert"), _names("opt")
    assert sum(n.startswith("layer0.gelu.") for n in gpt2) == 8  # gelu_new: 8 torch ops
    assert "layer0.qkv" in gpt2 and "layer0.q_proj" in bert and "layer0.q_proj" in opt
    assert "lm_head" in gpt2 and "lm_head" in opt and "lm_head" not in bert
    assert "classifier" in bert and "layer0.ln_out" in bert and "layer0.ln1" not in bert
    assert {"layer0.q_scale", "layer0.mask_clamp"} <= set(opt) and "causal_mask0" in opt


def test_neusight_models_map_to_families() -> None:
    assert set(NEUSIGHT_FAMILY.values()) == {"bert", "gpt2", "opt"}


def test_eager_costs_more_than_the_fused_stock_build() -> None:
    eager = eager_hf_model("gpt2", **GPT2_LARGE)
    over = {"builder.layers": 2, "builder.d_model": 1280, "builder.heads": 20,
            "builder.d_ff": 5120, "builder.vocab": 50257, "builder.dtype": "fp32"}
    stock = load_model("gpt2-small", seq=1024, overrides=over)
    t_eager = simulate(eager, "h100-sxm", batch=4).total.latency_s
    t_stock = simulate(stock, "h100-sxm", batch=4).total.latency_s
    # Materialised scores, operand copies and gelu_new's 8 kernels: 1.13x on the merged tree (a
    # 1024-long fp32 softmax row is read once from shared memory: hwsim/engine/gpu/softmax.py).
    assert t_eager > 1.10 * t_stock


@pytest.mark.parametrize(("family", "shape", "message"), [
    ("llama", {}, "unknown eager HuggingFace family"),
    ("gpt2", {"heads": 7}, "not a multiple of heads"),
])
def test_bad_input(family: str, shape: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        eager_hf_model(family, **(GPT2_LARGE | shape))  # type: ignore[arg-type]
