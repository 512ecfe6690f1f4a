"""Breakdown: where the energy goes (stacked by component, sparse vs dense twin), which ops take
the time and what bounds each, and the roofline with every op placed on it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hwsim.app import charts, compute, page
from hwsim.app.roofline import roofline

OP_COLUMNS = ["name", "kind", "macs", "latency_s", "energy_j", "bottleneck", "utilization",
              "cycles", "stall_cycles"]


def op_table(result: object) -> pd.DataFrame:
    """Per-op rows straight from ``Result.to_dataframe()`` (the CLI's CSV columns)."""
    df = result.to_dataframe()  # type: ignore[attr-defined]
    return df[[c for c in OP_COLUMNS if c in df.columns]]


def render() -> None:
    design = page.design_or_stop()
    st.title("Breakdown")
    page.header(design)
    runs = page.show_errors(page.run_all(design))
    if not runs:
        return
    st.plotly_chart(charts.energy_stack([(r.chip.label, r.result) for r in runs]),
                    key="energy_stack")
    run = page.pick_chip(runs, "breakdown_chip")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(charts.latency_by_op(run.result), key="latency_by_op")
    with right:
        chip = compute.chip_object(run.chip.preset, run.chip.overrides)
        roof = roofline(chip, compute.model_dtype(design.model))
        st.plotly_chart(charts.roofline_figure(run.result, roof), key="roofline")
        st.caption(f"Roofs from the chip's fields: compute {roof.peak_macs_per_s:.3g} MAC/s "
                   f"({roof.peak_source}); memory {roof.bw_bytes_per_s:.3g} B/s "
                   f"({roof.bw_source}); ridge at {roof.ridge_macs_per_byte:.3g} MACs/B. "
                   "Ops with MACs are placed at their simulated rate.")
    st.subheader(f"Ops on {run.chip.label}")
    st.dataframe(op_table(run.result), hide_index=True, key="op_table")


if __name__ == "__main__":
    render()
