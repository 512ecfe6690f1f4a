"""Plotly figures built from Results (no numbers of their own): energy stacks, latency by op,
the roofline, the Pareto scatter and the sample histograms."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hwsim.app.roofline import Roofline, op_points

BOTTLENECK_COLORS = {  # one colour per unit/level that can bound an op, stable across charts
    "array": "#1f77b4", "compute": "#1f77b4", "tensor": "#1f77b4", "core": "#1f77b4",
    "npu": "#17becf", "offchip": "#d62728", "flash": "#d62728", "weight_memory": "#d62728",
    "vector_unit": "#2ca02c", "cuda": "#2ca02c", "router_unit": "#9467bd", "launch": "#7f7f7f",
    "l2": "#ff7f0e", "smem": "#bcbd22", "sram": "#ff7f0e",
}


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(title=title, height=height, margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      legend={"orientation": "h", "y": -0.2})
    return fig


def unit_for(largest: float, unit: str) -> tuple[float, str]:
    """(multiplier, label) so the largest value reads between 1 and 1000: J -> mJ, µJ, nJ."""
    for scale, prefix in ((1.0, ""), (1e3, "m"), (1e6, "µ"), (1e9, "n")):
        if largest * scale >= 1.0:
            return scale, prefix + unit
    return 1e12, "p" + unit


def energy_stack(named: list[tuple[str, Any]]) -> go.Figure:
    """Stacked bars of energy by component: each chip's sparse run and its dense twin."""
    bars: list[tuple[str, dict[str, float]]] = []
    for label, r in named:
        bars.append((f"{label}<br>sparse", r.total.energy_breakdown_j))
        if r.dense_total is not None:
            bars.append((f"{label}<br>dense twin", r.dense_total.energy_breakdown_j))
    components: list[str] = []
    for _, breakdown in bars:
        components += [c for c in breakdown if c not in components]
    scale, unit = unit_for(max((sum(b[1].values()) for b in bars), default=0.0), "J")
    fig = go.Figure()
    for comp in components:
        fig.add_bar(name=comp, x=[b[0] for b in bars],
                    y=[b[1].get(comp, 0.0) * scale for b in bars],
                    hovertemplate=f"{comp}: %{{y:.4g}} {unit}<extra></extra>")
    fig.update_layout(barmode="stack", yaxis_title=f"energy per inference ({unit})")
    return _layout(fig, "Energy by component")


def op_group(name: str) -> str:
    """``layer3.ffn_down`` -> ``ffn_down``: the same op across layers, summed."""
    return name.rsplit(".", 1)[1] if "." in name else name


def latency_by_op(result: Any) -> go.Figure:
    """Latency summed per op type (across layers), split by the bottleneck that bounds it."""
    sums: dict[tuple[str, str], float] = defaultdict(float)
    order: list[str] = []
    for op in result.ops:
        group = op_group(op.name)
        if group not in order:
            order.append(group)
        sums[(group, op.bottleneck)] += op.latency_s
    per_group: dict[str, float] = defaultdict(float)
    for (group, _), value in sums.items():
        per_group[group] += value
    scale, unit = unit_for(max(per_group.values(), default=0.0), "s")
    fig = go.Figure()
    for neck in sorted({b for _, b in sums}):
        fig.add_bar(name=neck, x=order, y=[sums.get((g, neck), 0.0) * scale for g in order],
                    marker_color=BOTTLENECK_COLORS.get(neck),
                    hovertemplate=f"%{{x}} bound by {neck}: %{{y:.4g}} {unit}<extra></extra>")
    fig.update_layout(barmode="stack", yaxis_title=f"latency ({unit}, summed over layers)",
                      legend_title_text="bottleneck")
    return _layout(fig, f"Latency by op — {result.chip}")


def roofline_figure(result: Any, roof: Roofline) -> go.Figure:
    """Log-log roofline: min(peak, bandwidth x intensity) and the ops at their achieved rate."""
    pts = pd.DataFrame(op_points(result, roof.byte_level))
    lo, hi = roof.ridge_macs_per_byte / 1e3, roof.ridge_macs_per_byte * 1e3
    if not pts.empty:
        lo = min(lo, float(pts["intensity_macs_per_byte"].min()) / 2)
        hi = max(hi, float(pts["intensity_macs_per_byte"].max()) * 2)
    xs = np.geomspace(lo, hi, 200)
    fig = go.Figure()
    fig.add_scatter(x=xs, y=np.minimum(roof.peak_macs_per_s, roof.bw_bytes_per_s * xs),
                    mode="lines", name="roof", line={"color": "black", "width": 2},
                    hovertemplate="%{x:.3g} MACs/B: %{y:.3g} MAC/s<extra>roof</extra>")
    if not pts.empty:
        for neck, grp in pts.groupby("bottleneck", sort=True):
            fig.add_scatter(x=grp["intensity_macs_per_byte"], y=grp["achieved_macs_per_s"],
                            mode="markers", name=str(neck), text=grp["name"],
                            marker={"size": 8, "color": BOTTLENECK_COLORS.get(str(neck))},
                            hovertemplate="%{text}<br>%{x:.3g} MACs/B, %{y:.3g} MAC/s"
                            f"<extra>{neck}</extra>")
    fig.update_xaxes(type="log", title=f"arithmetic intensity (MACs per {roof.byte_level} byte)")
    fig.update_yaxes(type="log", title="MAC/s")
    return _layout(fig, f"Roofline — {result.chip}", height=420)


def pareto_scatter(df: pd.DataFrame, front: pd.DataFrame, color: str | None) -> go.Figure:
    """Energy vs latency of every feasible point, the Pareto front on top; ``customdata`` is the
    point id, so a selection maps back to a row."""
    fig = go.Figure()
    fig.add_scatter(x=df["latency_s"] * 1e3, y=df["energy_j"] * 1e3, mode="markers",
                    name="all points", customdata=df["point_id"],
                    marker={"size": 7, "color": "#c7c7c7"},
                    hovertemplate="%{x:.4g} ms, %{y:.4g} mJ<extra>%{customdata}</extra>")
    marker: dict[str, Any] = {"size": 12, "line": {"width": 1, "color": "black"}}
    if color is not None and front[color].notna().any():
        marker.update(color=front[color], colorscale="Viridis", showscale=True,
                      colorbar={"title": color})
    fig.add_scatter(x=front["latency_s"] * 1e3, y=front["energy_j"] * 1e3,
                    mode="markers+lines", name="Pareto front", customdata=front["point_id"],
                    marker=marker, line={"dash": "dot", "color": "black"},
                    hovertemplate="%{x:.4g} ms, %{y:.4g} mJ<extra>%{customdata}</extra>")
    fig.update_xaxes(type="log", title="latency (ms)")
    fig.update_yaxes(type="log", title="energy per inference (mJ)")
    return _layout(fig, "Energy vs latency (click a point to load it)", height=460)


def histogram(values: np.ndarray, unit_scale: float, unit: str, title: str,
              marks: dict[str, float]) -> go.Figure:
    """Histogram of per-input values with vertical lines at the given percentiles."""
    fig = go.Figure()
    fig.add_histogram(x=values * unit_scale, nbinsx=40, name="inputs",
                      marker_color="#1f77b4")
    for name, value in marks.items():
        fig.add_vline(x=value * unit_scale, line_dash="dash", annotation_text=name,
                      line_color="#d62728" if name == "p99" else "black")
    fig.update_xaxes(title=unit)
    fig.update_yaxes(title="inputs")
    return _layout(fig, title, height=340)


def tornado(rows: list[dict[str, Any]], metric: str, top: int = 15) -> go.Figure:
    """Horizontal bars of each field's elasticity of ``metric`` (``hwsim sensitivity``'s rows),
    largest magnitude on top; positive (more of the field costs more) red, negative blue."""
    kept = [r for r in rows if r["elasticity"].get(metric) is not None]
    kept = sorted(kept, key=lambda r: abs(r["elasticity"][metric]), reverse=True)[:top]
    kept.reverse()  # plotly draws the first bar at the bottom
    values = [r["elasticity"][metric] for r in kept]
    fig = go.Figure(go.Bar(
        x=values, y=[r["field"] for r in kept], orientation="h",
        marker_color=["#d62728" if v > 0 else "#1f77b4" for v in values],
        hovertemplate="%{y}: %{x:+.3f}<extra></extra>"))
    fig.update_layout(xaxis_title=f"elasticity of {metric} (d ln {metric} / d ln field)")
    return _layout(fig, f"Sensitivity of {metric}", height=max(300, 28 * len(kept) + 120))
