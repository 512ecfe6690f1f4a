"""The loop nest a GEMM or convolution really runs, for counting the bytes each memory level moves.

Compute cycles are counted on the lowered GEMM (so SCALE-Sim's fold timing stays exact), but the
bytes a buffer has to fetch follow the operation's own loops. Seven dimensions, one convention for
every work item (ZigZag and Timeloop name them the same way):

    B   inputs sharing the weights (batch; the steps of a recurrent cell)
    K   output channels (filters)            C   input channels (the reduction)
    OY  output rows   OX output columns      FY, FX  filter rows and columns

A GEMM out[M,N] = A[M,K] @ B[K,N] is the nest with OY = M, K = N, C = K and OX = FY = FX = 1.
A convolution keeps its windows, so an ifmap tile of ``oy x ox`` outputs needs
``((oy-1)*stride + FY) x ((ox-1)*stride + FX)`` input pixels (the halo), and the whole ifmap is
read once, not the 9x larger im2col matrix.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConvGeometry:
    """Spatial shape of one convolution group (the part the GEMM lowering forgets)."""

    in_h: int  # input height, pixels (unpadded: padding zeros are generated, not fetched)
    in_w: int
    out_h: int
    out_w: int
    fy: int  # filter rows
    fx: int
    stride: int


@dataclass(frozen=True)
class LoopNest:
    """Loop bounds of one work item, plus how many independent copies of it run.

    ``repeats`` copies share nothing (conv groups, attention heads, experts): every byte is moved
    once per copy."""

    b: int
    k: int
    c: int
    oy: int
    ox: int
    fy: int = 1
    fx: int = 1
    stride: int = 1
    in_h: int = 0  # 0: a GEMM (the input rows are the output rows)
    in_w: int = 0
    repeats: float = 1.0

    @property
    def macs(self) -> float:
        per_copy = self.b * self.k * self.c * self.oy * self.ox * self.fy * self.fx
        return float(per_copy) * self.repeats


def gemm_nest(m: int, n: int, k: int, count: float, b_shared: bool) -> LoopNest:
    """A GEMM's nest. ``count`` GEMMs sharing their B matrix (a recurrent cell's steps) are one
    nest with B = count (the weights can stay on chip across them); otherwise they are
    independent repeats."""
    if b_shared:
        return LoopNest(b=max(1, round(count)), k=n, c=k, oy=m, ox=1)
    return LoopNest(b=1, k=n, c=k, oy=m, ox=1, repeats=float(count))


def conv_nest(batch: int, out_channels: int, in_channels: int, geom: ConvGeometry,
              groups: int) -> LoopNest:
    """A convolution's nest per group (``out_channels`` and ``in_channels`` per group)."""
    return LoopNest(b=batch, k=out_channels, c=in_channels, oy=geom.out_h, ox=geom.out_w,
                    fy=geom.fy, fx=geom.fx, stride=geom.stride, in_h=geom.in_h,
                    in_w=geom.in_w, repeats=float(groups))
