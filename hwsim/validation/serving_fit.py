"""Fit vLLM's host overhead and the lm-arena-chat prompt length on the ``fitted`` serving rows
only, and write ``configs/calibration/serving.yaml`` (not run at test time)::

    python -m hwsim.validation.serving_fit [--write]

Fitting rows: ``hwsim/data/reference/serving/mlenergy_h100_vllm.csv`` rows with role
``fitted`` (Qwen3-8B and Qwen3-14B, vLLM 0.11.1 on one H100, max_num_seqs 8-256), both their
median inter-token latency and their output throughput. The Llama-3.1-8B rows (held out) and the
TensorRT-LLM rows never enter.

Unknowns: the host overhead ``per_step_s + per_seq_s x sequences`` (Vidur's linear CPU-overhead
law) and the task's mean prompt, which the leaderboard does not publish. For each prompt on
:data:`PROMPT_GRID` the overhead pair is fitted by ``scipy.optimize.least_squares`` on
log(hwsim / measured); the prompt whose fit leaves the smallest sum of squares is kept. A prompt
at which some fitting run cannot hold its measured batch in hwsim's KV cache (the measured runs
held it) is infeasible. A run is
simulated once per prompt: host time does not change what is scheduled when
(:class:`hwsim.validation.serving.SteadyState`).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import yaml

from hwsim.presets import calibration_path
from hwsim.serving.overhead import HostOverhead
from hwsim.validation.serving import SteadyState, predict
from hwsim.validation.serving_rows import MLENERGY_FILE, read_rows

PROMPT_GRID = (250, 375, 500, 625, 750, 875, 1000)  # tokens


def fitting_rows() -> list[Any]:
    return [r for r in read_rows() if r.role == "fitted"]


def fit_overhead(prompt_tokens: int, cache: dict[tuple[str, int], SteadyState]
                 ) -> tuple[HostOverhead, float]:
    """The overhead pair that best fits the fitting rows at one prompt, and its cost."""
    from scipy.optimize import least_squares

    rows = fitting_rows()

    def residuals(x: np.ndarray) -> list[float]:
        got = predict(rows, HostOverhead(float(x[0]), float(x[1])), prompt_tokens, cache)
        return [float(np.log(p["hwsim"] / p["measured"])) for p in got]

    sol = least_squares(residuals, [1e-3, 1e-5], bounds=([0.0, 0.0], [0.05, 1e-3]),
                        x_scale=[1e-3, 1e-5])
    return HostOverhead(float(sol.x[0]), float(sol.x[1])), float(2.0 * sol.cost)


def fit() -> dict[str, Any]:
    """Every grid prompt's fit, and the best."""
    trials = []
    for prompt in PROMPT_GRID:
        try:
            overhead, cost = fit_overhead(prompt, {})
        except ValueError as exc:  # a batch that never fills: this prompt contradicts the data
            print(f"prompt {prompt}: infeasible ({exc})", file=sys.stderr)
            trials.append({"prompt_tokens": prompt, "overhead": None, "sum_sq_log": None})
            continue
        trials.append({"prompt_tokens": prompt, "overhead": overhead, "sum_sq_log": cost})
        print(f"prompt {prompt}: per_step {overhead.per_step_s:.3e} s, per_seq "
              f"{overhead.per_seq_s:.3e} s, sum sq log {cost:.4f}", file=sys.stderr)
    best = min((t for t in trials if t["sum_sq_log"] is not None),
               key=lambda t: t["sum_sq_log"])
    return {"best": best, "trials": trials}


def write_calibration(result: dict[str, Any]) -> None:
    best = result["best"]
    o: HostOverhead = best["overhead"]
    rows = fitting_rows()
    names = sorted({f"{r.model} max_num_seqs {r.config['seats']}" for r in rows})
    fitted_on = (f"hwsim/data/reference/serving/{MLENERGY_FILE}, role fitted: {len(rows)} "
                 f"figures (median ITL and output throughput) of {len(names)} runs: "
                 + "; ".join(names) + " (ML.ENERGY Leaderboard v3, vLLM 0.11.1, one H100 SXM)")
    how = ("hwsim.validation.serving_fit: scipy least_squares on log(hwsim / measured) per "
           "prompt on the grid " + ", ".join(map(str, PROMPT_GRID)) + "; the prompt with the "
           "smallest sum of squares kept (" + ", ".join(
               f"{t['prompt_tokens']}: " + ("infeasible (a fitting run's batch never fills)"
                                            if t["sum_sq_log"] is None
                                            else f"{t['sum_sq_log']:.4f}")
               for t in result["trials"]) + ")")
    doc = {
        "schema_version": 1,
        "description": "host overhead of serving engines per iteration (hwsim.serving.overhead)"
                       " and the mean prompt of ML.ENERGY's lm-arena-chat task, which the "
                       "leaderboard does not publish",
        "host_overhead": {"vllm": {
            "per_step_s": {"value": round(o.per_step_s, 9), "unit": "s per iteration",
                           "status": "fitted", "source": how},
            "per_seq_s": {"value": round(o.per_seq_s, 10),
                          "unit": "s per scheduled sequence per iteration", "status": "fitted",
                          "source": how},
            "fitted_on": fitted_on}},
        "lm_arena_chat_prompt_tokens": {
            "value": int(best["prompt_tokens"]), "unit": "tokens (mean prompt)",
            "status": "fitted", "source": how, "fitted_on": fitted_on},
    }
    header = ("# Host overhead of serving engines and the lm-arena-chat prompt length.\n"
              "# Written by hwsim.validation.serving_fit.write_calibration; read by "
              "hwsim/serving/overhead.py.\n")
    calibration_path("serving").write_text(header + yaml.safe_dump(doc, sort_keys=False,
                                                                   width=100))


if __name__ == "__main__":
    res = fit()
    if "--write" in sys.argv:
        write_calibration(res)
