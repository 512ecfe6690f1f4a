"""Memory fit on a microcontroller: weights vs flash, peak activation arena vs SRAM.

The arena follows TFLM's planner for a chain of ops: while an op runs, its input and output
tensors are live together, so the peak is the largest (input + output) over the op order, plus a
recurrent cell's state (attention's K/V, the MCU's KV cache, are live tensors of the arena).
Models with skip connections (ResNet) keep one more tensor alive, which this bound leaves out;
it is a lower bound on the arena a real planner needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hwsim.config.chip import McuChip
from hwsim.units import DTYPE_BYTES
from hwsim.workload.memory import peak_activation_bytes
from hwsim.workload.model import Model


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


def deployed_weight_bytes(model: Model) -> int:
    """Weights as deployed on an MCU: int8, whatever the model file's dtype."""
    elem = DTYPE_BYTES["int8"]
    return sum(op.weight_bytes // op.dtype_bytes * elem for op in model.ops)


def memory_fit(model: Model, chip: McuChip, batch: int) -> Fit:
    """Weights (int8 as deployed) against flash and the activation arena against SRAM."""
    peak, peak_op = peak_activation_bytes(model, batch, DTYPE_BYTES["int8"])
    return Fit(deployed_weight_bytes(model), chip.flash_bytes, peak, chip.sram_bytes, peak_op)
