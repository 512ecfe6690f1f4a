"""The Serving page's only way to get numbers: :func:`hwsim.serving.serve_tokens` behind
``st.cache_data`` (hashable inputs: preset names, length specs, ``--sparsity`` strings, the
parallel settings as a sorted tuple), returning its ``to_dict()`` document — the same document
``hwsim serve --json`` prints for the same inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st
import yaml

from hwsim.errors import HwsimError


@dataclass(frozen=True)
class ServeInputs:
    """One serving run as the page's widgets describe it (every field is hashable)."""

    chip: str
    model: str
    rate_per_s: float
    duration_s: float
    prompt_tokens: int | str
    output_tokens: int | str
    max_num_seqs: int
    max_batched_tokens: int
    parallel: tuple[tuple[str, int], ...] = ()  # (("ep", 1), ("pp", 1), ("tp", 2)); () = none
    sparsity: tuple[str, ...] = ()
    slo_ttft_s: float | None = None
    slo_tpot_s: float | None = None
    seed: int = 0

    def with_rate(self, rate_per_s: float) -> ServeInputs:
        from dataclasses import replace

        return replace(self, rate_per_s=rate_per_s)

    def kwargs(self) -> dict[str, Any]:
        """``serve_tokens`` keyword arguments (``parallel`` only when one is set)."""
        kw: dict[str, Any] = {
            "rate_per_s": self.rate_per_s, "duration_s": self.duration_s,
            "prompt_tokens": self.prompt_tokens, "output_tokens": self.output_tokens,
            "max_num_seqs": self.max_num_seqs, "max_batched_tokens": self.max_batched_tokens,
            "sparsity": list(self.sparsity) or None, "slo_ttft_s": self.slo_ttft_s,
            "slo_tpot_s": self.slo_tpot_s, "seed": self.seed}
        if self.parallel:
            kw["parallel"] = dict(self.parallel)
        return kw


@st.cache_data(max_entries=256, show_spinner=False)
def serve(inputs: ServeInputs) -> dict[str, Any]:
    """``serve_tokens(...).to_dict()`` for the page's inputs."""
    from hwsim.serving import serve_tokens

    return serve_tokens(inputs.model, inputs.chip, **inputs.kwargs()).to_dict()


def rate_sweep(inputs: ServeInputs, rates: tuple[float, ...]) -> list[tuple[float, Any]]:
    """(rate, document or the error text) at each rate; every run is its own cache entry."""
    out: list[tuple[float, Any]] = []
    for rate in rates:
        try:
            out.append((rate, serve(inputs.with_rate(rate))))
        except HwsimError as exc:
            out.append((rate, str(exc)))
    return out


@st.cache_data(show_spinner=False)
def decoder_presets() -> list[str]:
    """Model presets built as causal transformers with an LM head (a vocabulary): the decoder
    models ``serve_tokens`` serves token by token. Read from the preset files, not built (a
    build costs ~0.5 s per model); a preset that still is not a decoder gets serve_tokens's
    own error on the page."""
    from hwsim.presets import list_presets

    names = []
    for p in list_presets("models"):
        try:
            doc = yaml.safe_load(p.path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        b = doc.get("builder") if isinstance(doc, dict) else None
        if isinstance(b, dict) and b.get("kind") == "transformer" and b.get("causal") \
                and b.get("vocab"):
            names.append(p.name)
    return names
