"""The CTA tile vLLM's CUTLASS fp8 GEMM launches on Hopper, by the GEMM's shape.

vLLM's per-tensor fp8 linear (``cutlass_scaled_mm``) does not search tiles: on sm90 it dispatches
on M and N to one of six fixed CUTLASS 3.x configurations (vllm-project/vllm,
``csrc/quantization/w8a8/cutlass/c3x/scaled_mm_sm90_fp8_dispatch.cuh``,
``cutlass_gemm_sm90_fp8_dispatch``), each a TMA warp-specialised kernel with CUTLASS's
``PersistentScheduler`` in ``GemmUniversal`` mode, so no split-K and no stream-K:

====================  ==============  ===============  =========
M                     N               TileShape (MNK)  swap A/B
====================  ==============  ===============  =========
1 - 16                <= 1280         64 x 16 x 256    yes
1 - 16                > 1280          64 x 16 x 256    yes
17 - 64               <= 1280         64 x 16 x 256    yes
17 - 64               > 1280          64 x 64 x 256    yes
65 - 128              any             64 x 128 x 128   no
> 128                 any             128 x 128 x 128  no
====================  ==============  ===============  =========

With A and B swapped the kernel computes C^T = B^T A^T, so its tile's first extent runs along
the GEMM's N and its second along M. The cluster shapes (TMA multicast between CTAs) are not
modelled.
"""

from __future__ import annotations

from hwsim.engine.gpu.gemm_tiles import DispatchedTile

__all__ = ["vllm_sm90_fp8_tile"]


def vllm_sm90_fp8_tile(m: int, n: int) -> DispatchedTile:
    """The tile ``cutlass_gemm_sm90_fp8_dispatch`` picks for an (m, k) x (k, n) fp8 GEMM."""
    if m <= 16:
        return DispatchedTile(16, 64, 256)  # TileShape 64 x 16 x 256, swapped
    if m <= 64:
        return DispatchedTile(16, 64, 256) if n <= 1280 else DispatchedTile(64, 64, 256)  # swapped
    if m <= 128:
        return DispatchedTile(64, 128, 128)
    return DispatchedTile(128, 128, 128)
