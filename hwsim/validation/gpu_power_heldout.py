"""GPU power on held-out serving measurements: Llama-3.1-8B decoding on one H100 under vLLM
0.11.1 (ML.ENERGY Leaderboard v3, ``mlenergy_h100_decode_heldout.csv``), none of whose rows
fitted anything (the power constants were fitted on the Qwen3 rows of ``*_fit.csv``).

Each row is a steady-state decode step (with its share of prefills) costed by the engine
(:mod:`hwsim.calibration.gpu_power_rows`) and compared three ways: average power (W), energy per
output token (J, the step's energy over the batch: it carries the step-latency error as well as
the power error) and, as a diagnostic without a target, the step time against the run's median
inter-token latency. Issue 17's
targets are for batch 1-64; the leaderboard starts at 8, so the rows are batch 8-64.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hwsim.calibration.fit import fit, median_abs_error
from hwsim.calibration.gpu import power_problem, step_cost
from hwsim.calibration.gpu_power_rows import FIT_FILE, HELDOUT_FILE, REFERENCE_DIR, read_rows
from hwsim.engine.gpu.energy import gpu_energy
from hwsim.validation.error_stats import error_stats

# Issue 17's targets: median |error| on held-out rows.
POWER_TARGETS = {"power": 0.10, "energy_per_token": 0.15}
MAX_BATCH = 64
UNITS = {"power": "W", "energy_per_token": "J/token", "step_time": "s"}


def power_rows(ref_dir: Path = REFERENCE_DIR) -> list[dict[str, Any]]:
    """One result per held-out row and quantity (power, energy per token)."""
    out: list[dict[str, Any]] = []
    for row in read_rows(HELDOUT_FILE, ref_dir, MAX_BATCH):
        time_s, energy_j = step_cost(row.power_row(), gpu_energy(row.chip))
        model = {"power": energy_j / time_s, "energy_per_token": energy_j / row.batch,
                 "step_time": time_s}
        measured = {"power": row.measured_w, "energy_per_token": row.measured_j_per_token,
                    "step_time": row.measured_itl_s}
        for kind in (*POWER_TARGETS, "step_time"):
            out.append({"kind": kind, "chip": row.chip.name, "case": row.label,
                        "measured": measured[kind], "model": model[kind], "unit": UNITS[kind],
                        "error": (model[kind] - measured[kind]) / measured[kind],
                        "file": HELDOUT_FILE, "source": row.source})
    return out


def power_summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Median |error| per kind against its target."""
    out = []
    for kind, target in (*POWER_TARGETS.items(), ("step_time", None)):
        errs = [r["error"] for r in rows if r["kind"] == kind]
        if not errs:
            continue
        out.append({"kind": kind, **error_stats(errs, target=target)})
    return out


def leave_one_model_out(ref_dir: Path = REFERENCE_DIR) -> dict[str, dict[str, Any]]:
    """The fitting rows span one GPU, so leave-one-GPU-out cannot run; the nearest check they
    allow: refit without each model, predict that model's rows in the fitted quantity (energy
    per token with idle and active power over the measured step time)."""
    rows = [r.power_row() for r in read_rows(FIT_FILE, ref_dir)]
    problem = power_problem(rows, source=FIT_FILE)
    out: dict[str, dict[str, Any]] = {}
    for model in sorted({_model_of(r["source"]) for r in problem.rows}):
        held = [r for r in problem.rows if _model_of(r["source"]) == model]
        train = [r for r in problem.rows if _model_of(r["source"]) != model]
        values = fit(problem, train).values
        out[model] = {"values": values, "rows": len(held),
                      "median_abs_error": median_abs_error(problem, values, held)}
    return out


def _model_of(source: Any) -> str:
    # "<file>: <file> <model id> <task> batch <n>" (hwsim.calibration.gpu_power_rows labels)
    return str(source).rsplit(" batch ", 1)[0].split(" ")[-2]


def power_report(ref_dir: Path = REFERENCE_DIR) -> dict[str, Any]:
    """The power section of ``hwsim validate gpu``: held-out rows, their summary, and the
    leave-one-model-out refit of the fitting rows."""
    rows = power_rows(ref_dir)
    return {"rows": rows, "summary": power_summary(rows), "targets": POWER_TARGETS,
            "leave_one_gpu_out": "not possible: every power row is one GPU (H100 SXM)",
            "leave_one_model_out": leave_one_model_out(ref_dir)}
