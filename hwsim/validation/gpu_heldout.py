"""The GPU model on held-out public measurements (NeuSight, NVIDIA AIConfigurator, llama.cpp
decode): none of these rows was used to fit any constant (``hwsim/data/reference/gpu/SOURCES.md``).

Each CSV row is simulated through the public API (``hwsim.simulate`` on a GPU preset) and compared
with its measured latency; the summary is the median |error| per GPU and kind against issue 17's
targets. Harnesses differ, so each kind is simulated as it was measured:

- NeuSight's rows are what its collector measured, CUDA events around one eager PyTorch call
  (``neusight/Dataset/collect.py``, ``measure_once``; the profiler run only names the kernels):
  its GEMM rows with the preset's launch overhead, its layernorm/softmax rows with the eager
  dispatch fitted on its T4 training rows (:mod:`hwsim.calibration.gddr_stream`) and PyTorch
  2.1's three-read softmax kernel (``softmax_smem`` false);
- AIConfigurator's rows time the framework op (``torch.nn.functional.linear``, vLLM's attention
  forward) replayed in a CUDA graph: hwsim's CUDA-graph mode (``cuda_graphs``, no host launch),
  each kernel at the collector's per-kernel time (:mod:`hwsim.validation.aiconfigurator`: fitted
  for vLLM 0.24, the preset's gpt-fast-fitted ``graph_kernel_overhead_s`` otherwise);
- llama.cpp batch-1 decode rows (``llamacpp_decode_*.csv``, tokens/s -> seconds per token) run
  with the preset's launch overhead, in a CUDA graph where the row says so, as
  ``hwsim.report.validate_gpu.other_gpu_rows`` runs them;
- NeuSight's forward passes are eager PyTorch wall-clock runs of whole HuggingFace models: built
  as the kernels eager fp32 HuggingFace launches (:mod:`hwsim.workload.eager_hf`: scores
  materialised, operand copies, GPT-2's eight-kernel GELU, ATen's eager LayerNorm), with the
  preset's own launch overhead, as in ``hwsim.report.validate_gpu``.

Rows for a GPU without a preset in this install are skipped (counted, not an error).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hwsim.calibration.gddr_stream import NEUSIGHT_STACK, eager_overhead_s
from hwsim.calibration.gpu_gemm import neusight_gemm
from hwsim.engine.simulate import simulate
from hwsim.presets import list_presets, reference_dir, reference_rows
from hwsim.report.validate_gpu import OTHER_GPU_BUILDS, decode_model
from hwsim.validation.aiconfigurator import (
    GRAPH_REPLAY,
    aic_gemm_s,
    attention_timed,
    timed_as,
    timed_s,
)
from hwsim.validation.error_stats import error_stats
from hwsim.validation.gpu_quant import FILES as QUANT_FILES
from hwsim.validation.gpu_quant import quant_gemm_s
from hwsim.validation.vllm_attention import vllm_attention_s
from hwsim.validation.vllm_moe import vllm_moe_model
from hwsim.workload.builders import LAYERNORM_OPS, SOFTMAX_OPS
from hwsim.workload.eager_hf import NEUSIGHT_FAMILY, eager_hf_model
from hwsim.workload.model import Model
from hwsim.workload.ops import VectorOp

REFERENCE_DIR = reference_dir("gpu")
# Every held-out CSV of this module, with the kind-builder that reads it. Files with suffix
# ``_new_presets`` hold GPUs whose presets came with issue 17 (l4, t4-pcie, h200-sxm); the B200
# attention and MoE power rows (preset b200-sxm) are timed here and their power is compared in
# hwsim.validation.gpu_kernel_power.
HELDOUT_FILES = ("neusight_gemm.csv", "neusight_gemm_new_presets.csv",
                 "neusight_norm_new_presets.csv", "neusight_forward.csv",
                 "neusight_forward_new_presets.csv", "aiconfigurator_gemm.csv",
                 "aiconfigurator_gemm_new_presets.csv", "aiconfigurator_attention.csv",
                 "aiconfigurator_attention_new_presets.csv",
                 "aiconfigurator_b200_attention_power.csv", "aiconfigurator_moe.csv",
                 "aiconfigurator_moe_new_presets.csv", "aiconfigurator_b200_moe_power.csv",
                 "llamacpp_decode_other_gpus.csv",
                 "llamacpp_decode_heldout.csv", *QUANT_FILES)
# Issue 17's targets: median |error| per kind on held-out rows (GEMM on every GPU with data).
TARGETS = {"gemm": 0.10, "attention": 0.12, "norm": 0.12, "decode": 0.08, "prefill": 0.10,
           "fp8 gemm": 0.10, "w4a16 gemm": 0.10}
# Kinds held out without an issue-17 target (reported, never marked met or missed).
NO_TARGET = ("moe",)
# NeuSight (Lee et al., ASPLOS 2025) as issue 17 quotes it: 9.7 % mean latency error over 7 GPUs
# (6.1 % on H100); its own predictions, not hwsim's. Its per-row inference errors (summary/
# nvidia_inf.csv) ride along in the forward-pass CSVs for a same-rows comparison.
ANCHOR = {"name": "NeuSight (ASPLOS 2025)", "mean_error": 0.097, "gpus": 7,
          "h100_mean_error": 0.061}
# The calibration set's decode harness (validate_gpu.decode_rows), by its source repository.
GPT_FAST = "pytorch-labs/gpt-fast"
# Harnesses: profiler kernel durations (no launch cost) and CUDA-graph replays of one op.
KERNEL_TIMED = {"launch_overhead_s": 0.0}


def _one(op: Any) -> Model:
    return Model(name=op.name, ops=(op,), origin="validation")


def _latency_s(model: Model, preset: str, batch: int = 1,
               overrides: dict[str, Any] | None = None) -> float:
    return simulate(model, preset, batch=batch, chip_overrides=overrides).total.latency_s


def _gemm_s(r: dict[str, str], harness: dict[str, Any] | None) -> float:
    if r.get("op") in ("linear", "bmm"):  # NeuSight: N is the reduction, K the output columns
        model, batch = neusight_gemm(r)
        return _latency_s(model, r["preset"], batch, harness)
    # AIConfigurator: an (m, k) by (k, n) product, timed by its collector's version.
    return aic_gemm_s(r, harness)


def norm_op(r: Mapping[str, Any]) -> VectorOp:
    """A NeuSight layernorm/softmax row as one op (rows x row_elements, over the last dim)."""
    rows, width = int(r["rows"]), int(r["row_elements"])
    softmax = r["op"] == "softmax"
    return VectorOp(name=r["op"], function="softmax" if softmax else "norm",
                    elements=rows * width, ops_per_element=SOFTMAX_OPS if softmax
                    else LAYERNORM_OPS, dtype=r["dtype"], row_elements=width)


def _norm_s(r: dict[str, str], harness: dict[str, Any] | None) -> float:
    if harness is None:  # NeuSight's eager-call timing: this op's fitted host dispatch
        harness = NEUSIGHT_STACK | {"launch_overhead_s": eager_overhead_s(norm_op(r).name)}
    return _latency_s(_one(norm_op(r)), r["preset"], 1, harness)


def _attention_s(r: dict[str, str], harness: dict[str, Any] | None) -> float:
    # vLLM's attention forward: the KV-cache write, then FlashAttention (vllm_attention), on
    # the collector's board when it was CUDA-graph timed (an AIConfigurator row), one op per
    # replay of its burst.
    return timed_s(lambda h: vllm_attention_s(r, h or None),
                   attention_timed(harness, r["preset"], r["framework"]), 1)


def _forward_s(r: dict[str, str], harness: dict[str, Any] | None) -> float:
    if r["dtype"] != "fp32":
        raise ValueError(f"{r['source']}: eager HuggingFace forward passes are fp32 here, "
                         f"got {r['dtype']!r}")
    model = eager_hf_model(NEUSIGHT_FAMILY[r["model"]], layers=int(r["layers"]),
                           d_model=int(r["d_model"]), heads=int(r["heads"]),
                           d_ff=int(r["d_ff"]), vocab=int(r["vocab"]), seq=int(r["seq"]))
    return _latency_s(model, r["preset"], int(r["batch"]), NEUSIGHT_STACK | (harness or {}))


def _moe_s(r: dict[str, str], harness: dict[str, Any] | None) -> float:
    # One fused-MoE call per replay of its burst (collect_moe.py, balanced routes).
    return timed_s(lambda h: _latency_s(vllm_moe_model(r), r["preset"], 1, h or None),
                   timed_as(harness, r["framework"], r["preset"]), 1)


def _decode_s(r: dict[str, str], harness: dict[str, Any] | None) -> float:
    """Seconds per token of batch-1 decode at the row's mean KV length (llama.cpp rows)."""
    name, extra = OTHER_GPU_BUILDS[r["op_or_model"]]
    model = decode_model(name, r["dtype"], extra, kv_tokens=int(r["kv_tokens_mean"]))
    return _latency_s(model, r["preset"], int(r["batch"]),
                      {"cuda_graphs": r["cuda_graphs"] == "true"})


# kind -> (measured column, its scale to seconds (negative: a rate, seconds = 1 / value),
# simulator)
_KINDS: dict[str, tuple[str, float, Callable[[dict[str, str], Any], float]]] = {
    "gemm": ("latency_us", 1e-6, _gemm_s), "norm": ("latency_us", 1e-6, _norm_s),
    "attention": ("latency_us", 1e-6, _attention_s), "prefill": ("latency_ms", 1e-3, _forward_s),
    "decode": ("value", -1.0, _decode_s), "fp8 gemm": ("latency_us", 1e-6, quant_gemm_s),
    "w4a16 gemm": ("latency_us", 1e-6, quant_gemm_s), "moe": ("latency_us", 1e-6, _moe_s)}


def harness(name: str) -> dict[str, Any] | None:
    """The chip overrides that model how a file's rows were timed (module docstring)."""
    if name.startswith("aiconfigurator_"):
        return GRAPH_REPLAY
    # NeuSight's GEMM rows time one eager PyTorch call between two CUDA events
    # (neusight/Dataset/collect.py, measure_once): the launch is inside the time.
    if "_forward" in name or "_decode" in name or "neusight_" in name:
        return None
    return KERNEL_TIMED


def file_kind(name: str) -> str:
    """The kind a held-out CSV holds (its validator and its target)."""
    if name in QUANT_FILES:
        return QUANT_FILES[name]
    for stem, kind in (("_gemm", "gemm"), ("_norm", "norm"), ("_attention", "attention"),
                       ("_forward", "prefill"), ("_decode", "decode"), ("_moe", "moe")):
        if stem in name:
            return kind
    raise ValueError(f"{name}: not a held-out GPU file (expected one of {HELDOUT_FILES})")


def case_label(kind: str, r: Mapping[str, str]) -> str:
    """The row's shape as the reports print it."""
    if kind.endswith("gemm"):
        b = f"{r['batch']}x" if r.get("batch", "1") not in ("", "1") else ""
        return f"{r.get('op', 'gemm')} {b}{r['m']}x{r['n']}x{r['k']} {r['dtype']}"
    if kind == "norm":
        return f"{r['op']} {r['rows']}x{r['row_elements']} {r['dtype']}"
    if kind == "attention":
        return (f"{r['phase']} b{r['batch']} q{r['seq_q']} kv{r['seq_kv']} "
                f"h{r['heads']}/{r['kv_heads']}x{r['head_dim']}")
    if kind == "decode":
        return (f"{r['op_or_model']} {r['dtype']} kv {r['kv_tokens_mean']} "
                f"{r['framework'].split()[0]}")
    if kind == "moe":
        return (f"{r['tokens']} tokens {r['d_model']}x{r['d_ff']} top{r['top_k']} of "
                f"{r['experts']} {r['dtype']}")
    return f"{r['model']} seq {r['seq']} batch {r['batch']} {r['dtype']}"


def heldout_rows(ref_dir: Path = REFERENCE_DIR) -> tuple[list[dict[str, Any]], int]:
    """Every held-out row on a GPU with a preset, and how many rows were skipped (no preset)."""
    presets = {p.name for p in list_presets("chips") if p.group == "gpus"}
    out: list[dict[str, Any]] = []
    skipped = 0
    for name in HELDOUT_FILES:
        kind = file_kind(name)
        column, scale, run = _KINDS[kind]
        timing = harness(name)
        for r in reference_rows(ref_dir, name):
            if r["preset"] not in presets:
                skipped += 1
                continue
            value = float(r[column])
            measured_s = value * scale if scale > 0 else 1.0 / value
            model_s = run(r, timing)
            own = r.get("neusight_abs_error_pct") or ""
            out.append({"kind": kind, "chip": r["preset"], "gpu": r["gpu"],
                        "case": case_label(kind, r), "measured_s": measured_s, "model_s": model_s,
                        "error": (model_s - measured_s) / measured_s, "file": name,
                        "source": r["source"],
                        "neusight_abs_error": float(own) / 100 if own else None})
    return out, skipped


def _median_abs(rows: list[dict[str, Any]]) -> float:
    return statistics.median(abs(r["error"]) for r in rows)


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Median and mean |error| per (chip, kind) and per kind over all chips, with the target."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["chip"], r["kind"]), []).append(r)
        groups.setdefault(("all", r["kind"]), []).append(r)
    out = []
    def order(key: tuple[str, str]) -> tuple[str, bool, str]:
        return key[1], key[0] == "all", key[0]

    for (chip, kind), members in sorted(groups.items(), key=lambda kv: order(kv[0])):
        out.append({"chip": chip, "kind": kind,
                    **error_stats([r["error"] for r in members], target=TARGETS.get(kind),
                                  mean=True)})
    return out


def anchor_same_rows(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """hwsim against NeuSight's own published errors on the rows both cover (its inference
    forward passes): mean and median |error| of each."""
    both = [r for r in rows if r["neusight_abs_error"] is not None]
    if not both:
        return None
    ours = [abs(r["error"]) for r in both]
    theirs = [r["neusight_abs_error"] for r in both]
    return {"rows": len(both), "chips": sorted({r["chip"] for r in both}),
            "hwsim_mean_abs_error": statistics.fmean(ours),
            "hwsim_median_abs_error": statistics.median(ours),
            "neusight_mean_abs_error": statistics.fmean(theirs),
            "neusight_median_abs_error": statistics.median(theirs)}


def heldout_report(ref_dir: Path = REFERENCE_DIR) -> dict[str, Any]:
    """The held-out section of ``hwsim validate gpu``: rows, per-GPU/kind summary, the anchor."""
    rows, skipped = heldout_rows(ref_dir)
    kinds = sorted({r["kind"] for r in rows})
    return {"rows": rows, "summary": summary(rows), "skipped_no_preset": skipped,
            "targets": TARGETS, "anchor": ANCHOR, "anchor_same_rows": anchor_same_rows(rows),
            "mean_abs_error_all": statistics.fmean(abs(r["error"]) for r in rows),
            "kinds_without_data": sorted(set(TARGETS) - set(kinds))}


def calibration_decode(calibration_rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The calibration set's gpt-fast decode rows that fitted no constant
    (``hwsim.report.validate_gpu``), summarised against the decode target. They share the fitted
    rows' harness (gpt-fast on the same A100), so they are not an independent test; the llama.cpp
    rows are held out and counted in :func:`heldout_report` instead."""
    errs = [abs(r["error"]) for r in calibration_rows
            if r["group"] == "decode" and not r["fitted"] and GPT_FAST in r["source"]]
    if not errs:
        return None
    median = statistics.median(errs)
    return {"kind": "decode", "rows": len(errs), "median_abs_error": median,
            "target": TARGETS["decode"], "met": median <= TARGETS["decode"],
            "note": "calibration-set rows not used for fitting (same harness as fitted rows)"}
