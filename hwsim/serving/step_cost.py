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
Energy is the engine's total, static power over the part's latency included. MoE expert ops
are priced per iteration at the drawn routing (:mod:`hwsim.serving.step_moe`): ``used``
experts, each GEMM padded to the busiest kept load. The serving engine's host overhead
(:class:`~hwsim.serving.overhead.HostOverhead`: scheduling, input preparation and sampling
between GPU iterations, ``per_step_s + per_seq_s x scheduled sequences``) adds its seconds and
the chip's static power over them.

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

from hwsim.config.sparsity import DenseSpec
from hwsim.engine.backend import backend_for
from hwsim.engine.simulate import simulate
from hwsim.errors import input_error
from hwsim.hardware.chips import AnyChip
from hwsim.serving.overhead import HostOverhead
from hwsim.serving.step_moe import MoeDraw, MoeLaw, moe_law
from hwsim.serving.step_union import decorrelated, union_law
from hwsim.workload.model import Model, content_hash
from hwsim.workload.ops import AttentionOp, MoeOp

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


def _without_moe(model: Model) -> Model:
    return _part(model, "dense", [op for op in model.ops if not isinstance(op, MoeOp)])


def _part(model: Model, part: str, ops: list) -> Model:
    return dataclasses.replace(model, name=f"{model.name}[{part}]", ops=tuple(ops),
                               content_hash=content_hash({"base": model.content_hash,
                                                          "part": part}))


class StepCost:
    """Latency (s) and energy (J) of an iteration of ``model`` (decode-shaped) on ``chip``."""

    def __init__(self, model: Model, chip: AnyChip, parallel: Any = None,
                 system: Any = None, *, overhead: HostOverhead = HostOverhead(),
                 moe: MoeLaw | None = None) -> None:
        """``moe``: the routing law (default: the model's own, :func:`moe_law`)."""
        self.model = model
        self.chip = chip
        self.overhead = overhead
        # The chip idles at static power while the host prepares the next iteration.
        self.static_w = backend_for(chip).static_power_w(chip)
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
            # Every device idles while the host prepares the next iteration.
            self.static_w *= self.parallel.devices
        # Sparse activations: rows of different requests are independent, so the body is
        # priced without token correlation and, when the spec has some, interpolated toward
        # the spec as written by where the iteration's union sits (hwsim.serving.step_union).
        self.law = union_law(self.body)
        self.moe = moe if moe is not None else moe_law(self.body)  # per-iteration routing
        self.body_correlated: Model | None = None
        if self.law is not None and self.law.correlation > 0.0:
            self.body_correlated = self.body
            self.body = decorrelated(self.body)
        # MoE expert ops leave the body: they are priced at each iteration's drawn loads.
        self.experts: Model | None = None
        if self.moe is not None:
            self.experts = _part(model, "experts", [
                op.model_copy(update={"tokens": 1, "sparsity": DenseSpec()})
                for op in self.body.ops if isinstance(op, MoeOp)])
            self.body = _without_moe(self.body)
            if self.body_correlated is not None:
                self.body_correlated = _without_moe(self.body_correlated)
        self._memo: dict[tuple[str, int, int, int, int], tuple[float, float]] = {}
        self.evaluations = 0  # engine calls made (for the benchmark and tests)

    def step(self, tokens: int, seqs: int, decode_seqs: int, decode_kv_mean: float,
             prefills: list[tuple[int, int]], moe: MoeDraw | None = None,
             scheduled: int | None = None) -> tuple[float, float]:
        """(latency_s, energy_j) of one iteration: ``tokens`` in all, ``seqs`` sequences that
        emit a token, ``decode_seqs`` decode tokens at mean context ``decode_kv_mean``, and
        prefill chunks ``(q_tokens, kv_tokens)``; ``moe``: the iteration's drawn routing
        (required for an MoE model); ``scheduled``: sequences in the iteration (default
        ``seqs``), which the host overhead counts."""
        lat, energy = self.body_cost(tokens)
        host = self.overhead.seconds(seqs if scheduled is None else scheduled)
        lat, energy = lat + host, energy + host * self.static_w
        if self.experts is not None:
            if moe is None:
                raise ValueError("an MoE model's iteration is priced at its drawn routing")
            e = self.expert_cost(moe)
            lat, energy = lat + e[0], energy + e[1]
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

    def decode_costs(self, batch: int, kv_mean: np.ndarray,
                     moe: list[MoeDraw] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`step` of pure-decode iterations of ``batch`` sequences at each mean context
        in ``kv_mean`` (and, for an MoE model, each drawn routing in ``moe``), vectorised; the
        same floating-point operations as :meth:`step`, so the same values bit for bit."""
        body = self.body_cost(batch)
        host = self.overhead.seconds(batch)
        lat0, energy0 = body[0] + host, body[1] + host * self.static_w
        head = self.head_cost(batch)
        base_lat: float | np.ndarray = lat0
        base_energy: float | np.ndarray = energy0
        if self.experts is not None:
            if moe is None or len(moe) != len(kv_mean):
                raise ValueError("an MoE model's iterations are priced at their drawn routing")
            ex = np.array([self.expert_cost(d) for d in moe]).reshape(-1, 2)
            base_lat, base_energy = lat0 + ex[:, 0], energy0 + ex[:, 1]
        base_lat, base_energy = base_lat + head[0], base_energy + head[1]
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

    def expert_cost(self, draw: MoeDraw) -> tuple[float, float]:
        """Every MoE op at a drawn routing: ``draw.active`` expert GEMMs of
        ``draw.padded_tokens`` rows each; bilinear over (rows, experts) between grid nodes."""
        lo_e, hi_e, we = bracket(draw.active)
        lo, hi, w = bracket(draw.padded_tokens)
        c = {(a, e): self._eval("experts", a, 1, 1, e) for a in (lo, hi) for e in (lo_e, hi_e)}
        out = []
        for j in (0, 1):
            low = c[(lo, lo_e)][j] * (1 - we) + c[(lo, hi_e)][j] * we
            high = c[(hi, lo_e)][j] * (1 - we) + c[(hi, hi_e)][j] * we
            out.append(low * (1 - w) + high * w)
        return out[0], out[1]

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

    def _eval(self, part: str, batch: int, q: int, kv: int,
              experts: int = 0) -> tuple[float, float]:
        key = (part, batch, q, kv, experts)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        model = {"body": self.body, "head": self.head, "attn": self.attn,
                 "body_corr": self.body_correlated, "experts": self.experts}[part]
        assert model is not None
        if part == "experts":
            # Every token to all of ``experts`` experts: the engine's balanced, dropless law
            # then runs exactly ``experts`` GEMMs of ``batch`` rows (the drawn shape).
            ops = tuple(op.model_copy(update={"experts": experts, "top_k": experts})
                        for op in model.ops)
            model = dataclasses.replace(model, ops=ops, content_hash=content_hash(
                {"base": model.content_hash, "experts": experts}))
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
