"""Training-step expansion: forward, backward (activations and weights), optimizer update.

Standard accounting: each weight matmul's backward is two GEMMs of the forward's size, the
data gradient dX = dY @ W^T and the weight gradient dW^T = dY^T @ X; every other op's backward
is costed as twice its forward (two ops of the forward's shape). Backward sparsity follows the
forward masks: dX is needed only for the active neurons (sparse output columns), and dW only
for rows some token activated (the union over the batch). The optimizer is Adam: ~10 vector ops
per weight, reading weight, gradient and two moments and writing three of them back.
"""

from __future__ import annotations

from hwsim.config.sparsity import DenseSpec
from hwsim.workload.model import Model, content_hash
from hwsim.workload.ops import MatmulOp, OpBase, VectorOp

ADAM_OPS_PER_WEIGHT = 10.0
ADAM_INPUTS_PER_WEIGHT = 4.0  # weight, gradient, first and second moments


def training_step(model: Model) -> Model:
    """The model's training step as a new Model (same ops first, then backward, then update)."""
    backward: list[OpBase] = []
    for op in reversed(model.ops):
        backward += _backward(op)
    # Parameter count, not bytes: 4-bit weights pack two to a byte, so bytes round up.
    weights = sum(op.weight_elements for op in model.ops)
    update: list[OpBase] = []
    if weights:
        dt = model.ops[0].dtype
        update.append(VectorOp(name="optimizer.adam", function="elementwise", elements=weights,
                               ops_per_element=ADAM_OPS_PER_WEIGHT,
                               inputs_per_element=ADAM_INPUTS_PER_WEIGHT, dtype=dt))
    ops = (*model.ops, *backward, *update)
    return Model(name=f"{model.name} (training step)", ops=ops, source=model.source,
                 description=model.description, origin=model.origin,
                 content_hash=content_hash({"base": model.content_hash, "mode": "training"}),
                 accuracy=model.accuracy)


def _backward(op: OpBase) -> list[OpBase]:
    name = op.name
    if isinstance(op, MatmulOp) and op.b_is_weight:
        spec = op.sparsity
        # A forward spec on K (active input neurons) masks dX's output columns and dW's rows.
        grad_spec = spec if op.sparse_dim == "k" else DenseSpec()
        return [
            MatmulOp(name=f"{name}.bwd_data", m=op.m, n=op.k, k=op.n, batch=op.batch,
                     dtype=op.dtype, sparsity=grad_spec, sparse_dim="n", role=op.role),
            MatmulOp(name=f"{name}.bwd_weight", m=op.n, n=op.k, k=op.m, batch=op.batch,
                     b_is_weight=False, dtype=op.dtype, sparsity=grad_spec, sparse_dim="n",
                     role=op.role),
        ]
    if isinstance(op, VectorOp):
        return [op.model_copy(update={"name": f"{name}.bwd", "ops_per_element":
                                      2 * op.ops_per_element,
                                      "inputs_per_element": op.inputs_per_element + 1})]
    return [op.model_copy(update={"name": f"{name}.bwd_data"}),
            op.model_copy(update={"name": f"{name}.bwd_weight"})]
