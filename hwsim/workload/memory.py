"""What a model keeps in memory while it runs: weights, the KV cache, live activations.

Workload facts, independent of any chip; each backend's memory fit compares them with its
chip's memories.
"""

from __future__ import annotations

from hwsim.workload.model import Model
from hwsim.workload.ops import (
    AttentionOp,
    Conv2dOp,
    EmbeddingOp,
    MatmulOp,
    MoeOp,
    OpBase,
    RecurrentOp,
    RouterOp,
    VectorOp,
)


def kv_cache_bytes(model: Model, batch: int) -> float:
    """Keys and values of every attention op for ``batch`` sequences: ``seq_kv`` tokens (a
    sliding window's rolling cache: ``window``) x K/V heads x head_dim x 2, at the op's dtype
    (:attr:`hwsim.workload.ops.AttentionOp.kv_cache_bytes`)."""
    return float(model.kv_cache_bytes * batch)


def live_elements(op: OpBase) -> int:
    """Input + output activation elements alive while ``op`` runs, for one input."""
    if isinstance(op, Conv2dOp):
        n = op.h * op.w * op.c + op.out_h * op.out_w * op.k
    elif isinstance(op, MatmulOp):
        n = (op.m * op.k + op.m * op.n) * op.batch + (0 if op.b_is_weight else op.k * op.n)
    elif isinstance(op, VectorOp):
        n = int(op.elements * (op.inputs_per_element + 1))
    elif isinstance(op, RecurrentOp):
        # The whole input sequence, the hidden state and the gate pre-activations of one step.
        n = op.steps * op.inputs + op.hidden + op.gates * op.hidden + op.steps * op.hidden
    elif isinstance(op, AttentionOp):
        # Q and O per query head; K and V per K/V head (GQA), only the keys some query sees
        # (a sliding window's rolling cache); the score rows of the keys seen.
        s = op.shape
        keys = s.keys_touched
        n = (2 * op.heads * op.seq_q * op.head_dim + 2 * s.kv_heads * keys * op.head_dim
             + op.heads * op.seq_q * keys)
    elif isinstance(op, EmbeddingOp):
        n = op.tokens * (op.dim + 1)
    elif isinstance(op, RouterOp | MoeOp):
        n = op.tokens * (op.d_model * 2 + (op.experts if isinstance(op, RouterOp) else 0))
    else:
        n = 0
    return int(n)


def live_bytes(op: OpBase, batch: int, elem_bytes: int) -> int:
    """Input + output activation bytes alive while ``op`` runs, for ``batch`` inputs."""
    return live_elements(op) * batch * elem_bytes


def peak_activation_bytes(model: Model, batch: int,
                          elem_bytes: int | None = None) -> tuple[int, str]:
    """The largest live activation footprint over the op order, and the op where it occurs
    (TFLM's planner for a chain of ops). ``elem_bytes`` None: each op's own dtype."""
    peak, peak_op = 0, ""
    for op in model.ops:
        live = live_bytes(op, batch, op.dtype_bytes if elem_bytes is None else elem_bytes)
        if live > peak:
            peak, peak_op = live, op.name
    return peak, peak_op
