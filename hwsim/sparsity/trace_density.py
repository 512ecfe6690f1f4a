"""Trace sparsity for the engines that price activation sparsity by its density alone.

The MCU and GPU engines take an op's mean activation density (software zero skipping, gathered
rows from the closed-form union) and never read masks; the accelerator engine measures unions
and slowest lanes on the masks themselves. Before this, a ``trace`` spec on an MCU or GPU was
silently priced dense. Here each trace spec becomes the density its mask measures (a ``relu``
spec: exact zeros, independent tokens), after the same checks the accelerator engine makes:
the trace has a mask for the op, with the op's K.
"""

from __future__ import annotations

from pathlib import Path

from hwsim.config.sparsity import ReluSpec, TraceSpec
from hwsim.errors import input_error
from hwsim.mapping.primitives import GemmWork, lower
from hwsim.sparsity.traces import load_trace
from hwsim.workload.model import Model


def traces_as_density(model: Model) -> Model:
    """``model`` with every trace spec replaced by its measured mean density (or as it is)."""
    if not any(isinstance(op.sparsity, TraceSpec) for op in model.ops):
        return model
    loaded: dict[str, dict] = {}
    ops = []
    for op in model.ops:
        spec = op.sparsity
        if isinstance(spec, TraceSpec):
            key = str(Path(spec.path).resolve())
            masks = loaded.setdefault(key, load_trace(spec.path))
            if op.name not in masks:
                raise input_error(spec.path, f"the trace has no mask for op '{op.name}'",
                                  hint="ops in the trace: " + ", ".join(sorted(masks)[:8]))
            mask = masks[op.name]
            gemm = next((w for w in lower(op, 1) if isinstance(w, GemmWork)), None)
            k = None if gemm is None else (gemm.n if gemm.sparse_dim == "n" else gemm.k)
            if k is not None and mask.k_dim != k:
                raise input_error(spec.path, f"op '{op.name}': trace mask has K={mask.k_dim}, "
                                  f"the op has {k}")
            op = op.model_copy(update={"sparsity": ReluSpec(density=float(mask.density()))})
        ops.append(op)
    return Model(name=model.name, ops=tuple(ops), source=model.source,
                 description=model.description, origin=model.origin,
                 content_hash=model.content_hash, accuracy=model.accuracy)
