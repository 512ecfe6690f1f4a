"""MACs a workload executes when every inactive neuron's work is skipped: the hardware-free
count that "N x fewer FLOPs" claims quote.

Per op: its MACs x the fraction its sparsity keeps (top-k/ReLU density, N:M n/m, a gated
attention layer's keep ratio). A recurrent cell keeps its inputs dense and only the hidden state
sparse, so its kept fraction is diluted as the MCU/accelerator lowering dilutes it. Ops without
a sparsity spec (norms, softmax, routers, predictors) count in full.
"""

from __future__ import annotations

from hwsim.config.sparsity import AttentionGateSpec
from hwsim.engine.accelerator.sparse_effects import activation_density
from hwsim.mapping.primitives import attention_keep
from hwsim.workload.model import Model
from hwsim.workload.ops import AttentionOp, OpBase, RecurrentOp


def kept_fraction(op: OpBase) -> float:
    spec = op.sparsity
    if isinstance(op, AttentionOp) and isinstance(spec, AttentionGateSpec):
        return attention_keep(spec, op.layer)
    d = activation_density(spec)
    if isinstance(op, RecurrentOp) and d < 1.0:
        return (op.inputs + d * op.hidden) / (op.inputs + op.hidden)
    return d


def executed_macs(model: Model) -> float:
    """MACs of one input with every op's inactive work skipped."""
    return float(sum(op.macs * kept_fraction(op) for op in model.ops))
