"""MoE expert loads per iteration: which experts an iteration's tokens route to.

Each iteration's ``T`` tokens are routed afresh with the model's routing law
(:func:`hwsim.sparsity.realise.moe_routes`: uniform or zipf popularity, ``top_k`` distinct
experts per token), seeded by (run seed, iteration index), and each expert keeps at most
``expert_capacity(T, ...)`` tokens (the spec's capacity factor; the rest drop). Reported per
iteration: experts with any token, the busiest expert's load over the fair share
``T * top_k / experts``, and dropped token-expert assignments.

Limit: the iteration is priced by the engine at the *expected* loads for ``T`` tokens (its
MoE law); the drawn loads are reported, not priced, so a run's latency does not vary with
them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.config.sparsity import MoeSpec
from hwsim.sparsity.realise import expert_capacity, moe_routes
from hwsim.sparsity.reference import expert_loads
from hwsim.workload.model import Model
from hwsim.workload.ops import MoeOp


@dataclass(frozen=True)
class MoeLaw:
    """Routing of the model's first MoE op."""

    op: str
    experts: int
    top_k: int
    routing: str
    zipf_s: float
    capacity_factor: float

    def draw(self, tokens: int, seed: int, step: int) -> tuple[int, float, int]:
        """(active experts, max load / fair share, dropped assignments) of one iteration."""
        routes = moe_routes(tokens, self.experts, self.top_k,
                            seed=np.random.SeedSequence([seed, step]),
                            routing="zipf" if self.routing == "zipf" else "uniform",
                            zipf_s=self.zipf_s)
        cap = expert_capacity(tokens, self.experts, self.top_k, self.capacity_factor)
        loads, _, dropped = expert_loads(routes, self.experts, cap)
        fair = tokens * self.top_k / self.experts
        return int((loads > 0).sum()), float(loads.max() / fair), dropped

    def to_dict(self) -> dict[str, object]:
        return {"op": self.op, "experts": self.experts, "top_k": self.top_k,
                "routing": self.routing, "zipf_s": self.zipf_s,
                "capacity_factor": self.capacity_factor}


def moe_law(model: Model) -> MoeLaw | None:
    """The routing law of ``model``'s first MoE op (None without one)."""
    for op in model.ops:
        if isinstance(op, MoeOp):
            spec = op.sparsity if isinstance(op.sparsity, MoeSpec) else MoeSpec()
            return MoeLaw(op.name, int(op.experts), int(op.top_k), spec.routing,
                          float(spec.zipf_s), float(spec.capacity_factor))
    return None
