"""The accuracy value every front end shows: a number only with its provenance.

No accuracy in hwsim is invented: it is ``measured`` here on a real dataset, taken from the
``literature`` with its citation, supplied by the ``user`` as a curve file, or ``unknown``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Provenance = Literal["measured", "literature", "user", "unknown"]


@dataclass(frozen=True)
class Accuracy:
    value: float | None  # None when the provenance is "unknown"
    metric: str  # e.g. "top1_accuracy" (fraction 0-1), "perplexity", "accuracy_retained"
    provenance: Provenance
    source: str  # citation, data file, or how it was measured (dataset, split, seed)
    ci: tuple[float, float] | None = None  # 95 % bootstrap interval where measured
    extrapolated: bool = False  # outside the published / supplied range of densities
    density: float | None = None  # the activation density the value is for
    notes: str = ""
    # The same metric for the model's dense twin (same network trained and run without
    # sparsity) and where that number comes from; None where no dense twin is known.
    dense_value: float | None = None
    dense_source: str = ""

    @property
    def loss_vs_dense(self) -> float | None:
        """Accuracy lost relative to the dense twin (dense - this, in the metric's units;
        negative when the sparse model scores higher). None without both numbers."""
        if self.value is None or self.dense_value is None:
            return None
        return float(self.dense_value) - float(self.value)

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready values; ``dense_value``, ``dense_source`` and
        ``loss_vs_dense`` only where a dense twin is known (measured families)."""
        d = asdict(self)
        d["ci"] = list(self.ci) if self.ci is not None else None
        if self.dense_value is None:
            del d["dense_value"], d["dense_source"]
        else:
            d["loss_vs_dense"] = self.loss_vs_dense
        return d


def unknown(reason: str) -> Accuracy:
    """The honest answer when no source covers the model: no number, and why."""
    return Accuracy(value=None, metric="unknown", provenance="unknown", source=reason)
