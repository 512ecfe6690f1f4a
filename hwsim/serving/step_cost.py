"""What one iteration of a decoder model costs: latency and energy of a batch shape, from the
engine, cached and interpolated.

Law. An iteration runs the model once over every token scheduled in it: ``tokens`` in all
(decode tokens plus prefill-chunk tokens), from ``seqs`` sequences. Its ops split three ways:

* the body (embedding, projections, FFN/MoE, norms, residuals): one token is one row, so it
  costs what :func:`hwsim.simulate` says the decode-shaped body costs at ``batch = tokens``
  (a GEMM with M = tokens; the engine's union law prices sparse activations over those rows);
* the head (``ln_f``, ``lm_head``): only the last token of each sequence is projected to the
  vocabulary, so ``batch = seqs`` that emit a token (vLLM computes logits only there);
* attention, whose cost depends on the context: the decode sequences together are one
  attention of ``seq_q = 1`` at ``batch = B`` and ``seq_kv`` = their mean context (cost is
  linear in seq_kv per sequence, so the mean prices the sum); each prefill chunk of ``q``
  tokens over ``kv`` cached-plus-new tokens is its own attention at ``batch = 1``.

The iteration's latency and energy are the sums of the parts (kernels run one after another).
Energy is the engine's total, static power over the part's latency included.

Speed. Each part is evaluated by the engine only at grid nodes (1, 2, 3, 4, 6, 8, 12, ...:
powers of two and their 1.5x midpoints) and memoised; in between, costs are linear
(body/head) or bilinear (attention) interpolations. A shape on the nodes is the engine's value
exactly. Interpolation is within ~12 % of a step in token count, where the engine's costs are
piecewise linear or tile-stepped.
"""

from __future__ import annotations

import bisect
import dataclasses
from typing import Any

import numpy as np

from hwsim.engine.simulate import simulate
from hwsim.errors import input_error
from hwsim.hardware.chips import AnyChip
from hwsim.serving.step_moe import moe_law
from hwsim.serving.step_union import decorrelated, union_law
from hwsim.workload.model import Model, content_hash
from hwsim.workload.ops import AttentionOp

HEAD_OPS = ("ln_f", "lm_head")
NODES: tuple[int, ...] = tuple(sorted({2**k for k in range(25)}
                                      | {3 * 2**k for k in range(24)}))


def bracket(x: float) -> tuple[int, int, float]:
    """Grid nodes ``lo <= x <= hi`` and the weight of ``hi`` (0 when x is a node)."""
    if x <= 1.0:
        return 1, 1, 0.0
    i = bisect.bisect_left(NODES, x)
    hi = NODES[min(i, len(NODES) - 1)]
    if hi == x or i == 0:
        return hi, hi, 0.0
    lo = NODES[i - 1]
    return lo, hi, (x - lo) / (hi - lo)


def split_decoder(model: Model) -> tuple[Model, Model, Model]:
    """(body, head, attention) sub-models of a decode-shaped decoder (``seq_q == 1``)."""
    attn = [op for op in model.ops if isinstance(op, AttentionOp)]
    head = [op for op in model.ops if op.name in HEAD_OPS]
    if not attn or not any(op.name == "lm_head" for op in head):
        raise input_error(model.name, "token-level serving needs a decoder model (attention "
                          "ops and an lm_head)", hint="use request-level serving (--batching) "
                          "for other models")
    body = [op for op in model.ops if not isinstance(op, AttentionOp) and op.name not in HEAD_OPS]
    return (_part(model, "body", body), _part(model, "head", head), _part(model, "attn", attn))


def _part(model: Model, part: str, ops: list) -> Model:
    return dataclasses.replace(model, name=f"{model.name}[{part}]", ops=tuple(ops),
                               content_hash=content_hash({"base": model.content_hash,
                                                          "part": part}))


class StepCost:
    """Latency (s) and energy (J) of an iteration of ``model`` (decode-shaped) on ``chip``."""

    def __init__(self, model: Model, chip: AnyChip, parallel: Any = None,
                 system: Any = None) -> None:
        self.model = model
        self.chip = chip
        self.body, self.head, self.attn = split_decoder(model)
        # Many devices (hwsim.parallel): each part is sharded and priced with its collectives
        # by hwsim.parallel.run; an iteration passes through the pipeline stages in turn (one
        # micro-batch: iterations of different stages are not overlapped).
        self.parallel = None
        if parallel is not None and parallel.devices > 1:
            from hwsim.parallel.shard import model_shape
            from hwsim.parallel.spec import ParallelSpec

            self.parallel = ParallelSpec(parallel.tp, parallel.pp, parallel.ep, 1)
            self.system = system
            self.shape = model_shape(model)
        # Sparse activations: rows of different requests are independent, so the body is
        # priced without token correlation and, when the spec has some, interpolated toward
        # the spec as written by where the iteration's union sits (hwsim.serving.step_union).
        self.law = union_law(self.body)
        self.moe = moe_law(self.body)  # per-iteration expert loads (reported, not priced)
        self.body_correlated: Model | None = None
        if self.law is not None and self.law.correlation > 0.0:
            self.body_correlated = self.body
            self.body = decorrelated(self.body)
        self._memo: dict[tuple[str, int, int, int], tuple[float, float]] = {}
        self.evaluations = 0  # engine calls made (for the benchmark and tests)

    def step(self, tokens: int, seqs: int, decode_seqs: int, decode_kv_mean: float,
             prefills: list[tuple[int, int]]) -> tuple[float, float]:
        """(latency_s, energy_j) of one iteration: ``tokens`` in all from ``seqs`` sequences
        (all emit or extend), ``decode_seqs`` decode tokens at mean context
        ``decode_kv_mean``, and prefill chunks ``(q_tokens, kv_tokens)``."""
        lat, energy = self.body_cost(tokens)
        if self.body_correlated is not None and prefills and self.law is not None:
            union = self.law.step_union(decode_seqs, [q for q, _ in prefills])
            w = self.law.weight_toward_correlated(tokens, union)
            if w > 0.0:
                corr = self._linear("body_corr", tokens)
                lat, energy = lat + (corr[0] - lat) * w, energy + (corr[1] - energy) * w
        if seqs:
            h = self.head_cost(seqs)
            lat, energy = lat + h[0], energy + h[1]
        if decode_seqs:
            a = self.attention_cost(1, decode_kv_mean, decode_seqs)
            lat, energy = lat + a[0], energy + a[1]
        for q, kv in prefills:
            a = self.attention_cost(q, kv, 1)
            lat, energy = lat + a[0], energy + a[1]
        return lat, energy

    def decode_costs(self, batch: int, kv_mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`step` of pure-decode iterations of ``batch`` sequences at each mean context
        in ``kv_mean``, vectorised; the same floating-point operations as :meth:`step`, so the
        same values bit for bit."""
        body = self.body_cost(batch)
        head = self.head_cost(batch)
        base_lat, base_energy = body[0] + head[0], body[1] + head[1]
        lo, hi, w = bracket(batch)
        kv = np.maximum(np.asarray(kv_mean, dtype=np.float64), 1.0)
        nodes = np.asarray(NODES, dtype=np.float64)
        idx = np.searchsorted(nodes, kv, side="left")  # bisect_left, as bracket()
        hi_k = nodes[idx]
        exact = hi_k == kv
        lo_k = np.where(exact, hi_k, nodes[np.maximum(idx - 1, 0)])
        wk = np.where(exact, 0.0, (kv - lo_k) / np.where(exact, 1.0, hi_k - lo_k))
        corners = np.empty((4, 2, kv.shape[0]))
        for lk in np.unique(lo_k).tolist():  # kv runs are short: a few grid cells per call
            sel = lo_k == lk
            for hk in np.unique(hi_k[sel]).tolist():
                cell = sel & (hi_k == hk)
                for c, (a, k) in enumerate(((lo, lk), (lo, hk), (hi, lk), (hi, hk))):
                    corners[c, :, cell] = self._eval("attn", a, 1, int(k))
        out = []
        for j, base in ((0, base_lat), (1, base_energy)):
            low = corners[0, j] * (1 - wk) + corners[1, j] * wk
            high = corners[2, j] * (1 - wk) + corners[3, j] * wk
            out.append(base + (low * (1 - w) + high * w))
        lat, energy = out[0], out[1]
        return lat, energy

    def union(self, decodes: int, chunks: list[int]) -> float | None:
        """The iteration's union density of the reference sparse op (None: dense model)."""
        return None if self.law is None else self.law.step_union(decodes, chunks)

    def body_cost(self, tokens: float) -> tuple[float, float]:
        return self._linear("body", tokens)

    def head_cost(self, seqs: float) -> tuple[float, float]:
        return self._linear("head", seqs)

    def attention_cost(self, q: float, kv: float, batch: float) -> tuple[float, float]:
        """Attention of ``q`` query tokens over ``kv`` keys for ``batch`` sequences; bilinear
        over (q or batch, kv): exactly one of q and batch may be off 1."""
        if q > 1 and batch > 1:
            raise ValueError("attention_cost interpolates over q or batch, not both")
        lo_k, hi_k, wk = bracket(kv)
        if q > 1:
            lo, hi, w = bracket(q)
            corner = {(a, k): self._eval("attn", 1, a, k) for a in (lo, hi) for k in (lo_k, hi_k)}
        else:
            lo, hi, w = bracket(batch)
            corner = {(a, k): self._eval("attn", a, 1, k) for a in (lo, hi) for k in (lo_k, hi_k)}
        out = []
        for j in (0, 1):
            low = corner[(lo, lo_k)][j] * (1 - wk) + corner[(lo, hi_k)][j] * wk
            high = corner[(hi, lo_k)][j] * (1 - wk) + corner[(hi, hi_k)][j] * wk
            out.append(low * (1 - w) + high * w)
        return out[0], out[1]

    def _linear(self, part: str, x: float) -> tuple[float, float]:
        lo, hi, w = bracket(x)
        a = self._eval(part, lo, 1, 1)
        if w == 0.0:
            return a
        b = self._eval(part, hi, 1, 1)
        return a[0] + (b[0] - a[0]) * w, a[1] + (b[1] - a[1]) * w

    def _eval(self, part: str, batch: int, q: int, kv: int) -> tuple[float, float]:
        key = (part, batch, q, kv)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        model = {"body": self.body, "head": self.head, "attn": self.attn,
                 "body_corr": self.body_correlated}[part]
        assert model is not None
        if part == "attn":
            kv = max(kv, q)  # a query attends at least to itself and the tokens before it
            ops = tuple(op.model_copy(update={"seq_q": q, "seq_kv": kv}) for op in model.ops)
            model = dataclasses.replace(model, ops=ops, content_hash=content_hash(
                {"base": model.content_hash, "q": q, "kv": kv}))
        if self.parallel is not None:
            from hwsim.parallel.run import simulate_parallel

            total = simulate_parallel(model, self.chip, self.system, self.parallel, batch,
                                      _one_device, shape=self.shape).total
        else:
            total = simulate(model, self.chip, batch=batch).total
        self.evaluations += 1
        value = (float(total.latency_s), float(total.energy_j))
        self._memo[key] = value
        return value


def _one_device(model: Model, chip: AnyChip, batch: int) -> Any:
    return simulate(model, chip, batch=batch)
