"""The paged KV cache: how many blocks fit on the chip, and who holds them.

Capacity (PagedAttention, Kwon et al., SOSP 2023, as vLLM sizes it): the chip's memory as the
backend's memory fit sees it, times ``memory_utilization`` (vLLM's ``gpu_memory_utilization``,
default 0.9), minus the resident weights and the peak live activations of the largest
iteration (``max_batched_tokens`` tokens); what is left holds
``floor(left / (block_size * kv_bytes_per_token))`` blocks. A sequence holding ``t`` tokens of
KV uses ``ceil(t / block_size)`` blocks; blocks are not shared between sequences (no prefix
caching).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from hwsim.engine.backend import backend_for
from hwsim.errors import input_error
from hwsim.hardware.chips import AnyChip
from hwsim.workload.memory import kv_cache_bytes
from hwsim.workload.model import Model


@dataclass(frozen=True)
class KvCapacity:
    """How the chip's memory is split (bytes) and the resulting block count."""

    memory_bytes: float  # the chip's memory the fit checks, before the utilisation factor
    weights_bytes: float
    activation_bytes: float
    kv_bytes_per_token: float
    block_size: int
    blocks: int
    # Many devices: the split above is one device's (the fullest pipeline stage's, sharded
    # weights and KV); ``blocks`` counts every data-parallel (ep) group's cache.
    devices: int = 1
    kv_groups: int = 1

    @property
    def tokens(self) -> int:
        return self.blocks * self.block_size

    def to_dict(self) -> dict[str, float | int]:
        return {"memory_bytes": self.memory_bytes, "weights_bytes": self.weights_bytes,
                "activation_bytes": self.activation_bytes,
                "kv_bytes_per_token": self.kv_bytes_per_token, "block_size": self.block_size,
                "blocks": self.blocks, "tokens": self.tokens} | (
            {"devices": self.devices, "kv_groups": self.kv_groups, "per_device": True}
            if self.devices > 1 else {})


def kv_capacity(model: Model, chip: AnyChip, *, block_size: int, max_batched_tokens: int,
                memory_utilization: float, parallel: Any = None) -> KvCapacity:
    """Blocks of ``block_size`` tokens that fit beside the weights and activations.

    ``model`` is decode-shaped with ``seq = 1`` (its attention holds one token of KV).
    ``parallel`` (a :class:`hwsim.parallel.ParallelSpec` of several devices): each device
    holds its stage's sharded weights and the K/V of its heads and layers, so capacity is per
    device memory minus sharded weights, set by the fullest stage; each of the ``ep``
    data-parallel groups has its own cache of that many blocks."""
    if parallel is not None and parallel.devices > 1:
        return _parallel_capacity(model, chip, parallel, block_size=block_size,
                                  max_batched_tokens=max_batched_tokens,
                                  memory_utilization=memory_utilization)
    return _capacity(model, chip, block_size=block_size, max_batched_tokens=max_batched_tokens,
                     memory_utilization=memory_utilization)


def _parallel_capacity(model: Model, chip: AnyChip, spec: Any, *, block_size: int,
                       max_batched_tokens: int, memory_utilization: float) -> KvCapacity:
    from hwsim.parallel.shard import layouts

    tokens = -(-max_batched_tokens // spec.ep)  # one ep group's share of an iteration
    caps = [_capacity(lay.model, chip, block_size=block_size, max_batched_tokens=tokens,
                      memory_utilization=memory_utilization, setting="--tp/--pp")
            for lay in layouts(model, spec)]
    worst = min(caps, key=lambda c: c.blocks)
    return dataclasses.replace(worst, blocks=worst.blocks * spec.ep, devices=spec.devices,
                               kv_groups=spec.ep)


def _capacity(model: Model, chip: AnyChip, *, block_size: int, max_batched_tokens: int,
              memory_utilization: float, setting: str = "--model") -> KvCapacity:
    fit = backend_for(chip).memory_fit(model, chip, max_batched_tokens)
    if fit.capacity_bytes is None:
        raise input_error("--chip", "the chip gives no memory capacity to hold a KV cache",
                          given=getattr(chip, "name", ""))
    per_token = kv_cache_bytes(model, 1)
    if per_token <= 0.0:
        raise input_error(model.name, "the model keeps no KV cache (no attention op)")
    kv_now = float(fit.detail.get("kv_cache_bytes", kv_cache_bytes(model, max_batched_tokens)))
    weights = float(fit.detail.get("weights_bytes", model.weight_bytes))
    activations = max(fit.resident_bytes - kv_now - weights, 0.0)
    left = fit.capacity_bytes * memory_utilization - weights - activations
    blocks = math.floor(left / (block_size * per_token)) if left > 0 else 0
    if blocks < 1:
        raise input_error(
            setting, f"{model.name} does not fit on {getattr(chip, 'name', 'the chip')} even "
            f"with an empty KV cache: weights {weights / 1e9:.2f} GB + activations "
            f"{activations / 1e9:.2f} GB vs {fit.capacity_bytes * memory_utilization / 1e9:.2f}"
            f" GB usable ({memory_utilization:g} of {fit.capacity_bytes / 1e9:.2f} GB)",
            hint="use a chip with more memory, a smaller model or dtype, or lower "
                 "--max-batched-tokens")
    return KvCapacity(float(fit.capacity_bytes), weights, activations, per_token, block_size,
                      blocks)


class BlockPool:
    """Free-block accounting (block identities do not matter for timing, only counts)."""

    def __init__(self, blocks: int, block_size: int) -> None:
        self.total = blocks
        self.block_size = block_size
        self.free = blocks

    def blocks_for(self, tokens: int) -> int:
        return -(-tokens // self.block_size)

    @property
    def used(self) -> int:
        return self.total - self.free
