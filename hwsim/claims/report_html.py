"""The claims report as one self-contained HTML file: plotly's JavaScript inlined once (no CDN),
a summary table, and per claim its figures table, sensitivity table and two kinds of figure -
every scenario's metric against the claimed number, and energy vs density per chip kind with the
crossover where sparsity stops paying."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from hwsim.claims.report_text import fmt_value, verdict_text
from hwsim.errors import input_error

COLOURS = {"holds": "#1a7f37", "holds_only_if": "#9a6700", "does_not_hold": "#cf222e",
           "unverified": "#57606a"}
STYLE = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;color:#1f2328}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #d0d7de;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f6f8fa}.v{font-weight:bold;color:#fff;
padding:2px 8px;border-radius:4px}small{color:#57606a}"""


def write_html(report: dict[str, Any], path: Path) -> None:
    if not path.parent.is_dir():
        raise input_error(str(path), "output folder does not exist", field="--html")
    path.write_text(render(report), encoding="utf-8")


def render(report: dict[str, Any]) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>hwsim claims report"
             f"</title><style>{STYLE}</style></head><body><h1>Sparse-activation claims, tested"
             f" by hwsim</h1><p><small>hwsim {_e(report['hwsim_version'])}, "
             f"{_e(report['fidelity'])} fidelity, {report['simulate_calls']} simulations. "
             "Verdicts follow from hwsim's own numbers by the rules in hwsim/claims/verdict.py: "
             "holds = met at every simulated point; holds only if = met on the named subset; "
             "does not hold = met nowhere.</small></p>", _summary(report)]
    first = True
    n = 0
    for c in report["claims"]:
        parts.append(_claim(c))
        for fig in _figures(c):
            n += 1
            # A fixed div id per figure: the same report is the same file (plotly's default is
            # a random UUID).
            parts.append(pio.to_html(fig, include_plotlyjs=first, full_html=False,
                                     config={"displaylogo": False},
                                     div_id=f"fig-{n}"))
            first = False
    parts.append("</body></html>")
    return "\n".join(parts)


def _e(x: object) -> str:
    return html.escape(str(x))


def _badge(verdict: str) -> str:
    return (f"<span class='v' style='background:{COLOURS.get(verdict, '#57606a')}'>"
            f"{_e(verdict_text(verdict))}</span>")


def _summary(report: dict[str, Any]) -> str:
    rows = "".join(f"<tr><td><a href='#{_e(c['id'])}'>{_e(c['id'])}</a></td><td>"
                   f"{_e(c['title'])}</td><td>{_badge(c['verdict'])}</td><td>"
                   f"{_e('; '.join(c['conditions']))}</td></tr>" for c in report["claims"])
    return ("<table><tr><th>claim</th><th>title</th><th>verdict</th><th>only if</th></tr>"
            f"{rows}</table>")


def _claim(c: dict[str, Any]) -> str:
    from hwsim.claims.report_text import figure_cells

    sim = c["simulated"]
    out = [f"<h2 id='{_e(c['id'])}'>{_e(c['title'])} {_badge(c['verdict'])}</h2>",
           f"<p>{_e(c['claim'])}</p><p><small>source: {_e(c['source'])}</small></p>",
           "<p><b>Claimed figures:</b> " + "; ".join(_e(f) for f in c["claimed_figures"])
           + "</p>", "<p><b>Conditions the claim implies:</b></p><ul>"
           + "".join(f"<li>{_e(x)}</li>" for x in c["implied_conditions"]) + "</ul>",
           f"<p><b>Simulated:</b> models {_e(', '.join(sim['models']))}; chips "
           f"{_e(', '.join(sim['chips']))}; batch {_e(sim['batch'])}; seq {_e(sim['seq'])}; "
           f"densities {_e(sim['densities'])}; modes {_e(sim['modes'])}; "
           f"{_e(sim['fidelity'])} fidelity.</p>",
           "<table><tr><th>figure</th><th>claimed</th><th>hwsim</th><th>verdict</th>"
           "<th>how the words were read</th></tr>"]
    for f in c["figures"]:
        cells = figure_cells(f)
        out.append("<tr>" + "".join(f"<td>{_e(x)}</td>" for x in cells)
                   + f"<td><small>{_e(f['reading'])}</small>{_accuracy_note(f)}</td></tr>")
    out.append("</table>")
    if c["sensitivity"]:
        out.append("<p><b>Sensitivity</b> (one thing changed, check re-simulated):</p><table>"
                   "<tr><th>change</th><th>check</th><th>verdict before</th><th>after</th>"
                   "</tr>")
        for s in c["sensitivity"]:
            after = "; ".join(f"{v['value']}: {verdict_text(v['verdict'])}"
                              for v in s["variants"])
            flag = " <b>(flips)</b>" if s["flips"] else ""
            out.append(f"<tr><td>{_e(s['label'])}{flag}</td><td>{_e(s['check'])}</td><td>"
                       f"{_e(verdict_text(s['base_verdict']))}</td><td>{_e(after)}</td></tr>")
        out.append("</table>")
    return "\n".join(out)


def _accuracy_note(f: dict[str, Any]) -> str:
    if f["metric"] != "accuracy_retained":
        return ""
    p = f["points"][0] if f["points"] else {}
    notes = [f"{k}: {a.get('provenance')} - {a.get('source')}{_dense_note(a)}" for k in
             ("candidate_accuracy", "baseline_accuracy") if isinstance(a := p.get(k), dict)]
    status = f.get("claimed_status", "")
    return "<br><small>" + _e(status + ". " + " | ".join(notes)) + "</small>"


def _dense_note(a: dict[str, Any]) -> str:
    """The accuracy lost relative to the dense twin, where the provider knows the twin."""
    if a.get("loss_vs_dense") is None:
        return ""
    return (f"; loss vs dense twin {a['loss_vs_dense']:.4g} (dense {a['dense_value']:.4g}: "
            f"{a.get('dense_source', '')})")


def _figures(c: dict[str, Any]) -> list[go.Figure]:
    figs = [_check_figure(c["id"], f) for f in c["figures"] if f["simulated_min"] is not None]
    if c.get("sweep"):
        figs.append(_sweep_figure(c["id"], c["sweep"]))
    return figs


def _label(p: dict[str, Any]) -> str:
    parts = [p["chip"], f"b{p['batch']}"]
    if p.get("seq") is not None:
        parts.append(f"seq {p['seq']}")
    if p.get("density") is not None:
        parts.append(f"d {p['density']:g}")
    return " ".join(parts)


def _check_figure(claim_id: str, f: dict[str, Any]) -> go.Figure:
    pts = [p for p in f["points"] if p["value"] is not None]
    fig = go.Figure(go.Bar(
        x=[_label(p) for p in pts], y=[p["value"] for p in pts],
        marker_color=[COLOURS["holds"] if p["met"] else COLOURS["does_not_hold"] for p in pts],
        hovertext=[fmt_value(p["value"], f["unit"]) for p in pts]))
    claimed = fmt_value(f["claimed"], f["unit"])
    fig.add_hline(y=f["claimed"], line_dash="dash", annotation_text=f"claimed {claimed}")
    fig.update_layout(title=f"{claim_id} / {f['check']}: {f['metric']} per scenario (green = "
                      "meets the claim)", height=380, margin={"t": 50, "b": 120},
                      yaxis_type="log" if f["unit"] == "x" else "linear",
                      yaxis_title=f"{f['metric']} ({f['unit']})")
    return fig


def _sweep_figure(claim_id: str, sweep: dict[str, Any]) -> go.Figure:
    kinds = sorted({s["chip_kind"] for s in sweep["series"]})
    fig = make_subplots(rows=1, cols=len(kinds), subplot_titles=kinds, shared_yaxes=True)
    for col, kind in enumerate(kinds, start=1):
        for s in (s for s in sweep["series"] if s["chip_kind"] == kind):
            xs = [p["density"] for p in s["points"]]
            ys = [p["energy_ratio"] for p in s["points"]]
            pays = "never" if s["pays_below"] is None else f"<= {s['pays_below']:g}"
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers",
                                     name=f"{s['chip']} b{s['batch']} (pays at d {pays})"),
                          row=1, col=col)
        fig.add_hline(y=1.0, line_dash="dot", row=1, col=col)
        if sweep["target_ratio"]:
            fig.add_hline(y=sweep["target_ratio"], line_dash="dash", line_color="red",
                          row=1, col=col)
    fig.update_yaxes(type="log", title_text="energy sparse / dense")
    fig.update_xaxes(title_text=f"density of {', '.join(sweep['globs'])}")
    fig.update_layout(title=f"{claim_id}: energy vs density per chip kind ({sweep['workload']});"
                      " above the dotted line sparsity costs more than dense; red dashed = the "
                      "claim's ratio", height=450)
    return fig
