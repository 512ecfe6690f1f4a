"""Find scaled-dot-product attention in an ONNX graph: MatMul(Q, K^T) -> [scale, mask] ->
Softmax -> [Dropout/Cast] -> MatMul(P, V), both MatMuls on activations.

A match becomes one AttentionOp (QK^T, softmax, AV), so attention-gate sparsity applies to it.
The scale (Mul/Div by a constant), the mask Add/Where and dropout are absorbed: fused attention
kernels apply them in the softmax pass. The mask's own computation stays a separate op.

Causal masks are detected where the graph shows them: the mask operand of the Add/Where is, or
is computed (within ``MASK_SEARCH_DEPTH`` nodes) from, a ``Trilu`` node or a constant whose last
two dims are lower-triangular (the tril ones buffer GPT-2 exports slice, or an additive mask
of 0 on and below the diagonal and a large negative number above it). Anything else (no mask,
a padding mask, a mask fed as a graph input) imports as full attention: a mask whose values
only exist at run time cannot be told apart, so re-export with the mask as a constant, or set
``causal: true`` on the attention op of the imported YAML.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx

from hwsim.workload.importers.common import NodeError, numel
from hwsim.workload.importers.onnx_graph import OnnxGraph

_BEFORE_SOFTMAX = frozenset({"Mul", "Div", "Add", "Where", "Cast"})
_AFTER_SOFTMAX = frozenset({"Dropout", "Cast", "Identity"})
MASK_SEARCH_DEPTH = 6  # producer steps walked back from a mask operand looking for tril


@dataclass(frozen=True)
class AttentionMatch:
    qk: int  # node index of MatMul(Q, K^T): the AttentionOp is emitted here
    absorbed: frozenset[int]  # every other node index of the pattern, AV MatMul included
    heads: int  # product of the leading dims (batch x heads)
    seq_q: int
    seq_kv: int
    head_dim: int
    causal: bool = False  # a lower-triangular mask was found (module docstring)


def find_attention(g: OnnxGraph) -> list[AttentionMatch]:
    """Every attention pattern whose intermediates feed nothing else, with static shapes."""
    index = {id(n): i for i, n in enumerate(g.nodes)}
    matches = []
    for i, node in enumerate(g.nodes):
        if node.op_type != "Softmax" or i in g.folded:
            continue
        try:
            match = _match(g, index, i, node)
        except NodeError:  # unknown shapes: leave the nodes to be costed (and reported) singly
            match = None
        if match is not None:
            matches.append(match)
    return matches


def _single_consumer(g: OnnxGraph, tensor: str) -> onnx.NodeProto | None:
    users = g.consumers.get(tensor, [])
    return users[0] if len(users) == 1 and tensor not in g.graph_outputs else None


def _match(g: OnnxGraph, index: dict[int, int], i: int,
           softmax: onnx.NodeProto) -> AttentionMatch | None:
    rank = len(g.shape(softmax.input[0]))
    axis = g.attrs(softmax).get("axis", -1 if g.opset >= 13 else 1)
    if axis % rank != rank - 1:
        return None
    absorbed = {i}
    causal = False
    tensor = softmax.input[0]
    node = g.producer.get(tensor)
    while node is not None and node.op_type in _BEFORE_SOFTMAX:
        if _single_consumer(g, tensor) is None:
            return None
        operands = node.input[1:] if node.op_type == "Where" else node.input
        data = [x for x in operands if x and not g.is_static(x)]
        if node.op_type in ("Mul", "Div") and len(data) != 1:
            return None  # a scale by an activation is not a fixed attention scale
        absorbed.add(index[id(node)])
        scores = _scores_operand(g, node, data)
        if scores is None:
            return None
        if node.op_type in ("Add", "Where"):
            causal = causal or any(_is_tril(g, x) for x in node.input if x and x != scores)
        tensor, node = scores, g.producer.get(scores)
    if node is None or node.op_type != "MatMul" or _single_consumer(g, tensor) is None:
        return None
    qk = node
    if any(g.is_static(x) for x in qk.input):
        return None
    tensor = softmax.output[0]
    after = _single_consumer(g, tensor)
    while after is not None and after.op_type in _AFTER_SOFTMAX:
        absorbed.add(index[id(after)])
        tensor = after.output[0]
        after = _single_consumer(g, tensor)
    if after is None or after.op_type != "MatMul" or after.input[0] != tensor:
        return None
    if g.is_static(after.input[1]):
        return None
    scores = g.shape(qk.output[0])
    q, v = g.shape(qk.input[0]), g.shape(after.input[1])
    if len(scores) < 2 or len(q) < 2 or len(v) < 2 or q[-1] != v[-1]:
        return None  # AttentionOp has one head_dim for Q.K and for V
    absorbed.add(index[id(after)])
    return AttentionMatch(index[id(qk)], frozenset(absorbed), numel(scores[:-2]), scores[-2],
                          scores[-1], q[-1], causal and scores[-2] <= scores[-1])


def _is_tril(g: OnnxGraph, name: str, depth: int = MASK_SEARCH_DEPTH) -> bool:
    """Is ``name`` a causal mask, or computed from one (module docstring)?"""
    value = g.value(name)
    if value is not None:
        return _tril_pattern(value)
    node = g.producer.get(name)
    if node is None or depth == 0:
        return False
    if node.op_type == "Trilu":
        return True
    return any(_is_tril(g, x, depth - 1) for x in node.input if x)


def _tril_pattern(value: np.ndarray) -> bool:
    """A constant whose last two dims keep exactly the keys at or before each query: ones (or
    True) on and below the diagonal, zeros above; or additive, 0 below and << 0 above."""
    if value.ndim < 2 or value.shape[-1] < 2 or value.shape[-2] < 2:
        return False
    m = value.reshape(-1, *value.shape[-2:])[0].astype(np.float64)
    rows, cols = m.shape
    below = np.tril(np.ones((rows, cols), dtype=bool), k=cols - rows)
    keep = m != 0 if np.all((m == 0) | (m == 1)) else m > -1e3
    return bool(np.array_equal(keep, below))


def _scores_operand(g: OnnxGraph, node: onnx.NodeProto, data: list[str]) -> str | None:
    """Which operand of a scale/mask node carries the scores: the one of full shape (a mask
    broadcasts), produced by the chain itself when both are."""
    full = g.shape(node.output[0])
    found = [x for x in data if g.shape(x) == full]
    if len(found) > 1:
        chain = _BEFORE_SOFTMAX | {"MatMul"}
        found = [x for x in found if x in g.producer and g.producer[x].op_type in chain]
    return found[0] if len(found) == 1 else None
