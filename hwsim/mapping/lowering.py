"""Lowering of convolutions to GEMMs, the way SCALE-Sim builds its operand matrices (im2col).

GEMM convention (hwsim-wide): A is M x K, B is K x N, the output is M x N. For a conv with an
H x W x C input, ``k`` filters of R x S and a stride, SCALE-Sim's ifmap operand matrix has one row
per ofmap pixel and one column per filter tap, so

    E = (H + 2*padding - R) // stride + 1,  F = (W + 2*padding - S) // stride + 1
    M = E * F          (ofmap pixels, batch 1; see ``ofmap_rounding`` for SCALE-Sim's variant)
    K = R * S * C      (reduction length, the conv window)
    N = k              (filters)

SCALE-Sim itself has no padding field; padding here simply enlarges H and W, which is what a
padded ifmap fed to it would be. Grouped convs (SCALE-Sim only knows the depthwise special case,
which it splits into one layer per channel) become ``groups`` independent GEMMs of
M = E*F, N = k/groups, K = R*S*C/groups.

SCALE-Sim quirk: its ``topology_utils`` computes ``E = ceil((H - R + stride) / stride)``, i.e.
``ceil((H - R) / stride) + 1``. When the stride does not divide ``H - R`` that is one ofmap row
(column) more than a real conv produces: a partial last window whose out-of-range taps SCALE-Sim
issues as empty requests, but which still costs it fold cycles. ``ofmap_rounding="ceil"``
reproduces that; the default ``"floor"`` is the true conv output size.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

IntLike = int | NDArray[np.int64]


def _as_int(value: ArrayLike) -> IntLike:
    # Keep plain ints plain (cheap scalar path); anything else becomes an int64 array.
    if isinstance(value, int | np.integer):
        return int(value)
    return np.asarray(value, dtype=np.int64)


def _check(ok: bool | NDArray[np.bool_], message: str) -> None:
    # Plain ints give a plain bool; skip np.all, which costs microseconds even on one value.
    if not (ok if isinstance(ok, bool) else bool(np.all(ok))):
        raise ValueError(message)


def conv_to_gemm(
    h: ArrayLike, w: ArrayLike, c: ArrayLike, k: ArrayLike, r: ArrayLike, s: ArrayLike,
    stride: ArrayLike = 1, padding: ArrayLike = 0, groups: ArrayLike = 1,
    ofmap_rounding: Literal["floor", "ceil"] = "floor",
) -> tuple[IntLike, IntLike, IntLike, IntLike]:
    """Lower a conv layer to ``(m, n, k_dim, gemm_count)``: GEMM sizes per group and group count.

    Args (all element counts; plain ints or broadcastable integer arrays):
        h, w: input height and width in pixels (before padding).
        c: input channels. k: number of filters (output channels).
        r, s: filter height and width in pixels. stride: same along both axes, in pixels.
        padding: zero pixels added on each side of H and W. groups: channel groups.
        ofmap_rounding: "floor" for the real conv output size, "ceil" for SCALE-Sim's
            ``ceil((H + 2*padding - R) / stride) + 1`` (module docstring).

    Returns:
        m = E*F ofmap pixels, n = k/groups filters per group, k_dim = R*S*C/groups reduction
        length, gemm_count = groups independent GEMMs of that shape. Plain ints in, plain ints
        out; otherwise int64 arrays broadcast together.
    """
    h_, w_, c_, k_, r_, s_ = (_as_int(v) for v in (h, w, c, k, r, s))
    stride_, pad_, groups_ = (_as_int(v) for v in (stride, padding, groups))
    # Operators only (no np.* calls) so the same lines serve plain ints and arrays.
    _check(pad_ >= 0, "padding must be >= 0")
    _check((stride_ >= 1) & (groups_ >= 1) & (c_ >= 1) & (k_ >= 1),
           "stride, groups, channels and filters must be >= 1")
    _check((c_ % groups_ == 0) & (k_ % groups_ == 0),
           "channels and filters must be divisible by groups")
    h_pad = h_ + 2 * pad_
    w_pad = w_ + 2 * pad_
    # A filter larger than the (padded) input has no valid placement; SCALE-Sim asserts too.
    _check((r_ >= 1) & (s_ >= 1) & (h_pad >= r_) & (w_pad >= s_),
           "filter must be >= 1 and fit inside the padded input")
    if ofmap_rounding == "floor":
        ofmap_h = (h_pad - r_) // stride_ + 1
        ofmap_w = (w_pad - s_) // stride_ + 1
    elif ofmap_rounding == "ceil":
        ofmap_h = -(-(h_pad - r_) // stride_) + 1
        ofmap_w = -(-(w_pad - s_) // stride_) + 1
    else:
        raise ValueError(f"ofmap_rounding must be 'floor' or 'ceil', got {ofmap_rounding!r}")
    m = ofmap_h * ofmap_w
    n = k_ // groups_
    k_dim = r_ * s_ * (c_ // groups_)
    return m, n, k_dim, groups_
