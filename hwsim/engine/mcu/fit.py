"""Memory fit on a microcontroller: weights vs flash, peak activation arena vs SRAM.

The arena follows TFLM's planner for a chain of ops: while an op runs, its input and output
tensors are live together, so the peak is the largest (input + output) over the op order, plus a
recurrent cell's state. Models with skip connections (ResNet) keep one more tensor alive, which
this bound leaves out; it is a lower bound on the arena a real planner needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hwsim.config.chip import McuChip
from hwsim.workload.model import Model
from hwsim.workload.ops import (
    DTYPE_BYTES,
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


@dataclass(frozen=True)
class Fit:
    weights_bytes: int
    flash_bytes: int
    arena_bytes: int
    sram_bytes: int
    peak_op: str

    @property
    def weights_fit(self) -> bool:
        return self.weights_bytes <= self.flash_bytes

    @property
    def arena_fit(self) -> bool:
        return self.arena_bytes <= self.sram_bytes

    @property
    def fits(self) -> bool:
        return self.weights_fit and self.arena_fit

    def to_dict(self) -> dict[str, Any]:
        return {"fits": self.fits, "weights_fit": self.weights_fit,
                "weights_bytes": self.weights_bytes, "flash_bytes": self.flash_bytes,
                "arena_fit": self.arena_fit, "arena_bytes": self.arena_bytes,
                "sram_bytes": self.sram_bytes, "peak_op": self.peak_op}


def live_bytes(op: OpBase, batch: int, elem_bytes: int) -> int:
    """Input + output activation bytes alive while ``op`` runs, for ``batch`` inputs."""
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
        n = op.heads * (2 * op.seq_q * op.head_dim + 2 * op.seq_kv * op.head_dim
                        + op.seq_q * op.seq_kv)
    elif isinstance(op, EmbeddingOp):
        n = op.tokens * (op.dim + 1)
    elif isinstance(op, RouterOp | MoeOp):
        n = op.tokens * (op.d_model * 2 + (op.experts if isinstance(op, RouterOp) else 0))
    else:
        n = 0
    return int(n) * batch * elem_bytes


def memory_fit(model: Model, chip: McuChip, batch: int) -> Fit:
    """Weights (int8 as deployed) against flash and the activation arena against SRAM."""
    elem = DTYPE_BYTES["int8"]
    weights = sum(op.weight_bytes // op.dtype_bytes * elem for op in model.ops)
    peak, peak_op = 0, ""
    for op in model.ops:
        live = live_bytes(op, batch, elem)
        if live > peak:
            peak, peak_op = live, op.name
    return Fit(weights, chip.flash_bytes, peak, chip.sram_bytes, peak_op)
