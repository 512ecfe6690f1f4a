"""How NVIDIA AIConfigurator's collector timed its rows, as chip overrides.

The collector replays one framework op in a CUDA graph, so hwsim runs those rows in its
``cuda_graphs`` mode, where each kernel costs ``graph_kernel_overhead_s`` instead of a host launch.
That per-kernel time belongs to the harness, not the chip:

- vLLM 0.24.0 rows (the H100/H200 tables: bf16 ``torch.nn.functional.linear``, the fp8 linear)
  use ``aiconfigurator_v024_kernel_s``, fitted on the fp8 fitting rows of the same collector
  (:func:`hwsim.calibration.gpu_gemm.refit_v024`, on every fitting row of that collector,
  jointly with the sm90 and sm100 pipeline fills and the fp8 constants);
- vLLM 0.14.0 rows (the A100 table) keep the preset's ``graph_kernel_overhead_s``: the sm80 fill
  was fitted on that table's fitting rows with it (a joint fit of both puts the per-kernel time at
  5.97 us and the fill at its 0 bound, 9.6 -> 8.9 % on those rows: the same split within the
  fit's resolution, with the fill pinned);
- TensorRT-LLM 1.0 rows (the A100's weight-only int4 plugin) use
  ``aiconfigurator_trtllm_kernel_s``, fitted on that table's fitting rows
  (:func:`hwsim.calibration.gpu_gemm.refit_trtllm_w4a16`);
- the attention rows keep the preset's value too: the FlashAttention constants were fitted with the
  KV-cache write kernel at that cost (:mod:`hwsim.calibration.attention_fit`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hwsim.engine.gpu.gemm_constants import gemm_constants
from hwsim.engine.simulate import simulate
from hwsim.workload.load import gemm

__all__ = ["GRAPH_REPLAY", "TRTLLM_10", "V024", "aic_gemm_s", "graph_replay", "timed_as"]

GRAPH_REPLAY: dict[str, Any] = {"cuda_graphs": True}
# The framework column of AIConfigurator's vLLM 0.24.0 tables ("vLLM 0.24.0", "VLLM 0.24.0").
V024 = "vllm 0.24.0"
# The framework column of AIConfigurator's TensorRT-LLM 1.0 tables ("TRTLLM 1.0.0").
TRTLLM_10 = "trtllm 1.0.0"


# Collector versions with their own fitted per-kernel time (a GemmConstants field).
KERNEL_TIME_OF = {V024: "aiconfigurator_v024_kernel_s", TRTLLM_10: "aiconfigurator_trtllm_kernel_s"}


def graph_replay(framework: str) -> dict[str, Any]:
    """The chip overrides for a GEMM row timed by AIConfigurator under ``framework``."""
    field = KERNEL_TIME_OF.get(framework.strip().lower())
    if field is None:
        return dict(GRAPH_REPLAY)
    return GRAPH_REPLAY | {"graph_kernel_overhead_s": getattr(gemm_constants(), field)}


def timed_as(harness: dict[str, Any] | None, framework: str) -> dict[str, Any] | None:
    """``harness`` with the collector's per-kernel time when it is a CUDA-graph replay, else
    unchanged (a kernel-timed or eager harness has no graph)."""
    if harness is not None and harness.get("cuda_graphs"):
        return harness | graph_replay(framework)
    return harness


def aic_gemm_s(r: Mapping[str, Any], harness: dict[str, Any] | None = GRAPH_REPLAY) -> float:
    """Seconds of one AIConfigurator GEMM row (an (m, k) by (k, n) linear) on its preset, timed
    as its collector version times it - the one simulation the held-out report and every fit
    of these rows run."""
    model = gemm(int(r["m"]), int(r["n"]), int(r["k"]), dtype=str(r["dtype"]))
    return simulate(model, str(r["preset"]), chip_overrides=timed_as(
        harness, str(r["framework"]))).total.latency_s
