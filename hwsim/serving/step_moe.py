"""MoE expert loads per iteration: which experts an iteration's tokens route to, and what that
costs.

Each iteration's ``T`` tokens are routed afresh, seeded by (run seed, iteration index):
``top_k`` distinct experts per token, with the model's routing law
(:func:`hwsim.sparsity.realise.moe_routes`: uniform or zipf popularity) or, given a routing
trace, with the trace's per-expert popularity (:func:`read_routing_trace`; the same race law:
expert ``e`` arrives at ``Exp(1) / w_e``, the first ``top_k`` win). Each expert keeps at most
``expert_capacity(T, ...)`` tokens (the spec's capacity factor); the rest drop.

Pricing. The engine prices an MoE op as ``used`` expert GEMMs, each padded to the busiest
expert's kept tokens (static shapes; :func:`hwsim.mapping.primitives._moe`). An iteration is
priced at its *drawn* ``used`` (experts with a kept token) and padded rows
``min(capacity, max load)``, not the expectation: a skewed draw (one hot expert) pads every
used expert's GEMM to the hot expert's load, so it costs more than a balanced one of the same
tokens. One draw per iteration serves every MoE layer (layers route alike within an
iteration; each layer's expected cost is unchanged, only the spread across layers is
overstated).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwsim.config.sparsity import MoeSpec
from hwsim.errors import input_error
from hwsim.sparsity.realise import expert_capacity, moe_routes
from hwsim.sparsity.reference import expert_loads
from hwsim.workload.model import Model
from hwsim.workload.ops import MoeOp


@dataclass(frozen=True)
class MoeDraw:
    """One iteration's routing: what the report shows and what the cost is priced at."""

    active: int  # experts that keep at least one token
    max_over_fair: float  # busiest expert's load / (T * top_k / experts)
    dropped: int  # token-expert assignments past the capacity
    padded_tokens: int  # rows every used expert's GEMM runs: min(capacity, max load)


@dataclass(frozen=True)
class MoeLaw:
    """Routing of the model's MoE ops (the first one's spec)."""

    op: str
    experts: int
    top_k: int
    routing: str  # uniform | zipf | balanced | trace
    zipf_s: float
    capacity_factor: float
    popularity: tuple[float, ...] | None = None  # routing == "trace": weight per expert
    trace: str | None = None  # the routing trace's path (reported)

    def draw(self, tokens: int, seed: int, step: int) -> MoeDraw:
        """The routing of one iteration of ``tokens`` tokens."""
        ss = np.random.SeedSequence([seed, step])
        if self.popularity is not None:
            scale = 1.0 / np.asarray(self.popularity)
            keys = np.random.default_rng(ss).standard_exponential((tokens, self.experts))
            routes = np.argpartition(keys * scale, self.top_k - 1, axis=1)[:, :self.top_k]
        else:
            law = self.routing if self.routing in ("zipf", "balanced") else "uniform"
            routes = moe_routes(tokens, self.experts, self.top_k, seed=ss,
                                routing=law,  # type: ignore[arg-type]
                                zipf_s=self.zipf_s)
        cap = expert_capacity(tokens, self.experts, self.top_k, self.capacity_factor)
        loads, kept, dropped = expert_loads(routes, self.experts, cap)
        fair = tokens * self.top_k / self.experts
        return MoeDraw(int((kept > 0).sum()), float(loads.max() / fair), dropped,
                       int(max(1, kept.max())))

    def to_dict(self) -> dict[str, object]:
        return {"op": self.op, "experts": self.experts, "top_k": self.top_k,
                "routing": self.routing, "zipf_s": self.zipf_s,
                "capacity_factor": self.capacity_factor, "trace": self.trace}


def moe_law(model: Model, routing_trace: str | Path | None = None,
            flag: str = "moe_routing_trace") -> MoeLaw | None:
    """The routing law of ``model``'s first MoE op (None without one); ``routing_trace``
    replaces its popularity by a trace's (``flag`` names the setting in errors)."""
    for op in model.ops:
        if isinstance(op, MoeOp):
            spec = op.sparsity if isinstance(op.sparsity, MoeSpec) else MoeSpec()
            law = MoeLaw(op.name, int(op.experts), int(op.top_k), spec.routing,
                         float(spec.zipf_s), float(spec.capacity_factor))
            if routing_trace is None:
                return law
            pop = read_routing_trace(routing_trace, law.experts, flag)
            if law.top_k > sum(p > 0 for p in pop):
                raise input_error(flag, f"the trace routes to fewer experts than top_k = "
                                  f"{law.top_k}", given=str(routing_trace))
            return MoeLaw(law.op, law.experts, law.top_k, "trace", law.zipf_s,
                          law.capacity_factor, pop, str(routing_trace))
    if routing_trace is not None:
        raise input_error(flag, f"{model.name} has no MoE op to route", given=str(routing_trace))
    return None


def read_routing_trace(path: str | Path, experts: int, flag: str) -> tuple[float, ...]:
    """Per-expert popularity from a routing trace CSV: rows ``expert,tokens`` (an optional
    header; an expert may repeat, e.g. one row per step and expert: counts add up). Experts are
    0-based ids below ``experts``; popularity is each expert's share of the routed tokens."""
    counts = np.zeros(experts)
    try:
        with open(path, newline="") as fh:
            for i, row in enumerate(csv.reader(fh)):
                if not row or (i == 0 and not row[0].strip().lstrip("-").isdigit()):
                    continue
                if len(row) != 2:
                    raise ValueError(f"line {i + 1}: expected expert,tokens")
                e, n = int(row[0]), float(row[1])
                if not 0 <= e < experts or not n >= 0:
                    raise ValueError(f"line {i + 1}: expert in [0, {experts}) and tokens >= 0")
                counts[e] += n
    except OSError as exc:
        raise input_error(flag, f"cannot read the routing trace: {exc.strerror}",
                          given=str(path)) from None
    except ValueError as exc:
        raise input_error(flag, f"bad routing trace: {exc}", given=str(path)) from None
    if counts.sum() <= 0:
        raise input_error(flag, "the routing trace routes no tokens", given=str(path))
    # An expert the trace never saw keeps a tiny weight so the race stays defined (it wins
    # only when a token needs more distinct experts than the trace's popular ones).
    share = np.maximum(counts / counts.sum(), 1e-12)
    return tuple(float(x) for x in share)
