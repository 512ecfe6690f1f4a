"""The CTA tile vLLM's CUTLASS fp8 GEMM launches on Hopper, by the GEMM's shape.

vLLM's per-tensor fp8 linear (``cutlass_scaled_mm``) does not search tiles: on sm90 it dispatches
on M and N to one of six fixed CUTLASS 3.x configurations (vllm-project/vllm,
``csrc/quantization/w8a8/cutlass/c3x/scaled_mm_sm90_fp8_dispatch.cuh``,
``cutlass_gemm_sm90_fp8_dispatch``), each a TMA warp-specialised kernel with CUTLASS's
``PersistentScheduler`` in ``GemmUniversal`` mode, so no split-K and no stream-K:

====================  ==============  ===============  =========  ============
M                     N               TileShape (MNK)  swap A/B   ClusterShape
====================  ==============  ===============  =========  ============
1 - 16                <= 1280         64 x 16 x 256    yes        1 x 2 x 1
1 - 16                > 1280          64 x 16 x 256    yes        1 x 1 x 1
17 - 64               <= 1280         64 x 16 x 256    yes        1 x 4 x 1
17 - 64               > 1280          64 x 64 x 256    yes        1 x 1 x 1
65 - 128              any             64 x 128 x 128   no         2 x 1 x 1
> 128                 any             128 x 128 x 128  no         2 x 1 x 1
====================  ==============  ===============  =========  ============

With A and B swapped the kernel computes C^T = B^T A^T, so its tile's first extent runs along
the GEMM's N and its second along M (a swapped 1 x c x 1 cluster spans c tiles of M). The
cluster counts only in the tile grid, which CUTLASS's persistent scheduler rounds up to whole
clusters: an M of 2049 launches 18 row tiles of 128, not 17 (docs/gpu.md, "fp8 outputs and
tiles"). The operand sharing inside a cluster (TMA multicast) is not modelled.
"""

from __future__ import annotations

from hwsim.engine.gpu.gemm_tiles import DispatchedTile

__all__ = ["vllm_sm90_fp8_tile"]


def vllm_sm90_fp8_tile(m: int, n: int) -> DispatchedTile:
    """The tile ``cutlass_gemm_sm90_fp8_dispatch`` picks for an (m, k) x (k, n) fp8 GEMM."""
    # Swapped configs' ClusterShape (1, c, 1) runs c tiles along the GEMM's M.
    if m <= 16:  # TileShape 64 x 16 x 256, swapped; ClusterShape 1x2x1 (N <= 1280), 1x1x1
        return DispatchedTile(16, 64, 256, cluster_rows=2 if n <= 1280 else 1)
    if m <= 64:  # swapped: 64 x 16 x 256, ClusterShape 1x4x1 (N <= 1280); 64 x 64 x 256, 1x1x1
        return (DispatchedTile(16, 64, 256, cluster_rows=4) if n <= 1280
                else DispatchedTile(64, 64, 256))
    if m <= 128:  # TileShape 64 x 128 x 128, ClusterShape 2x1x1
        return DispatchedTile(64, 128, 128, cluster_rows=2)
    return DispatchedTile(128, 128, 128, cluster_rows=2)  # 128 x 128 x 128, ClusterShape 2x1x1
