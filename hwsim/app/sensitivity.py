"""Sensitivity: a tornado chart of which chip fields and workload parameters move latency,
energy and area for the selected chip and model (``hwsim sensitivity``'s elasticities: +1 means
1 % more of the field gives 1 % more of the metric)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hwsim.app import charts, compute, page
from hwsim.errors import HwsimError

METRICS = ("latency_s", "energy_j", "area_mm2")


def table(doc: dict) -> pd.DataFrame:
    """One row per field: its value and its three elasticities (the CLI's table)."""
    return pd.DataFrame([{"field": r["field"], "value": r["value"],
                          **{m: r["elasticity"][m] for m in METRICS}}
                         for r in doc["sensitivity"]])


def render() -> None:
    design = page.design_or_stop()
    st.title("Sensitivity")
    page.header(design)
    labels = [c.label for c in design.chips]
    if st.session_state.get("sens_chip") not in labels:
        st.session_state["sens_chip"] = labels[0]
    a, b, c = st.columns([2, 1, 1])
    label = a.selectbox("chip", labels, key="sens_chip")
    metric = b.selectbox("metric", METRICS, key="sens_metric")
    step = c.select_slider("step", options=[0.01, 0.05, 0.1, 0.2], value=0.1, key="sens_step")
    chip = design.chips[labels.index(label)]
    try:
        with st.spinner("perturbing every field..."):
            doc = compute.elasticities(design.model, chip.preset, chip.overrides,
                                       design.sparsity, design.batch, float(step))
    except HwsimError as exc:
        st.error(str(exc))
        return
    st.caption(f"Analytic fidelity. Each field simulated at x(1 ± {step:g}); elasticity = "
               "d ln(metric) / d ln(field). Red: more of the field costs more; blue: less.")
    st.plotly_chart(charts.tornado(doc["sensitivity"], metric), key="tornado")
    st.dataframe(table(doc), hide_index=True, key="sens_table")
    if doc["skipped"]:
        with st.expander(f"{len(doc['skipped'])} fields skipped"):
            for s in doc["skipped"]:
                st.write(f"`{s['field']}`: {s['reason']}")


if __name__ == "__main__":
    render()
