"""What every page starts with: the sidebar's design, its results per chip, and the optional
parts of hwsim (accuracy, studies, claims) that may not be installed in this checkout yet."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import streamlit as st

from hwsim.app import compute, fmt
from hwsim.app.design import ChipChoice, Design
from hwsim.errors import HwsimError


@dataclass(frozen=True)
class ChipRun:
    chip: ChipChoice
    result: Any | None  # hwsim Result, or None when the simulation raised
    error: str = ""


def design_or_stop() -> Design:
    """The sidebar's design; stops the page with a message when there is none."""
    design = st.session_state.get("design")
    if design is None:
        st.info("Choose a model in the sidebar.")
        st.stop()
    if not design.chips:
        st.info("Choose at least one chip in the sidebar.")
        st.stop()
    return design


def header(design: Design) -> None:
    spars = ", ".join(design.sparsity) if design.sparsity else "as defined in the model"
    st.caption(f"**{design.model_label}** · batch {design.batch} · {design.fidelity} fidelity · "
               f"sparsity: {spars}")


def run_all(design: Design) -> list[ChipRun]:
    """One simulation per chip; a chip whose inputs are invalid gets its error, not a crash."""
    runs = []
    with st.spinner("simulating..."):
        for chip in design.chips:
            try:
                runs.append(ChipRun(chip, compute.simulate_design(design, chip)))
            except HwsimError as exc:
                runs.append(ChipRun(chip, None, str(exc)))
            except Exception as exc:  # an engine bug: say which chip, keep the others
                runs.append(ChipRun(chip, None, f"internal error ({type(exc).__name__}): {exc}"))
    return runs


def show_errors(runs: list[ChipRun]) -> list[ChipRun]:
    """Print each failed chip's error; the runs that worked."""
    for run in runs:
        if run.result is None:
            st.error(f"{run.chip.label}: {run.error}")
    return [r for r in runs if r.result is not None]


def optional(module: str, attribute: str | None = None) -> Any | None:
    """``module`` (or one of its attributes) when this checkout has it, else None."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    return mod if attribute is None else getattr(mod, attribute, None)


@dataclass(frozen=True)
class AccuracyView:
    value: str
    label: str
    caption: str
    detail: str  # the full source and notes (tooltip)
    raw: float | None
    provenance: str


def accuracy_view(result: Any) -> AccuracyView:
    """The accuracy card: a value only with its provenance; "unknown" with the reason."""
    if not hasattr(result, "accuracy"):
        return AccuracyView("not available yet", "Accuracy", "hwsim's accuracy providers are "
                            "not in this checkout yet", "", None, "unavailable")
    acc = result.accuracy
    if acc is None or acc.value is None or acc.provenance == "unknown":
        reason = acc.source if acc is not None else "no accuracy source for this model"
        return AccuracyView("unknown", "Accuracy", "provenance: unknown (no accuracy source)",
                            reason, None, "unknown")
    ci = f", 95 % CI {fmt.accuracy_value(acc.ci[0], acc.metric)}–" \
         f"{fmt.accuracy_value(acc.ci[1], acc.metric)}" if acc.ci else ""
    extra = " (outside the source's densities)" if getattr(acc, "extrapolated", False) else ""
    short = acc.source if len(acc.source) <= 90 else acc.source[:87] + "..."
    notes = getattr(acc, "notes", "")
    return AccuracyView(fmt.accuracy_value(acc.value, acc.metric), f"Accuracy ({acc.metric})",
                        f"provenance: {acc.provenance}{extra}{ci} — {short}",
                        acc.source + (f"\n\nNotes: {notes}" if notes else ""), float(acc.value),
                        acc.provenance)


def pick_chip(runs: list[ChipRun], key: str) -> ChipRun:
    labels = [r.chip.label for r in runs]
    if st.session_state.get(key) not in labels:
        st.session_state[key] = labels[0]
    label = st.selectbox("chip", labels, key=key)
    return runs[labels.index(label)]
