"""The study report: one self-contained HTML file (plotly's script is embedded, no CDN) with
the study's inputs, Pareto plots, the best designs with their full configs, each objective's
sensitivity to each parameter, and the accuracy provenance of every point."""

from __future__ import annotations

import html
import itertools
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from hwsim import __version__
from hwsim.config.study_serving import SERVING_METRICS
from hwsim.study.design import design_of
from hwsim.study.pareto import pareto_front
from hwsim.study.sensitivity import sensitivity
from hwsim.study.spec import Study
from hwsim.study.store import read_meta, read_points

UNITS = {"latency_s": "s", "energy_j": "J", "area_mm2": "mm²", "edp": "J·s", "power_w": "W",
         "accuracy": "", **SERVING_METRICS}
# The headline figures of a point besides its objectives: one inference, or a serving run.
INFERENCE_METRICS = ["latency_s", "energy_j", "area_mm2"]
SERVING_HEADLINE = ["ttft_p90_s", "tpot_p50_s", "throughput_tokens_per_s", "energy_j_per_token"]
MAX_FRONT_ROWS = 25
CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1300px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0}td,th{border:1px solid #ccc;
padding:3px 6px;text-align:left;vertical-align:top}th{background:#f3f3f3}pre{background:#f7f7f7;
padding:.6em;font-size:12px;overflow:auto}details{margin:.2em 0}.note{color:#555}"""


def write_report(study: Study, store_path: str | Path, out_html: Path) -> Path:
    """Write the report of ``study`` from its store to ``out_html`` (atomically)."""
    import plotly.offline

    df = read_points(store_path)
    meta = read_meta(store_path)
    parts = [f"<h1>Study {_e(study.name)}</h1>",
             f"<p>{_e(study.doc.description)}</p>",
             f"<p class=note>hwsim {__version__}; store {_e(str(store_path))}; "
             f"{len(df)} points; study hash {_e(study.doc_hash)}</p>",
             _inputs(study, meta), _summary(df), _pareto(study, df), _best(study, df),
             _sensitivity(study, df), _accuracy(df)]
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>hwsim study "
            f"{_e(study.name)}</title><style>{CSS}</style><script>"
            f"{plotly.offline.get_plotlyjs()}</script></head><body>"
            + "\n".join(parts) + "</body></html>")
    out_html = Path(out_html)
    fd, tmp = tempfile.mkstemp(dir=out_html.parent or Path("."), prefix=f".{out_html.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(page)
    os.replace(tmp, out_html)
    return out_html


def _e(x: Any) -> str:
    return html.escape(str(x))


def _table(df: pd.DataFrame, max_rows: int | None = None) -> str:
    shown = df if max_rows is None else df.head(max_rows)
    head = "".join(f"<th>{_e(c)}</th>" for c in shown.columns)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>"
                   for row in shown.itertuples(index=False))
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}"
    return _e(v)


def _inputs(study: Study, meta: dict[str, Any]) -> str:
    doc = yaml.safe_dump(study.doc.model_dump(mode="json", exclude_defaults=False),
                         sort_keys=False)
    chips = pd.DataFrame([{"chip": c, "kind": study.chip_kinds[c], "hash": h}
                          for c, h in study.chip_hashes.items()])
    models = pd.DataFrame([{"model": m, "seq": s, "phase": ph, "hash": h}
                           for (m, s, ph), h in study.model_hashes.items()])
    runs = meta["runs"]
    return ("<h2>Inputs</h2>"
            f"<p>Source: {_e(study.source)}; search {_e(study.doc.search.kind)} "
            f"(seed {study.doc.search.seed}); fidelity {_e(study.doc.fidelity)}</p>"
            f"<details open><summary>study document</summary><pre>{_e(doc)}</pre></details>"
            f"<h3>Base chips</h3>{_table(chips)}<h3>Models</h3>{_table(models)}"
            f"<h3>Runs</h3>{_table(runs)}")


def _summary(df: pd.DataFrame) -> str:
    if df.empty:
        return "<h2>Summary</h2><p>No points evaluated yet.</p>"
    feas = df["feasible"].map({True: "feasible", False: "infeasible"}).fillna("undecided")
    counts = feas.value_counts().rename_axis("verdict").reset_index(name="points")
    by_eval = df["evaluator"].value_counts().rename_axis("evaluator").reset_index(name="points")
    viol = (df.loc[df["violations"].fillna("") != "", "violations"].value_counts().head(15)
            .rename_axis("violations").reset_index(name="points"))
    return (f"<h2>Summary</h2>{_table(counts)}{_table(by_eval)}"
            + (f"<h3>Most common constraint verdicts</h3>{_table(viol)}" if len(viol) else ""))


def _objectives(study: Study) -> list[tuple[str, str]]:
    objs = [(o.metric, o.goal) for o in study.doc.objectives]
    if len(objs) == 1:  # a single objective still gets a trade-off picture
        first, second = (("energy_j_per_token", "ttft_p90_s") if study.doc.serving
                         else ("energy_j", "latency_s"))
        objs.append((first if objs[0][0] != first else second, "min"))
    return objs


def _label(m: str) -> str:
    return f"{m} ({UNITS[m]})" if UNITS.get(m) else m


def _pareto(study: Study, df: pd.DataFrame) -> str:
    import plotly.graph_objects as go

    objs = _objectives(study)
    out = ["<h2>Pareto fronts</h2><p class=note>Feasible points only; grey: dominated or "
           "infeasible. Hover a point for its id and parameters.</p>"]
    if df.empty:
        return out[0]
    hover = df["point_id"] + "<br>" + df["chip"] + " " + df["params_json"].fillna("")
    for (mx, gx), (my, gy) in itertools.combinations(objs, 2):
        front = pareto_front(df, [(mx, gx), (my, gy)])
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=df[mx], y=df[my], mode="markers", name="all points",
                                 marker={"color": "#bbb", "size": 5}, text=hover,
                                 hoverinfo="text+x+y"))
        fig.add_trace(go.Scatter(x=front[mx], y=front[my], mode="lines+markers",
                                 name="Pareto front", marker={"size": 8},
                                 text=front["point_id"] + "<br>" + front["chip"] + " "
                                 + front["params_json"].fillna(""), hoverinfo="text+x+y"))
        fig.update_layout(title=f"{my} ({gy}) vs {mx} ({gx})", xaxis_title=_label(mx),
                          yaxis_title=_label(my), height=460,
                          xaxis_type="log" if _positive(df[mx]) else None,
                          yaxis_type="log" if _positive(df[my]) else None)
        out.append(fig.to_html(full_html=False, include_plotlyjs=False,
                               div_id=f"pareto-{mx}-{my}"))  # fixed ids: same input, same file
        out.append(f"<p>{len(front)} points on the {mx}/{my} front.</p>")
    if len(objs) == 3:
        front = pareto_front(df, objs)
        fig = go.Figure(go.Scatter3d(x=front[objs[0][0]], y=front[objs[1][0]],
                                     z=front[objs[2][0]], mode="markers",
                                     text=front["point_id"], marker={"size": 4}))
        fig.update_layout(title="three-objective front", height=520, scene={
            "xaxis_title": objs[0][0], "yaxis_title": objs[1][0], "zaxis_title": objs[2][0]})
        out.append(fig.to_html(full_html=False, include_plotlyjs=False, div_id="pareto-3d"))
    return "\n".join(out)


def _positive(s: pd.Series) -> bool:
    v = pd.to_numeric(s, errors="coerce").dropna()
    return bool(len(v)) and bool((v > 0).all()) and float(v.max() / v.min()) > 30


def _best(study: Study, df: pd.DataFrame) -> str:
    if df.empty:
        return ""
    objs = _objectives(study)
    front = pareto_front(df, objs[:3]).head(MAX_FRONT_ROWS)
    picks: list[tuple[str, pd.Series]] = []
    feas = df[df["feasible"].fillna(False).astype(bool)]
    for m, g in [(o.metric, o.goal) for o in study.doc.objectives]:
        vals = pd.to_numeric(feas[m], errors="coerce").dropna()
        if len(vals):
            picks.append((f"best {m} ({g})", feas.loc[vals.idxmin() if g == "min"
                                                      else vals.idxmax()]))
    picks += [("Pareto front", row) for _, row in front.iterrows()]
    rows = []
    cols = ["point_id", "chip", "model", "batch", "sparsity", "params_json",
            *([*SERVING_HEADLINE, "devices", "goodput_fraction"] if study.doc.serving else
              ["latency_s", "energy_j", "area_mm2", "edp", "power_w"]),
            "accuracy", "accuracy_provenance"]
    out = ["<h2>Best designs</h2><p class=note>The best feasible point per objective, then the "
           "Pareto front of all objectives; open a row's config to see the full chip.</p>"]
    seen: set[tuple[str, str]] = set()
    for why, r in picks:
        if (why, r["point_id"]) in seen:
            continue
        seen.add((why, r["point_id"]))
        rows.append({"why": why, **{c: r.get(c) for c in cols}})
    out.append(_table(pd.DataFrame(rows)))
    for pid in dict.fromkeys(r["point_id"] for r in rows):
        row = df[df["point_id"] == pid].iloc[0]
        cfg = yaml.safe_dump(design_of(study, row.to_dict()), sort_keys=False)
        out.append(f"<details><summary>config of {_e(pid)} ({_e(row['chip'])} "
                   f"{_e(row['params_json'])})</summary><pre>{_e(cfg)}</pre></details>")
    return "\n".join(out)


def _sensitivity(study: Study, df: pd.DataFrame) -> str:
    import plotly.graph_objects as go

    metrics = list(dict.fromkeys([o.metric for o in study.doc.objectives]
                                 + (SERVING_HEADLINE if study.doc.serving
                                    else INFERENCE_METRICS)))
    sens = sensitivity(df, metrics)
    head = ("<h2>Sensitivity</h2><p class=note>spearman: rank correlation of the metric with "
            "the parameter over all points (sign = direction); median_spread: largest / "
            "smallest median of the metric across the parameter's values.</p>")
    if sens.empty:
        return head + "<p>Not enough varied points for a sensitivity estimate.</p>"
    piv = sens.pivot(index="parameter", columns="metric", values="median_spread")
    fig = go.Figure(go.Heatmap(z=piv.to_numpy(), x=list(piv.columns), y=list(piv.index),
                               colorscale="Viridis", colorbar={"title": "max/min median"}))
    fig.update_layout(title="median spread of each metric across each parameter's values",
                      height=160 + 40 * len(piv))
    return head + fig.to_html(full_html=False, include_plotlyjs=False,
                              div_id="sensitivity") + _table(sens)


def _accuracy(df: pd.DataFrame) -> str:
    head = ("<h2>Accuracy provenance</h2><p class=note>Every point's accuracy with where it "
            "comes from: measured, literature, user, or unknown (no number is guessed).</p>")
    if df.empty:
        return head
    summary = (df.groupby(["accuracy_provenance", "accuracy_source"], dropna=False)
               .size().reset_index(name="points"))
    cols = ["point_id", "chip", "model", "batch", "sparsity", "accuracy", "accuracy_metric",
            "accuracy_provenance", "accuracy_source", "accuracy_ci_low", "accuracy_ci_high",
            "accuracy_dense", "accuracy_loss_vs_dense"]
    cols = [c for c in cols if c in df.columns]  # stores written before the dense-twin columns
    return (head + _table(summary) + "<details><summary>every point "
            f"({len(df)})</summary>{_table(df[cols])}</details>")
