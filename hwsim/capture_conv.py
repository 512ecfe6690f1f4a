"""Activation masks of a convolution, in the rows hwsim's lowering gives its A operand.

hwsim lowers a conv to ``groups`` GEMMs of M = output pixels and K = R*S*C/groups (im2col,
:func:`hwsim.mapping.lowering.conv_to_gemm`). A token is one output pixel of one group; its K
entries are the input values under the filter window, zero padding included (a padded
position is an exact zero, inactive under every rule but ``topk``'s ties). The window is cut
from the ONNX node's own pads, strides and kernel, so the rows are what the file computes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ConvWindows:
    """A Conv node's geometry: kernel (r, s), strides, pads (top, left, bottom, right)."""

    r: int
    s: int
    stride_h: int
    stride_w: int
    pads: tuple[int, int, int, int]
    groups: int
    out_h: int
    out_w: int

    @property
    def tokens(self) -> int:
        return self.groups * self.out_h * self.out_w

    def k(self, channels: int) -> int:
        return self.r * self.s * channels // self.groups

    def rows(self, x: np.ndarray) -> np.ndarray:
        """(groups * out_h * out_w, R*S*C/groups) window values of one input ``x`` shaped
        (1, C, H, W) or (1, C, L) (a 1-D conv as an L x 1 image)."""
        if x.ndim == 3:
            x = x[..., None]
        c = x.shape[1]
        top, left, bottom, right = self.pads
        xp = np.pad(x[0], ((0, 0), (top, bottom), (left, right)))
        win = np.lib.stride_tricks.sliding_window_view(xp, (self.r, self.s), axis=(1, 2))
        win = win[:, ::self.stride_h, ::self.stride_w][:, :self.out_h, :self.out_w]
        g = self.groups
        # (C, OH, OW, R, S) -> (g, OH, OW, C/g, R, S): one row per group and output pixel.
        win = win.reshape(g, c // g, self.out_h, self.out_w, self.r, self.s)
        return win.transpose(0, 2, 3, 1, 4, 5).reshape(self.tokens, self.k(c))


def conv_windows(attrs: dict, size: tuple[int, ...], kernel: tuple[int, ...],
                 out: tuple[int, ...]) -> ConvWindows:
    """The windows of a Conv node from its attributes and the input, kernel and output spatial
    shapes (1-D or 2-D). auto_pad SAME_UPPER puts an odd pixel of padding after, SAME_LOWER
    before, as ONNX specifies."""
    nd = len(kernel)
    size_2, kern, outs = [*size, 1][:2], [*kernel, 1][:2], [*out, 1][:2]
    strides = [*list(attrs.get("strides", [1] * nd)), 1][:2]
    auto = attrs.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        total = [max((outs[d] - 1) * strides[d] + kern[d] - size_2[d], 0) for d in range(2)]
        small = [t // 2 for t in total]
        begin = small if auto == "SAME_UPPER" else [t - h for t, h in zip(total, small,
                                                                          strict=True)]
        end = [t - b for t, b in zip(total, begin, strict=True)]
    else:
        raw = list(attrs.get("pads", [0] * 2 * nd)) if auto != "VALID" else [0] * 2 * nd
        begin, end = [*raw[:nd], 0][:2], [*raw[nd:], 0][:2]
    return ConvWindows(kern[0], kern[1], strides[0], strides[1],
                       (begin[0], begin[1], end[0], end[1]), int(attrs.get("group", 1)),
                       outs[0], outs[1])
