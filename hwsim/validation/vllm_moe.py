"""What one AIConfigurator vLLM MoE row times, as an hwsim model.

The collector (``collector/vllm/collect_moe.py``) replays one ``fused_experts`` call in a CUDA
graph with precomputed top-k ids, so the router GEMM and top-k are not in the timed call. That
call runs (vLLM ``fused_moe.py``) ``moe_align_block_size`` (sort the token-expert slots by
expert), the grouped gate/up GEMM, ``silu_and_mul`` on every routed row, the grouped down GEMM
and the top-k weighted sum.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hwsim.config.sparsity import MoeSpec
from hwsim.workload.builders import moe_expert_ops
from hwsim.workload.model import Model
from hwsim.workload.ops import VectorOp


def vllm_moe_model(r: Mapping[str, Any]) -> Model:
    """The kernels of one row (module docstring): the alignment kernel, then a gated (SwiGLU)
    layer's routed experts as the transformer builder emits them. Routes are ``balanced``: the
    collector's balanced_logits deal every expert the same share of the slots."""
    tokens, top_k = int(r["tokens"]), int(r["top_k"])
    align = VectorOp(name="moe_align_block_size", elements=tokens * top_k, dtype=r["dtype"])
    experts = moe_expert_ops("", tokens=tokens, d_model=int(r["d_model"]), d_ff=int(r["d_ff"]),
                             experts=int(r["experts"]), top_k=top_k, gated=True,
                             dtype=r["dtype"], routing=MoeSpec(routing="balanced"))
    return Model(name="fused_experts", ops=(align, *experts), origin="validation")
