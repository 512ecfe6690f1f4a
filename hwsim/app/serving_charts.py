"""Plotly figures of the Serving page, drawn from ``serve_tokens`` documents only: the KV-cache
occupancy over time, and energy per token and TTFT p90 against the arrival rate."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from hwsim.app.charts import _layout


def kv_occupancy(doc: dict[str, Any]) -> go.Figure:
    """Fraction of KV blocks in use over the run (the document's down-sampled series)."""
    series = doc["kv_cache"]["occupancy_series"]
    fig = go.Figure(go.Scatter(x=[t for t, _ in series], y=[f * 100 for _, f in series],
                               mode="lines", name="KV blocks in use",
                               hovertemplate="t %{x:.2f} s: %{y:.1f} %<extra></extra>"))
    fig.update_layout(xaxis_title="time (s)", yaxis_title="KV cache in use (%)",
                      yaxis_range=[0, max(5.0, doc["kv_cache"]["occupancy_max"] * 110)])
    return _layout(fig, f"KV-cache occupancy ({doc['kv_cache']['tokens']:,} tokens capacity)")


def versus_rate(points: list[tuple[float, dict[str, Any]]]) -> go.Figure:
    """Energy per output token (left axis, mJ) and TTFT p90 (right axis, ms) per rate."""
    rates = [r for r, _ in points]
    fig = go.Figure()
    fig.add_scatter(x=rates, y=[d["energy_j_per_token"] * 1e3 for _, d in points],
                    mode="lines+markers", name="energy per token (mJ)",
                    hovertemplate="%{x} req/s: %{y:.4g} mJ<extra></extra>")
    fig.add_scatter(x=rates, y=[d["ttft_s"]["p90"] * 1e3 for _, d in points], yaxis="y2",
                    mode="lines+markers", name="TTFT p90 (ms)",
                    hovertemplate="%{x} req/s: %{y:.4g} ms<extra></extra>")
    fig.update_layout(xaxis_title="arrival rate (requests/s)", xaxis_type="log",
                      yaxis_title="energy per output token (mJ)",
                      yaxis2={"title": "TTFT p90 (ms)", "overlaying": "y", "side": "right"})
    return _layout(fig, "Energy per token and TTFT p90 vs rate")
