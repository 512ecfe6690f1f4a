"""Sweep: a small study built from widgets (one base chip from the sidebar, up to two of its key
parameters, activation densities), run with a progress bar through :mod:`hwsim.study`; the
energy-vs-latency Pareto scatter is coloured by accuracy, and selecting a point loads that
design (chip parameters and density) into the sidebar."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from hwsim.app import charts, compute, fmt, page
from hwsim.app.design import (
    DENSITY_STEPS,
    KEY_PARAMS,
    ChipChoice,
    Design,
    ParamSpec,
    get_path,
)
from hwsim.app.sidebar import LOAD_KEY
from hwsim.errors import HwsimError, input_error

MAX_POINTS = 2000  # an interactive sweep; bigger studies belong to `hwsim study run`
NONE = "(none)"
DEFAULT_VALUES = {  # shown values (display units) a first sweep of each parameter visits
    "array.rows": "16, 32, 64, 128", "array.cols": "16, 32, 64, 128",
    "offchip.bw_bytes_per_s": "12.8, 25.6, 51.2, 102.4", "clock_hz": "250, 500, 1000",
    "sms": "16, 54, 108", "buffers.filter.size_bytes": "64, 512, 2048",
    "flash_wait_states": "0, 3, 6",
}
OBJECTIVES = [("latency_s", "min"), ("energy_j", "min")]


def numeric_params(kind: str) -> list[ParamSpec]:
    return [p for p in KEY_PARAMS.get(kind, ()) if not p.boolean and p.choices is None]


def parse_values(text: str, spec: ParamSpec) -> list[Any]:
    """``"16, 32, 64"`` in display units -> SI values for the study."""
    out = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        try:
            shown = float(item)
        except ValueError:
            raise input_error(spec.label, "expected comma-separated numbers",
                              given=item) from None
        out.append(spec.to_si(shown))
    if not out:
        raise input_error(spec.label, "give at least one value")
    return list(dict.fromkeys(out))


def density_variants(design: Design, densities: list[float]) -> dict[str, float]:
    """Sparsity label (as the store writes it) -> density, one variant per density: the
    sidebar's specs with their ``density``/``keep_ratio`` replaced."""
    out: dict[str, float] = {}
    for d in densities:
        specs = [re.sub(r"(density|keep_ratio)=[^,]*", rf"\g<1>={d!r}", s)
                 for s in design.sparsity]
        out["; ".join(specs)] = d
    return out


def study_doc(design: Design, chip: ChipChoice, swept: list[tuple[ParamSpec, list[Any], bool]],
              variants: dict[str, float], name: str) -> dict[str, Any]:
    """The study document: swept parameters (``tied``: array.cols follows array.rows), the
    sidebar's other edits as one-value parameters, one workload variant per density."""
    space: list[dict[str, Any]] = []
    swept_paths = set()
    for spec, values, tie in swept:
        entry: dict[str, Any] = {"path": spec.path, "values": values}
        swept_paths.add(spec.path)
        if tie and spec.path == "array.rows":
            entry["tied"] = ["array.cols"]
            swept_paths.add("array.cols")
        space.append(entry)
    space += [{"path": path, "values": [value]} for path, value in chip.overrides
              if path not in swept_paths]
    sparsity = [label.split("; ") for label in variants if label] if any(variants) else []
    return {
        "name": name, "description": f"design explorer sweep of {chip.preset}",
        "chips": [chip.preset], "space": space,
        "workloads": [{"model": design.model, "batch": [design.batch], "sparsity": sparsity}],
        "objectives": [{"metric": m, "goal": g} for m, g in OBJECTIVES],
        "search": {"kind": "grid"}, "fidelity": "analytic",
    }


def render() -> None:
    design = page.design_or_stop()
    st.title("Sweep")
    page.header(design)
    study_api = page.optional("hwsim.study")
    if study_api is None or not hasattr(study_api, "run_study"):
        st.info("Studies are not available yet in this checkout (hwsim.study).")
        return
    labels = [c.label for c in design.chips]
    if st.session_state.get("sweep_chip") not in labels:
        st.session_state["sweep_chip"] = labels[0]
    label = st.selectbox("base chip (with its sidebar edits)", labels, key="sweep_chip")
    chip = design.chips[labels.index(label)]
    kind = str(compute.chip_document(chip.preset).get("kind"))
    swept = _param_widgets(kind)
    variants = _density_widget(design)
    if swept is None:
        return
    try:
        name = f"app-sweep-{len(st.session_state.get('sweep_history', [])) + 1}"
        study = study_api.study_from_doc(study_doc(design, chip, swept, variants, name),
                                         "design explorer sweep")
        size = study.doc.grid_size()
    except HwsimError as exc:
        st.error(str(exc))
        return
    st.caption(f"{size} design points (grid, analytic fidelity)")
    if size > MAX_POINTS:
        st.error(f"{size} points is more than this page runs ({MAX_POINTS}); use "
                 "`hwsim study run` for big studies")
        return
    if st.button("Run sweep", type="primary", key="sweep_run"):
        _run(study_api, study, variants)
    if st.session_state.get("sweep"):
        _results(study_api, st.session_state["sweep"])


def _param_widgets(kind: str) -> list[tuple[ParamSpec, list[Any], bool]] | None:
    params = numeric_params(kind)
    names = [NONE, *[p.path for p in params]]
    labels = {p.path: p.label for p in params}
    defaults = [p.path for p in params][:2] if kind != "accelerator" else [
        "array.rows", "offchip.bw_bytes_per_s"]
    out: list[tuple[ParamSpec, list[Any], bool]] = []
    cols = st.columns(2)
    for i, col in enumerate(cols):
        key = f"sweep_param{i}"
        if st.session_state.get(key) not in names:
            st.session_state[key] = defaults[i] if i < len(defaults) else NONE
        path = col.selectbox(f"parameter {i + 1}", names, key=key,
                             format_func=lambda p: labels.get(p, p))
        if path == NONE:
            continue
        spec = next(p for p in params if p.path == path)
        vkey = f"sweep_values{i}:{path}"
        st.session_state.setdefault(vkey, DEFAULT_VALUES.get(path, ""))
        text = col.text_input(f"{spec.label} values", key=vkey)
        tie = False
        if path == "array.rows":
            st.session_state.setdefault("sweep_tie", True)
            tie = col.checkbox("square array (cols follow rows)", key="sweep_tie")
        try:
            out.append((spec, parse_values(text, spec), tie))
        except HwsimError as exc:
            col.error(str(exc))
            return None
    paths = [s.path for s, _, _ in out]
    if len(set(paths)) != len(paths):
        st.error("choose two different parameters")
        return None
    return out


def _density_widget(design: Design) -> dict[str, float]:
    current = [float(m) for s in design.sparsity
               for m in re.findall(r"(?:density|keep_ratio)=([0-9.eE+-]+)", s)]
    if not current:
        st.caption("The sidebar's sparsity has no density to sweep: every point uses it as is.")
        return {"; ".join(design.sparsity): float("nan")}
    st.session_state.setdefault("sweep_densities", sorted({current[0], 0.02, 0.05, 0.2}))
    densities = st.multiselect("densities", sorted({*DENSITY_STEPS, current[0]}),
                               key="sweep_densities")
    return density_variants(design, sorted(densities) or [current[0]])


def _run(study_api: Any, study: Any, variants: dict[str, float]) -> None:
    bar = st.progress(0.0, text="starting...")

    def progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"{done} / {total} points")

    store_dir = Path(st.session_state.setdefault(
        "sweep_dir", tempfile.mkdtemp(prefix="hwsim-app-sweeps-")))
    try:
        path = study_api.run_study(study, workers=1, progress=progress, store_dir=store_dir)
        df = study_api.read_points(path)
    except HwsimError as exc:
        st.error(str(exc))
        return
    bar.progress(1.0, text=f"{len(df)} points")
    df["density"] = df["sparsity"].map(variants)
    st.session_state["sweep"] = {"study": study, "store": str(path), "df": df}
    st.session_state.setdefault("sweep_history", []).append(str(path))


def _results(study_api: Any, sweep: dict[str, Any]) -> None:
    df: pd.DataFrame = sweep["df"]
    ok = df[df["error"].isna()] if "error" in df.columns else df
    front = study_api.pareto_front(ok, OBJECTIVES)
    color = "accuracy" if ok["accuracy"].notna().any() else (
        "density" if ok["density"].notna().any() else None)
    st.plotly_chart(charts.pareto_scatter(ok, front, color), key="pareto",
                    on_select=_on_select, selection_mode="points")
    if color != "accuracy":
        st.caption("Accuracy is unknown for these points (no accuracy source covers the "
                   "model), so the front is coloured by density.")
    shown = [c for c in df.columns if c.startswith("param.")] + [
        "density", "latency_s", "energy_j", "edp", "area_mm2", "accuracy",
        "accuracy_provenance", "point_id"]
    st.subheader(f"Pareto front: {len(front)} of {len(ok)} points")
    table = front.assign(density=front["sparsity"].map(
        dict(zip(df["sparsity"], df["density"], strict=True))))
    st.dataframe(table[[c for c in shown if c in table.columns]], hide_index=True,
                 key="pareto_table")
    ids = list(front["point_id"])
    if ids:
        st.selectbox("or pick a Pareto point", ids, key="sweep_point",
                     format_func=lambda pid: _point_label(front, pid))
        st.button("Load into sidebar", key="sweep_load", on_click=_load_selected)


def _point_label(front: pd.DataFrame, pid: str) -> str:
    row = front[front["point_id"] == pid].iloc[0]
    return f"{fmt.seconds(row['latency_s'])}, {fmt.joules(row['energy_j'])} ({pid[:8]})"


def _on_select() -> None:
    event = st.session_state.get("pareto")
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    if points and points[0].get("customdata") is not None:
        load_point(str(points[0]["customdata"]))


def _load_selected() -> None:
    load_point(str(st.session_state["sweep_point"]))


def load_point(point_id: str) -> None:
    """Ask the sidebar to show this point's chip parameters and density on the next run."""
    study_api = page.optional("hwsim.study")
    sweep = st.session_state.get("sweep")
    if study_api is None or not sweep:
        return
    df: pd.DataFrame = sweep["df"]
    rows = df[df["point_id"] == point_id]
    if rows.empty:
        return
    row = rows.iloc[0]
    chip_doc = study_api.design_of(sweep["study"], row.to_dict())
    preset = str(row["chip"])
    params = {p.path: get_path(chip_doc, p.path) for p in KEY_PARAMS.get(chip_doc["kind"], ())}
    sparsity: dict[str, Any] = {}
    if pd.notna(row.get("density")):
        key = "keep_ratio" if "keep_ratio=" in str(row["sparsity"]) else "density"
        sparsity[key] = float(row["density"])
    st.session_state[LOAD_KEY] = {"preset": preset, "params": params, "sparsity": sparsity}
    st.session_state["sweep_loaded"] = point_id


if __name__ == "__main__":
    render()
