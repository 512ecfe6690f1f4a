"""Accuracy for claim checks, only from hwsim's accuracy providers and with their provenance.

The providers (``hwsim.accuracy.accuracy_of``) are looked up when called, so a build without
them still runs every energy/latency check and says plainly that accuracy is unverified. No
accuracy number is made up here: a claim's own figure is shown as "claimed, not verified".
"""

from __future__ import annotations

import importlib
from typing import Any

from hwsim.errors import HwsimError
from hwsim.workload.model import Model

NO_PROVIDER = "hwsim has no accuracy provider in this build (hwsim.accuracy.accuracy_of)"
HONEST = ("measured", "literature", "user")


def accuracy_of(model: Model) -> dict[str, Any]:
    """The provider's answer as a dict (value, metric, provenance, source, ...); provenance
    ``unknown`` with the reason when there is no honest source."""
    try:
        module = importlib.import_module("hwsim.accuracy")
    except ImportError:
        return _unknown(NO_PROVIDER)
    provider = getattr(module, "accuracy_of", None)
    if provider is None:
        return _unknown(NO_PROVIDER)
    try:
        acc = provider(model)
    except HwsimError as exc:
        return _unknown(f"the accuracy provider refused {model.name}: {exc.summary}")
    to_dict = getattr(acc, "to_dict", None)
    return dict(to_dict()) if to_dict else _unknown(f"unexpected provider answer {acc!r}")


def retained(candidate: dict[str, Any], baseline: dict[str, Any]) -> float | None:
    """candidate / baseline accuracy when both have an honest value in the same metric (higher
    is better); None otherwise."""
    ok = all(a.get("provenance") in HONEST and a.get("value") is not None
             for a in (candidate, baseline))
    if not ok or candidate.get("metric") != baseline.get("metric"):
        return None
    if "perplexity" in str(candidate.get("metric")) or not baseline["value"]:
        return None  # lower-is-better metrics have no "fraction retained"
    return float(candidate["value"]) / float(baseline["value"])


def _unknown(reason: str) -> dict[str, Any]:
    return {"value": None, "metric": "unknown", "provenance": "unknown", "source": reason,
            "ci": None}
