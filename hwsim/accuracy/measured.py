"""Measured accuracy: hwsim's own digit networks, evaluated for real under a model's sparsity.

``measured_accuracy(model)`` reads the sparsity specs on the model's ops (so ``--sparsity``
overrides change the answer), runs the stored network on the held-out test images under exactly
that sparsity and returns top-1 accuracy with a bootstrap 95 % interval. ``measured_curve``
sweeps density for the figure and the studies. Weights come from
``python -m hwsim.accuracy.train_digits`` and are checked against models/weights/MANIFEST.json.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

import numpy as np

from hwsim.accuracy.base import Accuracy
from hwsim.accuracy.measured_eval import Evaluation, evaluate
from hwsim.accuracy.measured_specs import (
    SETUPS,
    AttnSetup,
    LiquidSetup,
    MlpSetup,
    MoeSetup,
    Setup,
)
from hwsim.accuracy.nets import moe
from hwsim.accuracy.nets.data import DATASET, SPLIT_SEED, digits_split
from hwsim.accuracy.nets.weights import RETRAIN, WEIGHTS_DIR, load_weights, read_manifest
from hwsim.errors import input_error
from hwsim.workload.model import Model

MEASURED_FAMILIES: dict[str, str] = {
    "digits-mlp": "MLP 64-256-256-10 (ReLU): top-k hidden neurons by oracle or a low-rank "
                  "predictor (ranks 8/16/32), natural ReLU sparsity, N:M",
    "digits-moe": "MoE MLP: 8 experts (64-128-64) with a learned router, top-k and capacity",
    "digits-attn": "2-layer attention over the 8 image rows with a learned per-head gate "
                   "(ASA-like) and a keep ratio by depth; or top-k keys",
    "digits-liquid": "CfC recurrent cell, 128 neurons stepped over the 8 rows, top-k active "
                     "neurons per step (1-10 %)",
}
# Weight sets per family, named as ``family:variant``. MLP and liquid: "base" is trained dense
# (sparsity applied at inference only), "sparse-trained" has the top-k in the training loop.
# MoE and attention: "base" has the sparsity in the loop (top-2 routing; heads skipped) and
# "dense" is the dense twin (every expert; every head).
VARIANTS: dict[str, tuple[str, ...]] = {
    "digits-mlp": ("base", "sparse-trained"), "digits-moe": ("base", "dense"),
    "digits-attn": ("base", "dense"), "digits-liquid": ("base", "sparse-trained")}
# The dense twin of each family: the weights trained without sparsity, run without it. Every
# measured accuracy carries the twin's accuracy, so the loss to dense is always shown.
DENSE_TWIN: dict[str, str] = {"digits-mlp": "base", "digits-moe": "dense",
                              "digits-attn": "dense", "digits-liquid": "base"}
# Curves measured_curve draws, per family (density -> setting in _curve_setup).
CURVES: dict[str, tuple[str, ...]] = {
    "digits-mlp": ("oracle", "predictor-r8", "predictor-r16", "predictor-r32",
                   "sparse-trained", "sparse-trained-predictor-r16"),
    "digits-moe": ("uncapped", "capacity-2.0", "capacity-1.25", "capacity-1.0",
                   "dense-posthoc"),
    "digits-attn": ("gate", "gate-decay-0.5", "topk-keys", "dense-posthoc"),
    "digits-liquid": ("base", "sparse-trained"),
}
# The comparison the sparsity papers draw, per family: (post-hoc sparsification of the dense
# twin, sparsity-aware training), both curves of CURVES over the same densities.
COMPARISON: dict[str, tuple[str, str]] = {
    "digits-mlp": ("oracle", "sparse-trained"), "digits-moe": ("dense-posthoc", "uncapped"),
    "digits-attn": ("dense-posthoc", "gate"), "digits-liquid": ("base", "sparse-trained")}


def parse_source(name: str) -> tuple[str, str]:
    """``'digits-mlp'`` or ``'digits-mlp:sparse-trained'`` -> (family, weight variant)."""
    family, _, variant = name.partition(":")
    variant = variant or "base"
    if family not in MEASURED_FAMILIES:
        raise input_error(f"accuracy: measured: {name}", "unknown measured family",
                          hint="one of " + ", ".join(MEASURED_FAMILIES))
    if variant not in VARIANTS[family]:
        raise input_error(f"accuracy: measured: {name}", f"unknown weight variant of {family}",
                          hint="one of " + ", ".join(VARIANTS[family]))
    return family, variant


def measured_accuracy(model: Model, *, n_boot: int = 1000, seed: int = 0) -> Accuracy:
    """Top-1 test accuracy (fraction 0-1) of the model's measured family under the sparsity on
    its ops, with a percentile-bootstrap 95 % interval (``n_boot`` resamples of the test images,
    seeded by ``seed``). The model must carry ``accuracy: {measured: <family>[:<variant>]}``."""
    name = getattr(model.accuracy, "measured", None)
    if not name:
        raise input_error(model.name, "the model has no measured accuracy source",
                          hint="its YAML needs accuracy: {measured: digits-mlp} (or another "
                          "family: " + ", ".join(MEASURED_FAMILIES) + ")")
    family, variant = parse_source(str(name))
    setup = SETUPS[family](model)
    acc = _accuracy(family, variant, setup, n_boot, seed)
    twin = dense_twin_accuracy(family, n_boot=n_boot, seed=seed)
    return replace(acc, dense_value=twin.value, dense_source=(
        f"dense twin ({family}:{DENSE_TWIN[family]} weights, no sparsity): " + twin.source))


def dense_setup(family: str) -> Setup:
    """The setting that runs a family without any sparsity (MoE: every expert)."""
    if family == "digits-moe":
        return MoeSetup(top_k=moe.EXPERTS, capacity_factor=None)
    return {"digits-mlp": MlpSetup, "digits-attn": AttnSetup,
            "digits-liquid": LiquidSetup}[family]()


def dense_twin_accuracy(family: str, *, n_boot: int = 1000, seed: int = 0) -> Accuracy:
    """Top-1 accuracy of the family's dense twin (:data:`DENSE_TWIN` weights, run dense)."""
    return _accuracy(family, DENSE_TWIN[family], dense_setup(family), n_boot, seed)


def measured_curve(family: str, variant: str, densities: list[float] | tuple[float, ...], *,
                   n_boot: int = 1000, seed: int = 0) -> list[dict[str, Any]]:
    """Accuracy at each density for one curve of ``CURVES[family]``; one dict per point with
    density_requested, density (realised), accuracy, ci_low, ci_high, n_test, notes, source,
    plus the family's numbers behind the notes (predictor recall, dropped tokens, heads run)."""
    if family not in CURVES:
        raise input_error("measured_curve", "unknown measured family", given=family,
                          hint="one of " + ", ".join(CURVES))
    if variant not in CURVES[family]:
        raise input_error("measured_curve", f"unknown curve of {family}", given=variant,
                          hint="one of " + ", ".join(CURVES[family]))
    rows = []
    for d in densities:
        if not 0.0 <= float(d) <= 1.0:
            raise input_error("measured_curve", "density must be in [0, 1]", given=d)
        weights, setup = _curve_setup(family, variant, float(d))
        acc = _accuracy(family, weights, setup, n_boot, seed)
        assert acc.ci is not None and acc.value is not None
        extra = _evaluate(family, weights, setup, load_weights(family)[1]).extra
        rows.append(extra | {"family": family, "variant": variant, "density_requested": float(d),
                     "density": acc.density, "accuracy": acc.value, "ci_low": acc.ci[0],
                     "ci_high": acc.ci[1], "n_test": digits_split().y_test.size,
                     "notes": acc.notes, "source": acc.source})
    return rows


def _curve_setup(family: str, curve: str, d: float) -> tuple[str, Setup]:
    if family == "digits-mlp":
        weights = "sparse-trained" if curve.startswith("sparse-trained") else "base"
        rank = int(curve.rsplit("-r", 1)[1]) if "predictor" in curve else 0
        return weights, MlpSetup(density=(1.0, d, d), rank=(0, rank, rank))
    if family == "digits-moe":
        top_k = max(1, min(moe.EXPERTS, round(d * moe.EXPERTS)))
        if curve == "dense-posthoc":  # the dense twin's router, cut to top-k after training
            return "dense", MoeSetup(top_k, None)
        cf = None if curve == "uncapped" else float(curve.split("-", 1)[1])
        return "base", MoeSetup(top_k, cf)
    if family == "digits-attn":
        if curve == "topk-keys":
            return "base", AttnSetup(key_density=(d, d))
        if curve == "dense-posthoc":  # the dense twin's gate, thresholded after training
            return "dense", AttnSetup(keep=(d, d))
        decay = float(curve.rsplit("-", 1)[1]) if curve.startswith("gate-decay") else 0.0
        return "base", AttnSetup(keep=(d, d * (1.0 - decay)))
    return curve, LiquidSetup(d)


def _accuracy(family: str, variant: str, setup: Setup, n_boot: int, seed: int) -> Accuracy:
    if n_boot < 1:
        raise input_error("n_boot", "needs at least one bootstrap resample", given=n_boot)
    _, digest = load_weights(family)
    split = digits_split()
    _check_split(split.test_index_sha256)
    ev = _evaluate(family, variant, setup, digest)
    correct = ev.correct.astype(np.float64)
    rng = np.random.default_rng(seed)
    boot = correct[rng.integers(0, correct.size, size=(n_boot, correct.size))].mean(axis=1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    source = (f"measured by hwsim: {family} ({variant} weights, models/weights/{family}.npz "
              f"sha256 {digest[:12]}) on {DATASET}, stratified test split of {correct.size} "
              f"images (split seed {SPLIT_SEED}, test-index sha256 {split.test_index_sha256[:12]}"
              f"); 95 % CI: percentile bootstrap over test images, {n_boot} resamples, seed "
              f"{seed}")
    return Accuracy(value=float(correct.mean()), metric="top1_accuracy", provenance="measured",
                    source=source, ci=(float(lo), float(hi)), density=ev.density,
                    notes=ev.notes + "; float32 inference")


@lru_cache(maxsize=256)
def _evaluate(family: str, variant: str, setup: Setup, digest: str) -> Evaluation:
    # Keyed by the weights' hash: a retrained file is evaluated afresh.
    weights, current = load_weights(family)
    if current != digest or not any(k.startswith(variant + "/") for k in weights):
        raise input_error(str(WEIGHTS_DIR / f"{family}.npz"), f"no '{variant}' weights",
                          hint=f"retrain: {RETRAIN}")
    return evaluate(family, weights, variant, setup, digits_split())


@lru_cache(maxsize=4)
def _check_split(test_sha: str) -> None:
    stored = read_manifest().get("split", {}).get("test_index_sha256")
    if stored != test_sha:
        raise input_error(str(WEIGHTS_DIR / "MANIFEST.json"), "the weights were trained on a "
                          "different train/test split than this code computes",
                          given=str(stored)[:16], hint=f"retrain: {RETRAIN}")
