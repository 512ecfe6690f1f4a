"""How NVIDIA AIConfigurator's collector timed its rows, as chip overrides.

The collector replays one framework op in a CUDA graph, so hwsim runs those rows in its
``cuda_graphs`` mode, where each kernel costs ``graph_kernel_overhead_s`` instead of a host launch.
That per-kernel time belongs to the harness, not the chip:

- vLLM 0.24.0 rows (the H100/H200/B200 tables: bf16 ``torch.nn.functional.linear``, the fp8
  linear) use ``aiconfigurator_v024_kernel_s`` (the B200's rows
  ``aiconfigurator_v024_b200_kernel_s``), the fp8 linear's two quantisation kernels
  ``aiconfigurator_v024_quant_kernel_s``, all fitted on every fitting row of that collector
  jointly with the fp8 constants (:func:`hwsim.calibration.gpu_gemm.refit_v024`);
- vLLM 0.14.0 GEMM rows (the A100 SXM table) use ``aiconfigurator_v014_kernel_s``, fitted with
  the sm80 fill on that table's fitting rows (:func:`hwsim.calibration.gpu_gemm.refit`), and
  the board's ``aiconfigurator_a100_dram_efficiency``, fitted on the same table's
  weight-streaming rows: the collector's A100 streams weights ~12 % slower than the LLMCompass
  A100 the preset's ``dram_efficiency`` was fitted on (docs/gpu.md, "The A100 collector"), in
  every framework's table, so every A100 row timed here takes it;
- TensorRT-LLM 1.0 rows (the A100's weight-only int4 plugin) use
  ``aiconfigurator_trtllm_kernel_s``, fitted on that table's fitting rows
  (:func:`hwsim.calibration.gpu_gemm.refit_trtllm_w4a16`);
- the attention rows take the board (:func:`board`) but keep the preset's per-kernel time for the
  KV-cache write kernel, with the FlashAttention kernel's own fitted fixed time
  (:mod:`hwsim.calibration.attention_fit`): on the attention fitting rows the collectors'
  per-kernel times fit worse (10.5 -> 10.8 % median).

How long the collector keeps the GPU busy decides whether the power limit acts
(``sustained_load``). Without power measurement (``COLLECTOR_MEASURE_POWER`` unset, its default)
``benchmark_with_power`` (``collector/helper.py``) runs 3 warm-ups and 6 timed replays: a burst
of milliseconds, over before the board lowers its clock, so those tables are timed at boost
clock. The tables that carry power (the vLLM 0.22.0 "power overlays", ``SUSTAINED_TABLES``) were
collected with it set: the replays are stretched to a second (0.3 s for kernels under 0.1 ms),
so a kernel above the power limit is timed at the clock the limit allows. The same shapes in
both kinds of table show it: compute-bound bf16 GEMMs of 0.1-1 ms take 15-19 % longer in the
H200's and B200's vLLM 0.22 power tables, at their power limit, than in their vLLM 0.24 tables,
and memory-bound ones the same time (``hwsim/calibration/power_limit_slowdown.py``). A burst of
long kernels outlasts the board's power response and is timed partly at the limit
(:func:`timed_s`, :mod:`hwsim.validation.burst`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hwsim.engine.gpu.gemm_constants import gemm_constants
from hwsim.engine.simulate import simulate
from hwsim.validation.burst import Run, burst_s
from hwsim.workload.load import gemm

__all__ = ["GRAPH_REPLAY", "SUSTAINED_TABLES", "TRTLLM_10", "V014", "V022", "V024", "aic_gemm_s",
           "attention_timed", "board", "gemm_ops_per_replay", "graph_replay", "is_burst",
           "kernel_time_field", "quant_kernel_s", "sustained", "timed_as", "timed_s"]

GRAPH_REPLAY: dict[str, Any] = {"cuda_graphs": True}
# The framework column of AIConfigurator's vLLM 0.24.0 tables ("vLLM 0.24.0", "VLLM 0.24.0").
V024 = "vllm 0.24.0"
# The framework column of AIConfigurator's vLLM 0.14.0 tables (the A100 SXM's).
V014 = "vllm 0.14.0"
# The framework column of AIConfigurator's TensorRT-LLM 1.0 tables ("TRTLLM 1.0.0").
TRTLLM_10 = "trtllm 1.0.0"
# The framework column of AIConfigurator's vLLM 0.22.0 power tables (B200 attention, MoE and
# GEMMs; H200 GEMMs).
V022 = "vllm 0.22.0"
# Collector versions whose tables were timed over a second of replays with power measured
# (module docstring): the power limit acts on them. Every other table is a burst.
SUSTAINED_TABLES = (V022,)


# Collector versions with their own fitted per-kernel time (a GemmConstants field).
KERNEL_TIME_OF = {V024: "aiconfigurator_v024_kernel_s", V014: "aiconfigurator_v014_kernel_s",
                  TRTLLM_10: "aiconfigurator_trtllm_kernel_s"}
# (collector version, preset) pairs whose GPU has a per-kernel time of its own (a GemmConstants
# field): the vLLM 0.24 collector's B200 (another GPU and driver than its H100 and H200).
# The vLLM 0.22 power collector on the H200 takes the 0.24 collector's per-kernel time on the
# same GPU ([assumption], the one power_limit_slowdown's fit makes): on the 240 H200 fitting
# pairs (aiconfigurator_sustained_gemm_fit.csv) the 0.22 latencies read +1.6 % signed on the
# short pairs with it, +9.3 % with the preset's 6.73 us (A100's gpt-fast value). The B200's
# 0.22 rows keep its preset's graph time, fitted on that collector's rows (b200_graph_fit).
KERNEL_TIME_OF_GPU = {(V024, "b200-sxm"): "aiconfigurator_v024_b200_kernel_s",
                      (V022, "h200-sxm"): "aiconfigurator_v024_kernel_s"}
# Collector versions whose fp8 quantisation kernels (elementwise, one CTA per token) have a
# per-kernel time of their own, apart from the GEMM's (a GemmConstants field).
QUANT_KERNEL_TIME_OF = {V024: "aiconfigurator_v024_quant_kernel_s"}
# Presets whose AIConfigurator tables were measured on a board of their own (a GemmConstants
# field): the A100 SXM, whose weight streaming in every framework's table of the collector
# (vLLM 0.14, TensorRT-LLM 1.0, SGLang) sits ~12 % under the LLMCompass A100 the preset's
# dram_efficiency was fitted on (make_hbm_stream_fit.py --rates).
DRAM_EFFICIENCY_OF = {"a100-sxm-80gb": "aiconfigurator_a100_dram_efficiency"}


def board(preset: str | None) -> dict[str, Any]:
    """The chip overrides of the board AIConfigurator measured ``preset``'s GPU on (empty when
    the preset's own values stand for it)."""
    if preset in DRAM_EFFICIENCY_OF:
        return {"dram_efficiency": getattr(gemm_constants(), DRAM_EFFICIENCY_OF[preset])}
    return {}


def kernel_time_field(framework: str, preset: str | None = None) -> str | None:
    """The GemmConstants field holding the per-kernel time of ``framework``'s collector on
    ``preset``'s GPU (the GPU's own where it has one), or None when it has none."""
    key = framework.strip().lower()
    return KERNEL_TIME_OF_GPU.get((key, preset or ""), KERNEL_TIME_OF.get(key))


def sustained(framework: str) -> dict[str, Any]:
    """Whether ``framework``'s collector held the load long enough for the power limit to act
    (a power table) or timed a burst (every other table), as a chip override."""
    return {"sustained_load": framework.strip().lower() in SUSTAINED_TABLES}


def graph_replay(framework: str, preset: str | None = None) -> dict[str, Any]:
    """The chip overrides for a row timed by AIConfigurator under ``framework`` on ``preset``'s
    GPU: the collector version's per-kernel time (the GPU's own where it has one,
    ``KERNEL_TIME_OF_GPU``), the board's streaming share where the collector's board has its
    own, and whether the load was sustained (:func:`sustained`). Every kernel of the row takes
    that time except vLLM's fp8 quantisation kernels (:func:`quant_kernel_s`, applied in
    :func:`hwsim.validation.gpu_quant.quant_gemm_s`)."""
    out = dict(GRAPH_REPLAY) | sustained(framework)
    field = kernel_time_field(framework, preset)
    if field is not None:
        out["graph_kernel_overhead_s"] = getattr(gemm_constants(), field)
    return out | board(preset)


def quant_kernel_s(framework: str) -> float | None:
    """The collector's GPU time per fp8 quantisation kernel in its graph (None: the same as
    its other kernels)."""
    field = QUANT_KERNEL_TIME_OF.get(framework.strip().lower())
    return None if field is None else float(getattr(gemm_constants(), field))


def timed_as(harness: dict[str, Any] | None, framework: str,
             preset: str | None = None) -> dict[str, Any] | None:
    """``harness`` with the collector's per-kernel time (and board) when it is a CUDA-graph
    replay, else unchanged (a kernel-timed or eager harness has no graph)."""
    if harness is not None and harness.get("cuda_graphs"):
        return harness | graph_replay(framework, preset)
    return harness


def attention_timed(harness: dict[str, Any] | None, preset: str,
                    framework: str) -> dict[str, Any] | None:
    """``harness`` for an AIConfigurator attention row of ``framework``'s collector: on the
    collector's board when it is a CUDA-graph replay, burst or sustained as the collector ran
    it (:func:`sustained`), with the preset's own per-kernel time (the collectors' own fit the
    attention rows worse: docs/gpu.md, "Tried on fitting rows and not shipped"); else
    unchanged. The one place the attention fit and the held-out attention rows take it from."""
    if harness is not None and harness.get("cuda_graphs"):
        return harness | sustained(framework) | board(preset)
    return harness


# Ops per CUDA-graph replay of a GEMM row, by collector: vLLM's collect_gemm.py replays six
# linears of one shape (outside_loop_count 6 for bf16 and per-tensor fp8 since 2025-12-16,
# before every table here was collected) and divides by six; TensorRT-LLM's collect_gemm.py
# repeats by how many weight copies overflow the L2 (1-5 today), not known for the 1.0 table:
# [assumption] 1, the shortest burst. Attention and MoE rows replay one op.
GEMM_OPS_PER_REPLAY = {V024: 6, V014: 6, V022: 6, TRTLLM_10: 1}


def gemm_ops_per_replay(framework: str) -> int:
    """Linears per replay of ``framework``'s GEMM collector (1 where not known)."""
    return GEMM_OPS_PER_REPLAY.get(framework.strip().lower(), 1)


def is_burst(harness: dict[str, Any] | None) -> bool:
    """Whether ``harness`` is a collector's burst: a CUDA-graph replay not held for power."""
    return bool(harness and harness.get("cuda_graphs")
                and not harness.get("sustained_load", True))


def timed_s(run: Run, harness: dict[str, Any] | None, ops_per_replay: int) -> float:
    """Seconds of one op as its collector timed it: ``run(harness)``, and for a burst the blend
    with its sustained time where the burst outlasts the board's power response
    (:func:`hwsim.validation.burst.burst_s`)."""
    if harness is not None and is_burst(harness):  # narrows the type for burst_s
        return burst_s(run, harness, ops_per_replay)
    return run(harness or {})


def aic_gemm_s(r: Mapping[str, Any], harness: dict[str, Any] | None = GRAPH_REPLAY) -> float:
    """Seconds of one AIConfigurator GEMM row (an (m, k) by (k, n) linear) on its preset, timed
    as its collector version times it - the one simulation the held-out report and every fit
    of these rows run."""
    model = gemm(int(r["m"]), int(r["n"]), int(r["k"]), dtype=str(r["dtype"]))
    preset, framework = str(r["preset"]), str(r["framework"])

    def run(h: dict[str, Any]) -> float:
        return simulate(model, preset, chip_overrides=h or None).total.latency_s

    return timed_s(run, timed_as(harness, framework, preset), gemm_ops_per_replay(framework))
