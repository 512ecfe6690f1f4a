"""What one AIConfigurator vLLM attention row times, as an hwsim model.

The collector (ai-dynamo/aiconfigurator ``collector/vllm/collect_attn.py``) replays one
``FlashAttentionImpl.forward`` in a CUDA graph. That forward first writes the new tokens' K and
V into the paged KV cache (``reshape_and_cache_flash``: read the new K/V, write them to their
cache slots), then runs the FlashAttention kernel over the cache (plus its split-KV combine
kernel when it splits). A row is therefore two ops: the cache write and the attention.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hwsim.engine.simulate import simulate
from hwsim.workload.model import Model
from hwsim.workload.ops import AttentionOp, VectorOp


def attention_op(r: Mapping[str, str]) -> AttentionOp:
    """The attention of a row (per sequence; the batch is the simulation batch)."""
    return AttentionOp(name="attn", heads=int(r["heads"]), kv_heads=int(r["kv_heads"]),
                       seq_q=int(r["seq_q"]), seq_kv=int(r["seq_kv"]),
                       head_dim=int(r["head_dim"]), causal=r["causal"] == "true",
                       dtype=r["dtype"])


def cache_write_op(r: Mapping[str, str]) -> VectorOp:
    """``reshape_and_cache_flash`` for one sequence: its ``seq_q`` new tokens' K and V."""
    elements = 2 * int(r["seq_q"]) * int(r["kv_heads"]) * int(r["head_dim"])
    return VectorOp(name="kv_cache_write", function="elementwise", elements=elements,
                    dtype=r["dtype"])


def vllm_attention_model(r: Mapping[str, str]) -> Model:
    """The two ops one row times (module docstring)."""
    return Model(name="vllm_attention", ops=(cache_write_op(r), attention_op(r)),
                 origin="validation")


def vllm_attention_s(r: Mapping[str, str], harness: dict[str, Any] | None) -> float:
    """Seconds of one row on its preset and batch under ``harness`` (chip overrides: how the
    rows were timed) - the one simulation the held-out report and every fit of these rows run."""
    return simulate(vllm_attention_model(r), r["preset"], batch=int(r["batch"]),
                    chip_overrides=harness).total.latency_s
