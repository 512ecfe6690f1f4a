"""Wiring: page config, the sidebar, and one ``st.Page`` per file of this package."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent
PAGES = (
    ("overview.py", "Overview", ":material/dashboard:"),
    ("breakdown.py", "Breakdown", ":material/stacked_bar_chart:"),
    ("sweep.py", "Sweep", ":material/scatter_plot:"),
    ("distribution.py", "Distribution", ":material/bar_chart:"),
    ("sensitivity.py", "Sensitivity", ":material/tune:"),
    ("serving.py", "Serving", ":material/dns:"),
    ("claims.py", "Claims", ":material/fact_check:"),
    ("export.py", "Export", ":material/download:"),
)
DESIGN_KEY = "design"


def main() -> None:
    st.set_page_config(page_title="hwsim design explorer", page_icon=":material/memory:",
                       layout="wide")
    from hwsim.app import sidebar

    st.session_state[DESIGN_KEY] = sidebar.render()
    pages = [st.Page(HERE / file, title=title, icon=icon, default=i == 0)
             for i, (file, title, icon) in enumerate(PAGES)]
    st.navigation(pages, position="top").run()
