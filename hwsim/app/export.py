"""Export: each chip as a loadable YAML config, the results as CSV/JSON, the CLI commands that
reproduce them, a self-contained HTML comparison report, and the last sweep's study report."""

from __future__ import annotations

import html
import json
import shlex
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
import yaml

from hwsim.app import charts, compute, overview, page
from hwsim.app.design import ChipChoice, Design


def chip_yaml(chip: ChipChoice) -> str:
    """The chip with the sidebar's edits, as a config ``hwsim simulate --chip FILE`` accepts."""
    doc = compute.chip_document(chip.preset, chip.overrides)
    if chip.overrides:
        doc["description"] = (doc.get("description", "") + " — edited in the design explorer: "
                              + ", ".join(f"{k}={v}" for k, v in chip.overrides))
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def cli_command(design: Design, chip: ChipChoice) -> str:
    """The ``hwsim simulate`` call that gives this chip's numbers."""
    args = ["hwsim", "simulate", "--chip", chip.preset, "--model", design.model]
    for path, value in chip.overrides:
        args += ["--set", f"{path}={value}"]
    for s in design.sparsity:
        args += ["--sparsity", s]
    args += ["--batch", str(design.batch), "--fidelity", design.fidelity, "--compare-dense"]
    return shlex.join(args)


def results_csv(runs: list[page.ChipRun]) -> str:
    frames = [r.result.to_dataframe().assign(chip=r.chip.label) for r in runs]
    df = pd.concat(frames, ignore_index=True)
    return df[["chip", *[c for c in df.columns if c != "chip"]]].to_csv(index=False)


def results_json(design: Design, runs: list[page.ChipRun]) -> str:
    doc: dict[str, Any] = {"design": {"model": design.model_label, "sparsity": list(
        design.sparsity), "batch": design.batch, "fidelity": design.fidelity},
        "results": {r.chip.label: r.result.to_dict() for r in runs}}
    return json.dumps(doc, indent=2, default=str)


def comparison_html(design: Design, runs: list[page.ChipRun]) -> str:
    """One self-contained page: the inputs, the overview table, the energy stack."""
    table = overview.table(runs).to_html(index=False, float_format=lambda v: f"{v:.6g}")
    fig = charts.energy_stack([(r.chip.label, r.result) for r in runs])
    commands = "".join(f"<pre>{html.escape(cli_command(design, r.chip))}</pre>" for r in runs)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>hwsim design review</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px}</style></head><body>"
        f"<h1>hwsim design review: {html.escape(design.model_label)}</h1>"
        f"<p>batch {design.batch}, {design.fidelity} fidelity, sparsity: "
        f"{html.escape(', '.join(design.sparsity) or 'as defined in the model')}</p>"
        f"{table}{fig.to_html(full_html=False, include_plotlyjs=True, div_id='energy')}"
        f"<h2>Reproduce</h2>{commands}</body></html>")


def render() -> None:
    design = page.design_or_stop()
    st.title("Export")
    page.header(design)
    runs = page.show_errors(page.run_all(design))
    if not runs:
        return
    st.subheader("Designs")
    for run in runs:
        c1, c2 = st.columns([1, 3])
        c1.download_button(f"{run.chip.label}.yaml", chip_yaml(run.chip),
                           file_name=f"{run.chip.preset}.yaml", mime="application/x-yaml",
                           key=f"yaml-{run.chip.preset}")
        c2.code(cli_command(design, run.chip), language="bash")
    st.subheader("Results")
    c1, c2, c3 = st.columns(3)
    c1.download_button("per-op results (CSV)", results_csv(runs), file_name="hwsim-results.csv",
                       mime="text/csv", key="export_csv")
    c2.download_button("results (JSON)", results_json(design, runs),
                       file_name="hwsim-results.json", mime="application/json",
                       key="export_json")
    c3.download_button("comparison report (HTML)", comparison_html(design, runs),
                       file_name="hwsim-review.html", mime="text/html", key="export_html")
    _study_report()


def _study_report() -> None:
    st.subheader("Study report")
    sweep = st.session_state.get("sweep")
    write_report = page.optional("hwsim.study", "write_report")
    if write_report is None:
        st.info("Study reports are not available yet in this checkout (hwsim.study).")
        return
    if not sweep:
        st.caption("Run a sweep on the Sweep page to export its HTML report.")
        return
    out = Path(tempfile.mkdtemp(prefix="hwsim-app-report-")) / f"{sweep['study'].name}.html"
    write_report(sweep["study"], Path(sweep["store"]), out)
    st.download_button("study report (HTML)", out.read_bytes(), file_name=out.name,
                       mime="text/html", key="export_study_html")


if __name__ == "__main__":
    render()
