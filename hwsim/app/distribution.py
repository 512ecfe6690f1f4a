"""Distribution: per-input latency and energy at cycle fidelity — each input draws its own masks
and its density from the sparsity's per-input spread — with p50/p90/p99 marked.

The percentiles are the same ones ``hwsim simulate --fidelity cycle --samples N --seed S``
prints (hwsim.engine.sampling.percentiles over the same seeded rows)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hwsim.app import charts, compute, fmt, page
from hwsim.errors import HwsimError


def percentile_table(rows: object) -> pd.DataFrame:
    from hwsim.engine.sampling import percentiles

    lat = percentiles(rows[:, 0])  # type: ignore[index]
    energy = percentiles(rows[:, 1])  # type: ignore[index]
    return pd.DataFrame([{"stat": k, "latency_s": lat[k], "energy_j": energy[k]}
                         for k in ("p50", "p90", "p99", "max", "mean")])


def render() -> None:
    design = page.design_or_stop()
    st.title("Distribution")
    page.header(design)
    st.caption("Cycle fidelity, whatever the sidebar's fidelity: the spread comes from realised "
               "masks and each input's density draw.")
    labels = [c.label for c in design.chips]
    if st.session_state.get("dist_chip") not in labels:
        st.session_state["dist_chip"] = labels[0]
    a, b, c = st.columns([2, 1, 1])
    label = a.selectbox("chip", labels, key="dist_chip")
    samples = b.number_input("inputs (samples)", min_value=10, max_value=2000, value=100,
                             step=10, key="dist_samples")
    seed = c.number_input("seed", min_value=0, value=0, step=1, key="dist_seed")
    chip = design.chips[labels.index(label)]
    if not any("variability" in s for s in design.sparsity):
        st.info("The sparsity has no per-input spread (std 0): inputs differ only in their "
                "realised masks. Raise 'density spread across inputs' in the sidebar.")
    try:
        with st.spinner(f"simulating {samples} inputs at cycle fidelity..."):
            rows = compute.sample_rows(design.model, chip.preset, chip.overrides,
                                       design.sparsity, design.batch, int(samples), int(seed))
    except HwsimError as exc:
        st.error(str(exc))
        return
    except Exception as exc:  # e.g. a chip kind whose cycle engine is not in this checkout
        st.error(f"{chip.label}: cycle fidelity failed ({type(exc).__name__}: {exc})")
        return
    table = percentile_table(rows)
    stats = table.set_index("stat")
    cols = st.columns(4)
    cols[0].metric("latency p50", fmt.seconds(stats.loc["p50", "latency_s"]))
    cols[1].metric("latency p99", fmt.seconds(stats.loc["p99", "latency_s"]))
    cols[2].metric("energy p50", fmt.joules(stats.loc["p50", "energy_j"]))
    cols[3].metric("energy p99", fmt.joules(stats.loc["p99", "energy_j"]))
    marks_lat = {k: stats.loc[k, "latency_s"] for k in ("p50", "p99")}
    marks_e = {k: stats.loc[k, "energy_j"] for k in ("p50", "p99")}
    left, right = st.columns(2)
    left.plotly_chart(charts.histogram(rows[:, 0], 1e3, "latency (ms)",
                                       f"Latency over {samples} inputs", marks_lat),
                      key="hist_latency")
    right.plotly_chart(charts.histogram(rows[:, 1], 1e3, "energy (mJ)",
                                        f"Energy over {samples} inputs", marks_e),
                       key="hist_energy")
    st.dataframe(table, hide_index=True, key="dist_table")


if __name__ == "__main__":
    render()
