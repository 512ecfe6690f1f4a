"""``python -m hwsim.accuracy.figure --out docs/accuracy.png``: every accuracy curve hwsim ships.

One panel per literature curve (published points, each marked primary or secondary, and the
monotone PCHIP hwsim reads between them) and one per measured family (its measured curve with
95 % bootstrap intervals, from :func:`hwsim.accuracy.measured.measured_curve` when that provider
is installed). Titles carry the provenance, so the figure is never read without it.

``--out`` is required: an installed package has no docs/ folder of its own, so the caller names
the file (from the checkout's root, ``--out docs/accuracy.png`` remakes the README's figure).
"""

from __future__ import annotations

import argparse
import importlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hwsim.errors import HwsimError

COLUMNS = 4


def literature_panel(ax: Any, name: str) -> None:
    from hwsim.accuracy.interp import interpolator, sorted_points
    from hwsim.accuracy.literature import load_curve, metric_name

    curve = load_curve(name)
    x, y, order = sorted_points([p.density for p in curve.points],
                                [p.value for p in curve.points])
    grid = np.linspace(x[0], x[-1], 200)
    ax.plot(grid, interpolator(x, y)(grid), color="C0", lw=1.5, label="PCHIP (hwsim reads)")
    secondary = np.array([curve.points[i].citation.transcription == "secondary"
                          for i in order])
    if (~secondary).any():
        ax.plot(x[~secondary], y[~secondary], "o", color="C0", label="published (primary)")
    if secondary.any():
        ax.plot(x[secondary], y[secondary], "o", mfc="white", color="C0",
                label="published (secondary transcription)")
    ax.set_title(f"{curve.method.split(' (')[0]} - {curve.model_family.split(' (')[0]}\n"
                 f"literature: {name}", fontsize=8)
    ax.set_ylabel(metric_name(curve), fontsize=8)


# Densities each measured family's curves are evaluated at (MoE: k experts of 8).
MEASURED_GRID: dict[str, tuple[float, ...]] = {
    "digits-mlp": (1.0, 0.5, 0.25, 0.1, 0.05, 0.02, 0.01),
    "digits-moe": (0.125, 0.25, 0.5, 1.0),
    "digits-attn": (1.0, 0.75, 0.5, 0.25, 0.125),
    "digits-liquid": (1.0, 0.2, 0.1, 0.05, 0.02, 0.01),
}


def measured_panel(ax: Any, family: str, measured: Any) -> str | None:
    """Plot every curve of one measured family, each evaluated for real at the grid's densities
    with its 95 % bootstrap interval; returns why not, when nothing can be drawn."""
    grid = MEASURED_GRID.get(family)
    curves = getattr(measured, "CURVES", {}).get(family, ())
    if not grid or not curves:
        return f"no curves or density grid for measured family {family!r}"
    pair = getattr(measured, "COMPARISON", {}).get(family, ())
    drawn = 0
    for i, variant in enumerate(curves):
        try:
            rows = measured.measured_curve(family, variant, list(grid), n_boot=300)
        except HwsimError as exc:
            return f"measured_curve({family!r}, {variant!r}) failed: {exc}"
        d = np.array([r["density"] for r in rows], float)
        v = np.array([r["accuracy"] for r in rows], float)
        lo = np.array([r["ci_low"] for r in rows], float)
        hi = np.array([r["ci_high"] for r in rows], float)
        order = np.argsort(d)
        color = f"C{i % 10}"
        role = dict(zip(pair, ("post-hoc on dense twin", "sparsity-aware training"),
                        strict=True)).get(variant)
        # The papers' comparison (post-hoc vs sparsity-aware) is drawn bold, the rest thin.
        ax.plot(d[order], v[order], "o-" if role else "o:", ms=3 if role else 2,
                lw=2.0 if role else 0.8, color=color,
                label=f"{variant} ({role})" if role else variant)
        ax.fill_between(d[order], lo[order], hi[order], color=color, alpha=0.15)
        drawn += 1
    twin = getattr(measured, "dense_twin_accuracy", None)
    if twin is not None:
        ax.axhline(twin(family, n_boot=300).value, color="k", ls="--", lw=0.8,
                   label=f"dense twin ({family}-dense)")
    if max(grid) / min(grid) > 10:  # a log axis only where the grid spans decades
        ax.set_xscale("log")
    ax.set_xlabel("activation density", fontsize=8)
    ax.set_title(f"{family}\nmeasured in hwsim (test set, 95 % CI)", fontsize=8)
    ax.set_ylabel("top-1 accuracy", fontsize=8)
    return None if drawn else f"no curve of {family!r} could be drawn"


def _measured_points(curve: Any) -> tuple[np.ndarray, ...] | None:
    """(density, value, ci_low, ci_high, metric) from a sequence of Accuracy objects or a
    mapping of arrays -- the two shapes a curve provider may return."""
    if isinstance(curve, dict) and "density" in curve and "value" in curve:
        d = np.asarray(curve["density"], dtype=float)
        v = np.asarray(curve["value"], dtype=float)
        ci = curve.get("ci")
        lo = np.asarray([c[0] if c else math.nan for c in ci], float) if ci else d * math.nan
        hi = np.asarray([c[1] if c else math.nan for c in ci], float) if ci else d * math.nan
        return d, v, lo, hi, str(curve.get("metric", "accuracy"))
    items: Sequence[Any] = list(curve) if curve is not None else []
    if not items or not all(hasattr(a, "density") and hasattr(a, "value") for a in items):
        return None
    items = [a for a in items if a.value is not None and a.density is not None]
    if not items:
        return None
    d = np.array([a.density for a in items], float)
    v = np.array([a.value for a in items], float)
    lo = np.array([a.ci[0] if a.ci else math.nan for a in items], float)
    hi = np.array([a.ci[1] if a.ci else math.nan for a in items], float)
    return d, v, lo, hi, items[0].metric


def make_figure(out: Path) -> list[str]:
    """Write the PNG to ``out``; returns the messages about anything left out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hwsim.accuracy import MEASURED_MODULE, measured_available
    from hwsim.accuracy.literature import list_curves

    messages: list[str] = []
    measured = importlib.import_module(MEASURED_MODULE) if measured_available() else None
    families = list(getattr(measured, "MEASURED_FAMILIES", ())) if measured else []
    if measured is None:
        messages.append(f"measured provider unavailable ({MEASURED_MODULE} not installed): "
                        "no measured panels")
    curves = list_curves()
    panels = len(curves) + max(len(families), 1)
    rows = math.ceil(panels / COLUMNS)
    fig, axes = plt.subplots(rows, COLUMNS, figsize=(4.2 * COLUMNS, 3.3 * rows), squeeze=False)
    flat = list(axes.ravel())
    for ax, name in zip(flat, curves, strict=False):
        literature_panel(ax, name)
    rest = flat[len(curves):]
    for ax, family in zip(rest, families, strict=False):
        why = measured_panel(ax, family, measured)
        if why:
            messages.append(why)
            _blank(ax, why)
    if not families and rest:
        _blank(rest[0], "measured families: provider not installed")
    for ax in flat[:panels]:
        ax.set_xlabel("activation density (fraction active)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=6)
    for ax in flat[panels:]:
        ax.axis("off")
    fig.suptitle("hwsim accuracy curves - every value measured, cited or user-supplied "
                 "(see docs/accuracy.md)", fontsize=11)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    # Fixed metadata: the same curves give the same PNG bytes (no timestamp in the file).
    fig.savefig(out, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return messages


def _blank(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hwsim.accuracy.figure",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True,
                        help="PNG to write (the docs figure: docs/accuracy.png)")
    args = parser.parse_args(argv)
    for message in make_figure(args.out):
        print(message)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
