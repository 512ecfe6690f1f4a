"""Run claim studies: checks -> verdicts, sensitivity, sweep -> one JSON-ready document.

``{"claims": [{"id", "claim", "verdict", "conditions", "figures", "sensitivity", ...}]}``:
``figures`` has one row per stated figure (claimed vs hwsim's numbers at every point),
``conditions`` the subsets where a ``holds_only_if`` verdict holds, ``sensitivity`` what flips it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hwsim import __version__
from hwsim.claims.scenarios import run_check
from hwsim.claims.sensitivity import run_sensitivity
from hwsim.claims.sim import Sim
from hwsim.claims.sweep import run_sweep
from hwsim.claims.verdict import Point, check_verdict, claim_verdict
from hwsim.config.claims import METRICS, Check, ClaimDoc
from hwsim.errors import HwsimError, input_error


def run_claims(docs: Sequence[ClaimDoc], *, fidelity: str = "analytic",
               sim: Sim | None = None) -> dict[str, Any]:
    sim = sim or Sim(fidelity)
    claims = [run_claim(doc, sim) for doc in docs]
    return {"hwsim_version": __version__, "fidelity": sim.fidelity,
            "simulate_calls": sim.calls, "claims": claims}


def run_claim(doc: ClaimDoc, sim: Sim) -> dict[str, Any]:
    figures, verdicts, conditions = [], [], []
    by_id: dict[str, tuple[Check, str]] = {}
    for check in doc.checks:
        points = _run(doc, check, sim)
        verdict, conds = check_verdict(points)
        by_id[check.id] = (check, verdict)
        verdicts.append(verdict)
        conditions += [f"{check.id}: {c}" for c in conds] if verdict == "holds_only_if" else []
        figures.append(_figure(check, verdict, conds, points))
    sensitivity = []
    for s in doc.sensitivity:
        check, verdict = by_id[s.check or doc.checks[0].id]
        sensitivity.append(run_sensitivity(check, verdict, s, sim))
    verdict = claim_verdict(verdicts)
    return {
        "id": doc.id, "title": doc.title, "claim": doc.claim, "source": doc.source,
        "claimed_figures": list(doc.figures), "verdict": verdict,
        "conditions": conditions if verdict == "holds_only_if" else [],
        "implied_conditions": list(doc.implied_conditions),
        "figures": figures, "sensitivity": sensitivity,
        "simulated": _simulated(doc, sim.fidelity),
        "sweep": run_sweep(doc.sweep, sim) if doc.sweep is not None else None,
    }


def _run(doc: ClaimDoc, check: Check, sim: Sim) -> list[Point]:
    try:
        return run_check(check, sim)
    except HwsimError as exc:  # name the claim and check, keep the original problem
        raise input_error(f"claim {doc.id}, check {check.id}", exc.summary,
                          hint=exc.render().replace("\n", " | ")) from None


def _figure(check: Check, verdict: str, conds: list[str], points: list[Point]) -> dict[str, Any]:
    unit, meaning = METRICS[check.metric]
    values = [p.value for p in points if p.value is not None]
    row: dict[str, Any] = {
        "check": check.id, "figure": check.figure, "metric": check.metric, "unit": unit,
        "meaning": meaning, "claimed": check.claimed, "rule": check.rule,
        "reading": check.reading, "verdict": verdict, "conditions": conds,
        "simulated_min": min(values) if values else None,
        "simulated_max": max(values) if values else None,
        "points": [p.attrs | {"value": p.value, "met": p.met} | p.detail for p in points],
    }
    if check.metric == "accuracy_retained":
        row["claimed_status"] = "claimed, not verified" if verdict == "unverified" else (
            "checked against the accuracy providers")
    return row


def _simulated(doc: ClaimDoc, fidelity: str) -> dict[str, Any]:
    models, chips, batch, seq, dens = set(), set(), set(), set(), set()
    for c in doc.checks:
        models.add(c.candidate.label or c.candidate.model)
        if c.baseline != "dense_twin":
            models.add(c.baseline.label or c.baseline.model)
        chips.update(c.chips)
        batch.update(c.batch)
        seq.update(c.seq or [])
        dens.update(c.density.values if c.density else [])
    return {"models": sorted(models), "chips": sorted(chips), "batch": sorted(batch),
            "seq": sorted(seq), "densities": sorted(dens), "fidelity": fidelity,
            "modes": sorted({c.candidate.mode for c in doc.checks})}
