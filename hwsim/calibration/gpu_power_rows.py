"""Measured GPU serving power rows (ML.ENERGY Leaderboard v3, H100, vLLM 0.11.1) as the power
fit and the held-out report use them: one decode step of a dense bf16 transformer at the
run's batch, on a preset in CUDA-graph mode (vLLM replays decode steps from CUDA graphs).

The context a step attends to is not published per run: it is taken as an assumed mean prompt
of :data:`PROMPT_TOKENS` plus half the *step-weighted* mean output length
(``step_mean_output_tokens``, E[L^2]/E[L] of the run's published output-length histogram): a
step sees each running request in proportion to its length L and, within it, half way through
its answer on average. The plain mean output (about half of it on lm-arena-chat, whose lengths
are skewed) would undercount the KV cache a step reads. The measured power and energy per token
are steady-state averages, and in the steady state finished requests are replaced: each step
also carries batch / mean-output-tokens prefills of one prompt (costed as a separate prefill
pass without the LM head; vLLM chunks them into decode steps, which this does not model).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from hwsim.calibration.gpu import PowerRow
from hwsim.config.chip import GpuChip
from hwsim.hardware.chips import load_chip
from hwsim.presets import reference_dir
from hwsim.workload.load import load_model
from hwsim.workload.model import Model

REFERENCE_DIR = reference_dir("gpu")
FIT_FILE = "mlenergy_h100_decode_fit.csv"
HELDOUT_FILE = "mlenergy_h100_decode_heldout.csv"
# [assumption] mean LMArena prompt in tokens: the leaderboard publishes output lengths only; the
# benchmark's own example request (ml-energy/benchmark docs/analyzing-results.md) has 245.
# The gpqa rows take the same value [assumption] (one multiple-choice question with its four
# answers); their steps are dominated by ~5k tokens of output context, so it barely acts there.
PROMPT_TOKENS = 250
SHAPE_FIELDS = ("layers", "d_model", "heads", "kv_heads", "d_ff", "vocab")
# vLLM replays decode steps from CUDA graphs.
HARNESS = {"cuda_graphs": True}


@dataclass(frozen=True)
class ServingRow:
    """One measured serving run: a model decoding at a batch on a GPU preset."""

    chip: GpuChip
    model: Model
    batch: int
    measured_w: float
    measured_j_per_token: float
    measured_itl_s: float  # the run's median inter-token latency (a step, roughly)
    measured_step_s: float  # mean step: average batch / output tokens per second
    label: str  # file, model and batch: what fitted_on names
    source: str
    prefill: Model
    prefills_per_step: float

    def power_row(self) -> PowerRow:
        """The row as the power fitter takes it."""
        return PowerRow(self.chip, self.model, self.batch, self.measured_w, self.label,
                        self.prefill, self.prefills_per_step, self.measured_j_per_token,
                        self.measured_step_s)


def _row(r: dict[str, str], name: str) -> ServingRow:
    over: dict[str, object] = {f"builder.{k}": int(r[k]) for k in SHAPE_FIELDS}
    over["builder.dtype"] = r["dtype"]
    context = PROMPT_TOKENS + round(float(r["step_mean_output_tokens"]) / 2)
    model = load_model("llama2-7b", seq=context, phase="decode", overrides=over)
    # A prompt's prefill: its logits are not sampled but the last token's, so no LM head.
    prefill = load_model("llama2-7b", seq=PROMPT_TOKENS, phase="prefill",
                         overrides={**over, "builder.lm_head": False})
    # The shipped CSVs name GPU presets only (make_mlenergy.py writes h100-sxm).
    chip = cast(GpuChip, load_chip(r["preset"], HARNESS))  # type: ignore[arg-type]
    # The run's average running batch (the leaderboard keeps runs at >= 0.85 x max_num_seqs).
    batch = round(float(r["avg_batch"]))
    label = f"{name} {r['model']} {r['task']} batch {batch}"
    return ServingRow(chip, model, batch, float(r["avg_power_w"]),
                      float(r["energy_per_token_j"]), float(r["median_itl_ms"]) * 1e-3,
                      float(r["avg_batch"]) / float(r["output_tokens_per_s"]), label,
                      r["source"], prefill, batch / float(r["avg_output_tokens"]))


def read_rows(name: str, ref_dir: Path = REFERENCE_DIR,
              max_batch: int | None = None) -> Iterator[ServingRow]:
    """The rows of one ML.ENERGY CSV (``max_batch`` drops larger batches)."""
    with open(ref_dir / name, newline="") as fh:
        for r in csv.DictReader(fh):
            if max_batch is None or int(r["max_num_seqs"]) <= max_batch:
                yield _row(r, name)
