"""Accuracy providers: every accuracy number hwsim shows is measured, cited or user-supplied.

:func:`accuracy_of` picks the provider, in this order:

1. a user curve given explicitly (``curve=``, the CLI's ``--accuracy-curve FILE``);
2. the model file's own ``accuracy:`` source -- ``measured`` (a network trained and evaluated
   in-repo, :mod:`hwsim.accuracy.measured`), ``literature`` (a cited curve in
   ``configs/accuracy``) or ``csv`` (a user curve next to the model file);
3. otherwise ``unknown``, with the reason. Nothing is guessed.

Curves are read at the model's effective density (:mod:`hwsim.accuracy.density`).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hwsim.accuracy.base import Accuracy, Provenance, unknown
from hwsim.workload.model import Model

__all__ = ["MEASURED_MODULE", "Accuracy", "Provenance", "UserCurve", "accuracy_of", "list_curves",
           "load_curve", "load_user_curve", "measured_available", "unknown"]

MEASURED_MODULE = "hwsim.accuracy.measured"

# The curve readers (and the cited-curve schema) are imported on first use: a model without an
# accuracy source, e.g. a single GEMM, never needs them, and `hwsim simulate` starts faster.
_LAZY = {"UserCurve": "hwsim.accuracy.curves", "load_user_curve": "hwsim.accuracy.curves",
         "list_curves": "hwsim.accuracy.literature", "load_curve": "hwsim.accuracy.literature"}

if TYPE_CHECKING:
    from hwsim.accuracy.curves import UserCurve, load_user_curve
    from hwsim.accuracy.literature import list_curves, load_curve


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hwsim.accuracy' has no attribute {name!r}")


def accuracy_of(model: Model, *, curve: Path | str | None = None, seed: int = 0) -> Accuracy:
    """The accuracy of ``model`` (with its sparsity) and where it comes from.

    ``curve`` (a CSV of density and one metric column) overrides the model's own source.
    ``seed`` seeds the measured provider's bootstrap. Bad curve files raise
    :class:`hwsim.errors.HwsimError`; a model no source covers gets ``provenance="unknown"``.
    """
    if curve is not None:
        from hwsim.accuracy.curves import load_user_curve, user_curve_accuracy

        return user_curve_accuracy(model, load_user_curve(curve))
    src = model.accuracy
    if src is None:
        return unknown(f"no accuracy source for {model.name}: its model file names none "
                       "(accuracy: {measured | literature | csv}) and no --accuracy-curve "
                       "was given")
    from hwsim.config.model import (
        CurveAccuracySource,
        LiteratureAccuracySource,
        MeasuredAccuracySource,
    )

    if isinstance(src, MeasuredAccuracySource):
        return _measured(model, seed)
    if isinstance(src, LiteratureAccuracySource):
        from hwsim.accuracy.literature import curve_accuracy, load_curve

        return curve_accuracy(model, load_curve(src.literature))
    if isinstance(src, CurveAccuracySource):
        from hwsim.accuracy.curves import load_user_curve, user_curve_accuracy

        path = _model_dir(model) / src.csv
        user = load_user_curve(path, metric=src.metric, source=src.source)
        return user_curve_accuracy(model, user)
    return unknown(f"no accuracy provider for source {type(src).__name__} of {model.name}")


def measured_available() -> bool:
    """Whether the measured provider (issue 7 section 1) is installed."""
    return importlib.util.find_spec(MEASURED_MODULE) is not None


# Measured accuracy is a real evaluation with a bootstrap (20-130 ms); a study or a claim run
# asks for the same model and sparsity on every chip. The content hash covers the ops and their
# sparsity specs, and the weights are fixed files, so equal keys give equal answers.
_MEASURED_CACHE: dict[tuple[str, int], Accuracy] = {}
_MEASURED_CACHE_SIZE = 256


def _measured(model: Model, seed: int) -> Accuracy:
    key = (model.content_hash, seed)
    if model.content_hash and key in _MEASURED_CACHE:
        return _MEASURED_CACHE[key]
    value = _measure(model, seed)
    if model.content_hash:
        if len(_MEASURED_CACHE) >= _MEASURED_CACHE_SIZE:
            _MEASURED_CACHE.pop(next(iter(_MEASURED_CACHE)))  # oldest first
        _MEASURED_CACHE[key] = value
    return value


def _measure(model: Model, seed: int) -> Accuracy:
    try:
        measured = importlib.import_module(MEASURED_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != MEASURED_MODULE:  # a dependency of the provider is missing: a real bug
            raise
        return unknown(f"the measured accuracy provider is unavailable ({MEASURED_MODULE} is "
                       f"not installed), so {model.name} has no measured accuracy yet")
    return measured.measured_accuracy(model, seed=seed)


def _model_dir(model: Model) -> Path:
    """The folder of the model's YAML file (its ``origin``, minus any override suffix); the
    working directory for models that did not come from a file."""
    origin = Path(model.origin.split(" (with ", 1)[0])
    if origin.suffix.lower() in (".yaml", ".yml") and origin.is_file():
        return origin.parent
    return Path.cwd()
