"""``--sparsity OPGLOB:KIND:key=value,...`` overrides: set the sparsity of the ops a glob matches.

Examples: ``'*ffn_down:topk:density=0.02'``, ``'layer*.attn:attention_gate:keep_ratio=0.5'``,
``'*:dense'`` (removes all sparsity). Values are YAML scalars; the spec is validated like a file.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable

from hwsim.config.loading import parse_override_value, validate
from hwsim.config.sparsity import DenseSpec, SparsitySpec
from hwsim.errors import input_error
from hwsim.workload.model import Model, content_hash
from hwsim.workload.ops import OpBase

# Which sparsity kinds mean something for which op kinds (dense fits every op).
APPLIES: dict[str, set[str]] = {
    "topk": {"matmul", "conv2d", "recurrent", "attention"},
    "relu": {"matmul", "conv2d", "recurrent"},
    "nm": {"matmul", "conv2d"},
    "trace": {"matmul", "conv2d", "recurrent"},
    "attention_gate": {"attention"},
    "moe": {"moe"},
}


def parse_sparsity(text: str) -> tuple[str, object]:
    """``'glob:kind:k=v,...'`` -> (glob, validated SparsitySpec)."""
    source = f"--sparsity {text}"
    parts = text.split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise input_error(source, "expected OPGLOB:KIND[:key=value,...]",
                          hint="e.g. '*ffn_down:topk:density=0.02' or '*:dense'")
    glob, kind = parts[0], parts[1]
    doc: dict[str, object] = {"kind": kind}
    if len(parts) == 3 and parts[2]:
        for item in parts[2].split(","):
            if "=" not in item:
                raise input_error(source, "expected key=value", given=item)
            key, value = item.split("=", 1)
            doc[key.strip()] = parse_override_value(value.strip())
    return glob, validate(doc, SparsitySpec, source)


def apply_sparsity(model: Model, overrides: Iterable[str | tuple[str, object]]) -> Model:
    """A new Model whose matching ops carry the given sparsity (later overrides win)."""
    ops: list[OpBase] = list(model.ops)
    applied: list[str] = []
    for item in overrides:
        glob, spec = parse_sparsity(item) if isinstance(item, str) else item
        text = item if isinstance(item, str) else f"{glob}:{getattr(spec, 'kind', '?')}"
        kind = getattr(spec, "kind", "dense")
        hits = [i for i, op in enumerate(ops) if fnmatch.fnmatchcase(op.name, glob)]
        if kind != "dense":
            hits = [i for i in hits if ops[i].kind in APPLIES[kind]]  # type: ignore[attr-defined]
        if not hits:
            names = ", ".join(op.name for op in ops[:6]) + (", ..." if len(ops) > 6 else "")
            raise input_error(f"--sparsity {text}", f"no op of {model.name} matches '{glob}'"
                              + ("" if kind == "dense" else f" with a kind '{kind}' applies to "
                                 f"({', '.join(sorted(APPLIES[kind]))})"),
                              hint=f"op names look like: {names}")
        for i in hits:
            ops[i] = ops[i].model_copy(update={"sparsity": spec})
        # The hash must see the whole spec: two densities under one glob are different models.
        dump = spec.model_dump(mode="json") if hasattr(spec, "model_dump") else repr(spec)
        applied.append(f"{glob}:{json.dumps(dump, sort_keys=True)}")
    return Model(name=model.name, ops=tuple(ops), source=model.source,
                 description=model.description, origin=model.origin,
                 content_hash=content_hash({"base": model.content_hash, "sparsity": applied}),
                 accuracy=model.accuracy)


def dense_twin(model: Model) -> Model:
    """The same model without its sparsity: every op dense, predictor and gate ops removed
    (a dense model has no active set to choose). Routers stay: an MoE is routed by nature."""
    ops = tuple(op if isinstance(op.sparsity, DenseSpec) else op.model_copy(
        update={"sparsity": DenseSpec()}) for op in model.ops if op.role not in (
        "predictor", "gate"))
    return Model(name=model.name + " (dense)", ops=ops, source=model.source,
                 description=model.description, origin=model.origin,
                 content_hash=content_hash({"base": model.content_hash, "dense_twin": True}),
                 accuracy=model.accuracy)
