"""The effective activation density a curve is read at.

A curve's x axis is one number; a model has a sparsity spec per op. hwsim reduces the model to
that number as the **MAC-weighted mean density of the ops the curve's density is defined on**:

    d_eff = sum_i macs_i * d_i / sum_i macs_i      over the curve's density ops i

where ``d_i`` is the op's density under the curve's sparsity kind (topk / relu: ``density``;
nm: ``n/m``; attention_gate: ``keep_ratio * (1 - depth_decay)^layer``) and 1.0 for a dense op.
MACs weight the mean because they are where the work (and, per the papers, the error) is.

It refuses rather than guesses: a sparse op of a kind the curve did not measure, a sparse op
outside the ops the paper sparsified, an N:M pattern other than the paper's, or a trace spec
(whose density is only known after realisation) all give no density, with the reason. Ops whose
role is predictor / router / gate are the machinery that picks the active set and are skipped;
MoE routing is part of the trained model, not a sparsification, and is skipped too.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from hwsim.workload.model import Model
from hwsim.workload.ops import OpBase

SKIPPED_ROLES = ("predictor", "router", "gate")
NOT_SPARSIFICATION = ("dense", "moe")


@dataclass(frozen=True)
class Coverage:
    """The effective density, or why there is none."""

    density: float | None
    reason: str = ""  # why density is None
    kinds: tuple[str, ...] = ()  # sparsity kinds found on the density ops
    notes: tuple[str, ...] = ()
    ops: int = 0  # how many ops the density is over


def op_density(op: OpBase) -> float | None:
    """Density of one op's activations under its spec (None for a trace: unknown before
    realisation)."""
    spec = op.sparsity
    kind = spec.kind
    if kind in NOT_SPARSIFICATION:
        return 1.0
    if kind in ("topk", "relu"):
        return float(spec.density)  # type: ignore[union-attr]
    if kind == "nm":
        return spec.n / spec.m  # type: ignore[union-attr]
    if kind == "attention_gate":
        layer = int(getattr(op, "layer", 0))
        return float(spec.keep_ratio * (1.0 - spec.depth_decay) ** layer)  # type: ignore[union-attr]
    return None


def _matches(name: str, globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, g) for g in globs)


def effective_density(model: Model, *, kinds: Sequence[str], ops: Sequence[str] | None = None,
                      density_ops: Sequence[str] | None = None,
                      nm_pattern: tuple[int, int] | None = None,
                      sparse_only: bool = False) -> Coverage:
    """MAC-weighted density of ``model``'s ``density_ops`` (globs; default ``ops``; default
    every op), accepting sparsity ``kinds`` on ``ops`` only. ``sparse_only`` averages over the
    sparse ops alone (a user curve's x axis: the density of whatever the model sparsifies) and
    gives 1.0 for a model with no sparse op."""
    allowed = list(ops) if ops is not None else None
    dens_globs = list(density_ops) if density_ops else allowed
    total_macs = 0.0
    weighted = 0.0
    found: list[float] = []
    kinds_seen: set[str] = set()
    for op in model.ops:
        if op.role in SKIPPED_ROLES:
            continue
        kind = op.sparsity.kind
        sparse = kind not in NOT_SPARSIFICATION
        if sparse:
            if allowed is not None and not _matches(op.name, allowed):
                return Coverage(None, f"op '{op.name}' has {kind} sparsity, but the curve's "
                                "source sparsified only " + ", ".join(allowed))
            if kind not in kinds:
                return Coverage(None, f"op '{op.name}' has {kind} sparsity; the curve was "
                                "measured for " + ", ".join(kinds))
            if kind == "nm":
                spec = op.sparsity
                if nm_pattern is not None and (spec.n, spec.m) != nm_pattern:  # type: ignore[union-attr]
                    return Coverage(None, f"op '{op.name}' is {spec.n}:{spec.m}; the curve was "  # type: ignore[union-attr]
                                    f"measured for {nm_pattern[0]}:{nm_pattern[1]}")
            kinds_seen.add(kind)
        if dens_globs is not None and not _matches(op.name, dens_globs):
            continue
        if op.macs <= 0 or (sparse_only and not sparse):
            continue
        d = op_density(op)
        if d is None:
            return Coverage(None, f"op '{op.name}' has a {kind} spec whose density is only "
                            "known after realisation")
        total_macs += op.macs
        weighted += op.macs * d
        found.append(d)
    if not found and sparse_only:
        return Coverage(1.0, notes=("the model has no sparse op: read at density 1 (dense)",))
    if not found:
        where = ", ".join(dens_globs) if dens_globs else "any op"
        return Coverage(None, f"the model has no op matching {where} with MACs")
    notes: list[str] = []
    if max(found) - min(found) > 1e-9:
        notes.append(f"densities differ across the {len(found)} ops the curve reads (from "
                     f"{min(found):.3g} to {max(found):.3g}); the value is read at their "
                     "MAC-weighted mean, while the source applied one density to all")
    # Rounded to 12 digits: the float noise of the weighted sum is not a density anyone chose.
    return Coverage(round(weighted / total_macs, 12), kinds=tuple(sorted(kinds_seen)),
                    notes=tuple(notes), ops=len(found))
