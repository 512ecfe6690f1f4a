"""The published serving measurements of ``hwsim validate serving``, as hwsim runs them.

Two sources (``hwsim/data/reference/serving/SOURCES.md``):

* ML.ENERGY Leaderboard v3 (vLLM 0.11.1, H100 SXM, bf16, lm-arena-chat; Llama-3.1-70B on
  four with tensor parallelism, run on the ``dgx-h100`` system): steady-state
  median inter-token latency (our TPOT) and output throughput at ``max_num_seqs`` 8-256.
  Every request is submitted at once and vLLM runs ``max_num_seqs`` of them; hwsim serves
  :data:`MLENERGY_REQUESTS_PER_SEAT` x ``max_num_seqs`` requests arriving at t = 0, output
  lengths drawn from the model's published output-length histogram, prompts of the fitted
  lm-arena-chat mean prompt length (the leaderboard publishes output lengths only;
  ``configs/calibration/serving.yaml``), on ``h100-sxm`` in CUDA-graph mode (vLLM replays
  decode steps from CUDA graphs).
* TensorRT-LLM v0.6.1 / v0.5 performance tables, LLaMA-2 7B and GPT-J 6B fp16 on A100:
  static-batch offline throughput (``batch`` requests of fixed input/output length, prefilled
  together, decoded together) and batch-1 first-token latency.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from hwsim.presets import reference_dir

REFERENCE_DIR = reference_dir("serving")
MLENERGY_FILE = "mlenergy_h100_vllm.csv"
LENGTHS_FILE = "mlenergy_output_lengths.csv"
TRTLLM_FILE = "trtllm_a100_fp16.csv"
# Requests per seat: enough that most of the run has the batch full (the measured figures are
# the steady state's), few enough that a row runs in about a second.
MLENERGY_REQUESTS_PER_SEAT = 6
SHAPE_FIELDS = ("layers", "d_model", "heads", "kv_heads", "d_ff", "vocab")


@dataclass(frozen=True)
class Measured:
    """One published figure: what, where, and how hwsim sets it up."""

    role: str  # fitted | heldout
    kind: str  # tpot | ttft | throughput
    source_file: str
    engine: str
    chip: str
    model: str
    setup: str  # a short human label (batch, lengths)
    measured: float  # seconds (tpot, ttft) or output tokens/s (throughput)
    unit: str
    source: str
    config: dict[str, object]  # what hwsim needs to run the row


def read_rows() -> Iterator[Measured]:
    """Every shipped row, ML.ENERGY's first."""
    yield from _mlenergy_rows()
    yield from _trtllm_rows()


def _mlenergy_rows() -> Iterator[Measured]:
    with open(REFERENCE_DIR / MLENERGY_FILE, newline="") as fh:
        for r in csv.DictReader(fh):
            seats = int(r["max_num_seqs"])
            cfg: dict[str, object] = {
                "runner": "mlenergy", "seats": seats, "dtype": r["dtype"], "tp": int(r["tp"]),
                "model_id": r["model"], **{k: int(r[k]) for k in SHAPE_FIELDS}}
            short = r["model"].split("/")[-1]
            setup = f"max_num_seqs {seats}, output ~{float(r['avg_output_tokens']):.0f}" + (
                f", TP {r['tp']}" if int(r["tp"]) > 1 else "")
            for kind, value, unit in (("tpot", float(r["median_itl_ms"]) * 1e-3, "s"),
                                      ("throughput", float(r["output_tokens_per_s"]),
                                       "output tokens/s")):
                yield Measured(r["role"], kind, MLENERGY_FILE, r["engine"], r["preset"], short,
                               setup, value, unit, r["source"], cfg)


def _trtllm_rows() -> Iterator[Measured]:
    with open(REFERENCE_DIR / TRTLLM_FILE, newline="") as fh:
        for r in csv.DictReader(fh):
            kind = r["kind"]
            batch, isl, osl = int(r["batch"]), int(r["input_tokens"]), int(r["output_tokens"])
            value = float(r["measured"]) * (1e-3 if r["unit"] == "ms" else 1.0)
            unit = "s" if r["unit"] == "ms" else r["unit"]
            cfg: dict[str, object] = {"runner": "static", "batch": batch, "input": isl,
                                      "output": osl, "dtype": "fp16",
                                      "gated_ffn": r["gated_ffn"] == "true",
                                      **{k: int(r[k]) for k in SHAPE_FIELDS}}
            yield Measured(r["role"], kind, TRTLLM_FILE, r["engine"], r["preset"], r["model"],
                           f"batch {batch}, in {isl}, out {osl}", value, unit, r["source"], cfg)


@lru_cache(maxsize=8)
def output_histogram(model_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bin_lo, bin_hi, count) of a model's published output lengths (tokens)."""
    lo, hi, n = [], [], []
    with open(REFERENCE_DIR / LENGTHS_FILE, newline="") as fh:
        for r in csv.DictReader(fh):
            if r["model"] == model_id:
                lo.append(float(r["bin_lo"]))
                hi.append(float(r["bin_hi"]))
                n.append(float(r["count"]))
    if not n:
        raise ValueError(f"{LENGTHS_FILE}: no output lengths for {model_id}")
    return np.asarray(lo), np.asarray(hi), np.asarray(n)


def draw_outputs(model_id: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` output lengths from the histogram: a bin by its count, uniform within it."""
    lo, hi, count = output_histogram(model_id)
    b = rng.choice(lo.shape[0], size=n, p=count / count.sum())
    return np.maximum(1, np.rint(lo[b] + rng.random(n) * (hi[b] - lo[b]))).astype(np.int64)
