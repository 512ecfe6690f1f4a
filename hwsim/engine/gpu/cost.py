"""One GPU kernel's cost: time per limit, traffic per memory level, work per unit."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class KernelCost:
    """One kernel (or a sequence of identical kernels): its time, traffic and work."""

    kernels: int
    compute_s: float
    l2_s: float
    dram_s: float
    launch_s: float
    tensor_flops: float = 0.0
    cuda_flops: float = 0.0
    smem_bytes: float = 0.0
    l2_bytes: float = 0.0
    dram_bytes: float = 0.0
    wave_efficiency: float = 1.0
    unit: str = "tensor"
    mapping: dict[str, object] = field(default_factory=dict)
    math_dtype: str | None = None  # the tensor cores' dtype when not the op's (W8A16: bf16)
    # The part of compute_s that waits on memory, not on the SM clock: an sm80 CTA's C-tile
    # store after its mainloop, a FlashAttention CTA's first K/V tiles. A throttled clock does
    # not stretch it.
    store_s: float = 0.0

    @property
    def time_s(self) -> float:
        return self.launch_s + max(self.compute_s, self.l2_s, self.dram_s)

    @property
    def bottleneck(self) -> str:
        busy = {self.unit: self.compute_s, "l2": self.l2_s, "offchip": self.dram_s,
                "launch": self.launch_s}
        return max(busy.items(), key=lambda kv: kv[1])[0]
