"""The synthetic single-op int8 models of the Vela op sweep (``vela_ops_*.csv``).

Pure Python with no hwsim import: the TensorFlow builder (``scripts/peers/make_vela_op_models.py``,
run in a separate venv that has tensorflow-cpu) loads this file by path, and the Vela runner
(``make_vela_ops.py``) and the validation import it from the package.

An op is ``(kind, h, w, c, k, kernel, stride)``: input height/width/channels, output channels
(conv, fc; ignored otherwise), square kernel size and stride. ``fc`` uses ``c`` inputs and ``k``
outputs with ``h = w = 1``; ``softmax`` runs over ``c`` classes of an ``h x w`` map.

Fitting vs held out is decided by :func:`held_out` from the op's key alone (a SHA-256 of it),
before any error was looked at: every configuration and memory mode of one op shape falls on
the same side.
"""

from __future__ import annotations

import hashlib

SEED = 18  # TensorFlow weights and representative data (issue 18)
Op = tuple[str, int, int, int, int, int, int]  # kind, h, w, c, k, kernel, stride


def _sweep() -> list[Op]:
    ops: list[Op] = []
    for hw, c, k in ((8, 16, 32), (16, 8, 16), (16, 32, 64), (32, 16, 16), (8, 64, 128),
                     (32, 3, 16), (12, 24, 40)):
        for kernel in (1, 3, 5):
            for stride in (1, 2):
                if kernel == 1 and stride == 2:
                    continue
                ops.append(("conv", hw, hw, c, k, kernel, stride))
    for hw, c in ((16, 16), (32, 8), (16, 64), (8, 128), (24, 40)):
        for kernel, stride in ((3, 1), (3, 2), (5, 1)):
            ops.append(("depthwise", hw, hw, c, c, kernel, stride))
    for c, k in ((64, 10), (256, 64), (1024, 128), (128, 256), (400, 12), (32, 1024),
                 (512, 32), (96, 48), (2048, 16)):
        ops.append(("fc", 1, 1, c, k, 1, 1))
    for kind in ("avgpool", "maxpool"):
        for hw, c, kernel, stride in ((16, 16, 2, 2), (16, 64, 3, 1), (32, 8, 3, 2),
                                      (8, 32, 8, 8)):
            ops.append((kind, hw, hw, c, c, kernel, stride))
    for kind in ("add", "mul"):
        for hw, c in ((16, 16), (8, 64), (32, 8), (4, 100)):
            ops.append((kind, hw, hw, c, c, 1, 1))
    for hw, c in ((1, 10), (1, 100), (1, 1000), (8, 16)):
        ops.append(("softmax", hw, hw, c, c, 1, 1))
    return ops


OPS: tuple[Op, ...] = tuple(_sweep())


def op_key(op: Op) -> str:
    """``conv_h16w16c8_k16_r3s2``: the file stem and the CSV's ``op`` column."""
    kind, h, w, c, k, kernel, stride = op
    return f"{kind}_h{h}w{w}c{c}_k{k}_r{kernel}s{stride}"


def held_out(key: str) -> bool:
    """About a third of the op shapes are held out: the first byte of SHA-256(key) mod 3 == 0."""
    return hashlib.sha256(key.encode()).digest()[0] % 3 == 0
