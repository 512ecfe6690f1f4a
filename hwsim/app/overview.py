"""Overview: one card per chip (latency, energy per inference, the factor vs the dense twin,
accuracy with provenance, area), deltas against the first chip, and the same numbers as a table."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from hwsim.app import fmt, page


def table(runs: list[page.ChipRun]) -> pd.DataFrame:
    """The cards' numbers in SI units, one row per chip (what the tests compare exactly)."""
    rows: list[dict[str, Any]] = []
    for run in runs:
        r = run.result
        acc = page.accuracy_view(r)
        vs = r.vs_dense or {}
        rows.append({
            "chip": run.chip.label, "kind": r.chip_kind, "latency_s": r.total.latency_s,
            "energy_j": r.total.energy_j,
            "energy_vs_dense": vs.get("energy_ratio"), "latency_vs_dense": vs.get("latency_ratio"),
            "offchip_bytes_vs_dense": vs.get("dram_bytes_ratio"),
            "area_mm2": r.total.area_mm2, "utilization": r.total.utilization,
            "macs": r.total.macs, "accuracy": acc.raw, "accuracy_provenance": acc.provenance,
        })
    return pd.DataFrame(rows)


def render() -> None:
    design = page.design_or_stop()
    st.title("Overview")
    page.header(design)
    runs = page.show_errors(page.run_all(design))
    if not runs:
        return
    base = runs[0].result
    for col, run in zip(st.columns(len(runs)), runs, strict=True):
        with col, st.container(border=True, key=f"card-{run.chip.preset}"):
            _card(run, base if run is not runs[0] else None)
    st.subheader("Side by side")
    st.dataframe(table(runs), hide_index=True, key="overview_table")


def _card(run: page.ChipRun, base: Any | None) -> None:
    r = run.result
    st.markdown(f"#### {run.chip.label}")
    st.caption(f"{r.chip_kind} · {r.clock_hz / 1e6:g} MHz · {r.total.macs:,} MACs")

    def delta(value: float, ref: float) -> str | None:
        return fmt.delta_pct(value, ref) if base is not None else None

    st.metric("Latency", fmt.seconds(r.total.latency_s),
              delta(r.total.latency_s, base.total.latency_s if base else 0.0),
              delta_color="inverse")
    st.metric("Energy / inference", fmt.joules(r.total.energy_j),
              delta(r.total.energy_j, base.total.energy_j if base else 0.0),
              delta_color="inverse")
    if r.vs_dense is not None and r.dense_total is not None:
        st.metric("Energy vs dense twin", fmt.ratio(r.vs_dense["energy_ratio"]),
                  help=f"dense twin: {fmt.joules(r.dense_total.energy_j)}, "
                  f"{fmt.seconds(r.dense_total.latency_s)}; latency ratio "
                  f"{fmt.ratio(r.vs_dense['latency_ratio'])}")
    acc = page.accuracy_view(r)
    st.metric(acc.label, acc.value, help=acc.detail or None)
    st.caption(acc.caption)
    st.metric("Area", fmt.area(r.total.area_mm2),
              delta(r.total.area_mm2, base.total.area_mm2 if base else 0.0)
              if r.total.area_mm2 and (base is None or base.total.area_mm2) else None,
              delta_color="inverse")


if __name__ == "__main__":
    render()
