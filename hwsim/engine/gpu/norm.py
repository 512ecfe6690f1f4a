"""Row-wise norm kernels (LayerNorm, RMSNorm) as the framework runs them: compiled by
Triton/Inductor (``torch.compile``, gpt-fast, LLMCompass's layernorm) or eager ATen (PyTorch's
``vectorized_layer_norm_kernel``: HuggingFace eager, NeuSight's collector). The chip's
``norm_kernel`` picks one. Times in seconds, traffic in bytes.
"""

from __future__ import annotations

import math

from hwsim.config.chip import GpuChip
from hwsim.engine.gpu.cost import KernelCost
from hwsim.engine.gpu.kernels import vector_cost
from hwsim.mapping.primitives import VectorWork

__all__ = ["EAGER_CTA_THREADS", "EAGER_ROW_READS", "compiled_norm_cost", "eager_norm_cost",
           "norm_cost", "rereads_in_l2"]

# A compiled (Triton/Inductor) norm keeps a row in registers ("persistent reduction") when it has
# at most this many elements (torch/_inductor/codegen/triton.py, should_use_persistent_reduction:
# threshold 1024 for inner reductions); longer rows are looped over in RBLOCK chunks.
PERSISTENT_ROW_ELEMENTS = 1024
# A looped layernorm walks its row three times: sum (mean), sum of squared deviations
# (variance), normalise. Evidence: LLMCompass's A100 4096x32768 layernorm (torch.compile) takes
# 1.94x its 32768x4096 twin (same bytes), more than the 1.5x any two-read kernel could cost.
NORM_LOOPED_PASSES = 3.0
# One row per CTA of 8 warps (Inductor's reduction config for 2048-element RBLOCKs).
NORM_CTA_THREADS = 256

# PyTorch's eager LayerNorm (aten/src/ATen/native/cuda/layer_norm_kernel.cu,
# launch_vectorized_layer_norm_kernel) runs one CTA per row of (32, 4) threads: NeuSight's
# profiled launch grid (scripts/asplos/data/dataset/*/ln.csv: grid x = rows, block 32 x 4).
EAGER_CTA_THREADS = 128
# vectorized_layer_norm_kernel_impl reads its row twice (compute_stats: Welford mean and
# variance; then the normalise loop) and writes it once.
EAGER_ROW_READS = 2.0


def norm_cost(w: VectorWork, chip: GpuChip, row_elements: int | None) -> KernelCost:
    """The chip's framework's norm kernel (``norm_kernel``: compiled or eager)."""
    if chip.norm_kernel == "eager":
        return eager_norm_cost(w, chip, row_elements)
    return compiled_norm_cost(w, chip, row_elements)


def compiled_norm_cost(w: VectorWork, chip: GpuChip, row_elements: int | None) -> KernelCost:
    """An Inductor norm. Short rows are read once. Looped rows are walked
    ``NORM_LOOPED_PASSES`` times; the repeat walks hit the SM's L1 while the rows of all
    resident CTAs fit in it, and come from DRAM once they do not (streaming rows that overflow
    an LRU cache evict each other before reuse, so the hit rate falls off a cliff)."""
    passes = 1.0
    info: dict[str, object] = {"kernel": "norm", "norm_kernel": "compiled"}
    if row_elements and row_elements > PERSISTENT_ROW_ELEMENTS:
        row_bytes = w.bytes_in / max(w.elements, 1) * row_elements
        resident_rows = chip.max_threads_per_sm // NORM_CTA_THREADS
        l1 = chip.l1_smem_bytes_per_sm or chip.smem_bytes_per_sm
        fits = resident_rows * row_bytes <= l1
        passes = 1.0 if fits else NORM_LOOPED_PASSES
        info |= {"looped": True, "rereads_on_chip": fits}
    cost = vector_cost(w, chip, passes)
    cost.mapping = info | {"input_passes": passes}
    return cost


def rereads_in_l2(chip: GpuChip, row_bytes: float) -> bool:
    """Whether the eager kernel's second read of a row comes from the L2 rather than DRAM.

    A CTA's row must stay in the L2 until its second read while every resident CTA makes its
    two passes over its own row; the repeat hits while ``2 x SMs x resident CTAs x row bytes``
    fits the L2 (streaming rows that overflow an LRU cache evict each other before reuse, so
    the hit rate falls off a cliff). Checked on fitting rows only: NeuSight's eager LayerNorm
    on the A100 PCIe 40GB reads 8 KB rows once and 16 KB rows twice (12 KB: between), on the
    T4 (training rows) 4 KB rows once and 6-14 KB rows twice."""
    resident = max(1, chip.max_threads_per_sm // EAGER_CTA_THREADS)
    return EAGER_ROW_READS * chip.sms * resident * row_bytes <= chip.l2_bytes


def eager_norm_cost(w: VectorWork, chip: GpuChip, row_elements: int | None) -> KernelCost:
    """PyTorch's eager LayerNorm: one ``EAGER_CTA_THREADS`` CTA per row, the row read
    ``EAGER_ROW_READS`` times (the repeat from the L2 while :func:`rereads_in_l2`), in waves of
    ``SMs x resident CTAs`` rows. A grid of at least one full wave pays for its partial last
    wave (every wave streams at the full-wave rate); a grid smaller than one wave is
    latency-bound, which the launch and the sustained-rate time stand in for."""
    info: dict[str, object] = {"kernel": "norm", "norm_kernel": "eager"}
    if not row_elements:
        cost = vector_cost(w, chip, 1.0)
        cost.mapping = info | {"input_passes": 1.0}
        return cost
    row_bytes = w.bytes_in / max(w.elements, 1) * row_elements
    in_l2 = rereads_in_l2(chip, row_bytes)
    passes = 1.0 if in_l2 else EAGER_ROW_READS
    rows = max(1, w.elements // row_elements)
    slots = chip.sms * max(1, chip.max_threads_per_sm // EAGER_CTA_THREADS)
    waves = math.ceil(rows / slots)
    wave_eff = rows / (waves * slots) if rows >= slots else 1.0
    cost = vector_cost(w, chip, passes)
    cost.dram_s /= wave_eff
    cost.l2_s /= wave_eff
    cost.wave_efficiency = wave_eff
    cost.mapping = info | {"input_passes": passes, "rereads_on_chip": in_l2, "waves": waves}
    return cost
