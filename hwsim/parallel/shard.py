"""Cut a transformer's op list into the per-device models of a tensor/pipeline/expert run.

Tensor parallel (Megatron-LM, Shoeybi et al. 2019): the QKV projection and FFN-up (and the
MoE experts' first matrices) are column-parallel, attention runs heads / tp per device, the
attention output projection and FFN-down are row-parallel, so each device holds 1/tp of those
weights and an all-reduce of the layer's activations follows attention and the FFN. K/V heads
are split too; when tp exceeds kv_heads each device keeps one K/V head (replicated, as vLLM
does) and tp must be a multiple of kv_heads. Norms, residuals, routers, gates and predictor
down-projections are replicated. The embedding and LM head are vocabulary-parallel (an
all-reduce after the embedding, an all-gather of the logits).

Expert parallel (data-parallel attention): every device runs the dense parts for its group's
``ceil(batch / ep)`` inputs and holds ``experts / ep`` experts; the tokens routed to them from
all groups are, in expectation, its own tokens x top_k, so its experts op is
``MoeOp(tokens x top_k, top_k = 1, experts / ep)``: expected loads per local expert equal the
unsharded op's, and the routing law's skew is applied over the local experts only (an
approximation: which experts are hot is not tracked across devices).

Pipeline parallel: layers are split as evenly as possible (the first ``layers % pp`` stages get
one more), the embedding goes with the first stage and the final norm and LM head with the last.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from hwsim.errors import input_error
from hwsim.parallel.spec import ParallelSpec
from hwsim.workload.model import Model, model_from_ops
from hwsim.workload.ops import AttentionOp, EmbeddingOp, MatmulOp, MoeOp, OpBase, VectorOp

_LAYER = re.compile(r"^layer(\d+)\.(.+)$")
# Suffixes of a builder layer's ops and how tensor parallelism cuts them.
_COLUMN = ("ffn_up", "ffn_predictor_up", "shared_up")  # N / tp
_ROW = ("attn_out", "ffn_down", "shared_down")  # K / tp; an all-reduce follows the layer's last
_VECTOR_SPLIT = ("ffn_act", "ffn_predictor_topk", "attn_route_topk")  # elements / tp
_HEAD = ("ln_f", "lm_head", "classifier")  # after the last layer: the last stage's


@dataclass(frozen=True)
class Layout:
    """The per-device work of one pipeline stage, and the collectives it issues."""

    stage: int
    model: Model  # what one device of this stage runs, per input
    layers: tuple[int, ...]
    all_reduces: tuple[tuple[str, int], ...]  # (after op, bytes per input) within the tp group
    all_to_alls: tuple[tuple[str, int], ...]  # (before/after experts op, bytes per input), ep
    all_gathers: tuple[tuple[str, int], ...]  # (op, gathered bytes per input), tp group
    send_bytes: int  # activations per input passed to the next stage (0 on the last)


@dataclass(frozen=True)
class ModelShape:
    """What the checks need to know about a builder transformer."""

    layers: int
    heads: int
    kv_heads: int
    experts: int | None


def model_shape(model: Model) -> ModelShape | None:
    """Layers, heads and experts of a builder transformer (ops named ``layerN.attn``), or None."""
    attns = [op for op in model.ops if isinstance(op, AttentionOp) and _LAYER.match(op.name)]
    if not attns:
        return None
    layers = len({_layer_of(op.name) for op in model.ops if _LAYER.match(op.name)})
    moes = [op.experts for op in model.ops if isinstance(op, MoeOp)]
    a = attns[0]
    return ModelShape(layers, a.heads, a.kv_heads or a.heads, moes[0] if moes else None)


def check_spec(model: Model, spec: ParallelSpec,
               shape: ModelShape | None = None) -> ModelShape | None:
    """Input errors naming the setting for every degree the model cannot take. ``shape``:
    the whole model's, when ``model`` is a part of it (serving prices body, head and
    attention apart)."""
    shape = shape or model_shape(model)
    if spec.single:
        return shape
    if shape is None:
        raise input_error("parallel", f"model {model.name!r} has no transformer layers to "
                          "spread over devices (ops named layerN.qkv / layerN.attn / ...)",
                          given=spec.to_dict(), hint="tensor/pipeline/expert parallelism "
                          "needs a builder transformer (hwsim list models)")
    if shape.heads % spec.tp:
        raise input_error("tp", f"tp={spec.tp} does not divide the {shape.heads} attention "
                          f"heads of {model.name}", given=spec.tp,
                          hint="use one of " + _divisors(shape.heads))
    if shape.kv_heads % spec.tp and spec.tp % shape.kv_heads:
        raise input_error("tp", f"tp={spec.tp} neither divides the {shape.kv_heads} K/V heads "
                          "nor is a multiple of them", given=spec.tp,
                          hint="use a divisor or a multiple of " + str(shape.kv_heads))
    for op in model.ops:
        if spec.tp > 1 and _tp_cut(op) and getattr(op.sparsity, "kind", "") == "trace":
            raise input_error("tp", f"op {op.name} reads its masks from a trace, which "
                              "records the unsharded width; tp > 1 cannot cut it", given=spec.tp)
        if spec.tp > 1 and _tp_cut(op) in _COLUMN + _ROW and isinstance(op, MatmulOp):
            width = op.n if _tp_cut(op) in _COLUMN else op.k
            if width % spec.tp:
                raise input_error("tp", f"tp={spec.tp} does not divide {op.name}'s width "
                                  f"{width}", given=spec.tp, hint="use one of " +
                                  _divisors(width))
        if spec.tp > 1 and isinstance(op, MoeOp) and op.d_ff % spec.tp:
            raise input_error("tp", f"tp={spec.tp} does not divide the experts' d_ff "
                              f"{op.d_ff}", given=spec.tp, hint="use one of " + _divisors(op.d_ff))
    if spec.ep > 1:
        if shape.experts is None:
            raise input_error("ep", f"ep={spec.ep} needs a mixture-of-experts model; "
                              f"{model.name} has no experts", given=spec.ep, hint="use ep 1")
        if shape.experts % spec.ep:
            raise input_error("ep", f"ep={spec.ep} does not divide the {shape.experts} "
                              "experts", given=spec.ep, hint="use one of " +
                              _divisors(shape.experts))
    if spec.pp > shape.layers:
        raise input_error("pp", f"pp={spec.pp} exceeds the {shape.layers} layers of "
                          f"{model.name}: a stage needs at least one layer", given=spec.pp,
                          hint=f"use at most {shape.layers}")
    return shape


def layouts(model: Model, spec: ParallelSpec,
            shape: ModelShape | None = None) -> list[Layout]:
    """One Layout per pipeline stage (checked with :func:`check_spec` first). ``shape``: the
    whole model's when ``model`` is a part of it."""
    shape = check_spec(model, spec, shape)
    assert shape is not None or spec.single
    n_layers = shape.layers if shape else 0
    stages = _split(n_layers, spec.pp)
    post = [op for op in model.ops if op.name in _HEAD]
    pre = [op for op in model.ops if not _LAYER.match(op.name) and op.name not in _HEAD]
    out: list[Layout] = []
    for s, layer_ids in enumerate(stages):
        chosen = set(layer_ids)
        ops = ([*pre] if s == 0 else []) + [
            op for op in model.ops if _LAYER.match(op.name) and _layer_of(op.name) in chosen]
        if s == len(stages) - 1:
            ops += post
        out.append(_stage(model, spec, s, tuple(layer_ids), ops, last=s == len(stages) - 1,
                          shape=shape))
    return out


def _stage(model: Model, spec: ParallelSpec, s: int, layer_ids: tuple[int, ...],
           ops: list[OpBase], *, last: bool, shape: ModelShape | None = None) -> Layout:
    sharded: list[OpBase] = []
    reduces: list[tuple[str, int]] = []
    a2a: list[tuple[str, int]] = []
    gathers: list[tuple[str, int]] = []
    attn_of = {_layer_of(op.name): op for op in ops
               if isinstance(op, AttentionOp) and _LAYER.match(op.name)}
    last_ffn = _last_ffn_ops(ops)
    for op in ops:
        new = _shard_op(op, spec, attn_of, shape)
        sharded.append(new)
        width = _activation_bytes(op)
        if spec.tp > 1 and (_tp_cut(op) == "attn_out" or op.name in last_ffn):
            reduces.append((op.name, width))
        if spec.tp > 1 and isinstance(op, EmbeddingOp):
            reduces.append((op.name, op.tokens * op.dim * op.dtype_bytes))
        if spec.tp > 1 and op.name == "lm_head" and isinstance(op, MatmulOp):
            gathers.append((op.name, op.m * op.n * op.dtype_bytes))
        if spec.ep > 1 and isinstance(op, MoeOp):
            # dispatch and combine: each device's tokens x top_k rows of d_model, split over
            # the tp ranks of its group (each sends its share)
            size = op.tokens * op.top_k * op.d_model * op.dtype_bytes // spec.tp
            a2a += [(op.name + ":dispatch", size), (op.name + ":combine", size)]
    send = 0 if last else _boundary_bytes(ops)
    name = f"{model.name}[tp{spec.tp},pp{spec.pp}.{s},ep{spec.ep}]"
    stage_model = model_from_ops(name, sharded, source=model.source,
                                 description=f"stage {s} of {model.name} per device",
                                 origin=model.origin)
    return Layout(s, stage_model, layer_ids, tuple(reduces), tuple(a2a), tuple(gathers), send)


def _shard_op(op: OpBase, spec: ParallelSpec, attn_of: dict[int, AttentionOp],
              shape: ModelShape | None = None) -> OpBase:
    t = spec.tp
    cut = _tp_cut(op)
    if isinstance(op, MoeOp):
        upd: dict[str, int] = {}
        if t > 1:
            upd["d_ff"] = op.d_ff // t
        if spec.ep > 1:
            upd |= {"tokens": op.tokens * op.top_k, "top_k": 1, "experts": op.experts // spec.ep}
        return op.model_copy(update=upd) if upd else op
    if t == 1:
        return op
    if isinstance(op, AttentionOp):
        kv = op.kv_heads or op.heads
        return op.model_copy(update={"heads": op.heads // t,
                                     "kv_heads": max(1, kv // t) if op.kv_heads else None})
    if isinstance(op, EmbeddingOp):
        return op.model_copy(update={"vocab": math.ceil(op.vocab / t)})
    if isinstance(op, MatmulOp):
        if cut == "qkv":
            a = attn_of.get(_layer_of(op.name))
            if a is not None:
                heads, kv, head_dim = a.heads, a.kv_heads or a.heads, a.head_dim
            elif shape is not None:
                # A part without the attention ops (serving prices body and attention apart):
                # the whole model's heads, and the fused projection's width per head.
                heads, kv = shape.heads, shape.kv_heads
                head_dim = op.n // (heads + 2 * kv)
            else:
                return op
            kv_local = kv // t if kv % t == 0 else 1
            return op.model_copy(update={"n": (heads // t + 2 * kv_local) * head_dim})
        if cut in _COLUMN:
            return op.model_copy(update={"n": op.n // t})
        if cut in _ROW:
            return op.model_copy(update={"k": op.k // t})
        if cut == "attn_route_scores":
            return op.model_copy(update={"batch": max(1, op.batch // t)})
        if op.name == "lm_head":
            return op.model_copy(update={"n": math.ceil(op.n / t)})
    if isinstance(op, VectorOp) and cut in _VECTOR_SPLIT:
        return op.model_copy(update={"elements": max(1, op.elements // t)})
    return op


def _tp_cut(op: OpBase) -> str:
    m = _LAYER.match(op.name)
    return m.group(2) if m else op.name


def _layer_of(name: str) -> int:
    m = _LAYER.match(name)
    return int(m.group(1)) if m else -1


def _last_ffn_ops(ops: list[OpBase]) -> set[str]:
    """Per layer, the op whose output is all-reduced after the FFN (ffn_down, or the experts /
    shared experts of an MoE layer, which run in parallel and are reduced together)."""
    last: dict[int, str] = {}
    for op in ops:
        cut = _tp_cut(op)
        if cut in ("ffn_down", "experts", "shared_down"):
            last[_layer_of(op.name)] = op.name
    return set(last.values())


def _activation_bytes(op: OpBase) -> int:
    """The hidden state an all-reduce after ``op`` sums: tokens x d_model at the op's dtype."""
    if isinstance(op, MatmulOp):
        return op.m * op.n * op.dtype_bytes
    if isinstance(op, MoeOp):
        return op.tokens * op.d_model * op.dtype_bytes
    return 0


def _boundary_bytes(ops: list[OpBase]) -> int:
    """The hidden state a stage hands to the next: tokens x d_model of its last residual
    (0 for a part of a stage without one: serving sends it with the body)."""
    for op in reversed(ops):
        if isinstance(op, VectorOp) and _tp_cut(op).startswith("residual"):
            return op.elements * op.dtype_bytes
    return 0


def _split(layers: int, pp: int) -> list[list[int]]:
    if layers == 0:
        return [[]]
    base, extra = divmod(layers, pp)
    out, start = [], 0
    for s in range(pp):
        n = base + (1 if s < extra else 0)
        out.append(list(range(start, start + n)))
        start += n
    return out


def _divisors(n: int) -> str:
    return ", ".join(str(d) for d in range(1, n + 1) if n % d == 0 and d <= 64)
