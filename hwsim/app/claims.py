"""Claims: the what-if studies of published sparse-activation claims (``hwsim claims``) — each
claim's verdict, hwsim's figures beside the claimed ones, and what flips the verdict.

Uses :mod:`hwsim.claims` (``load.load_claims``, ``run.run_claims``, ``report_text``) when this
checkout has it; otherwise the page says claim reports are not available yet."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from hwsim.app import page
from hwsim.errors import HwsimError

NOT_YET = "Claim reports are not available yet in this checkout (hwsim.claims has not landed)."


@st.cache_data(max_entries=16, show_spinner=False)
def run_claims(ids: tuple[str, ...]) -> dict[str, Any]:
    """``hwsim claims --only ID ...`` as a document (cached: claims run many simulations)."""
    load = page.optional("hwsim.claims.load", "load_claims")
    run = page.optional("hwsim.claims.run", "run_claims")
    return run(load([], list(ids)))  # type: ignore[misc]


def figures_table(claim: dict[str, Any]) -> pd.DataFrame:
    cells = page.optional("hwsim.claims.report_text", "figure_cells")
    rows = [cells(f) for f in claim["figures"]] if cells else []
    return pd.DataFrame(rows, columns=["figure", "claimed", "hwsim", "verdict"])


def render() -> None:
    st.title("Claims")
    load = page.optional("hwsim.claims.load", "load_claims")
    run = page.optional("hwsim.claims.run", "run_claims")
    if load is None or run is None:
        st.info(NOT_YET)
        return
    try:
        docs = load([], [])
    except HwsimError as exc:
        st.error(str(exc))
        return
    titles = {d.id: d.title for d in docs}
    st.caption("Each claim study simulates its scenarios through hwsim.simulate, then "
               "re-simulates one change at a time to find what flips the verdict.")
    chosen = st.multiselect("claims", list(titles), default=list(titles)[:1], key="claim_ids",
                            format_func=lambda i: f"{i}: {titles[i]}")
    if not st.button("Run the claim studies", key="claims_run", type="primary") and \
            st.session_state.get("claims_ran") != tuple(chosen):
        return
    st.session_state["claims_ran"] = tuple(chosen)
    try:
        with st.spinner("running claim studies..."):
            report = run_claims(tuple(chosen))
    except HwsimError as exc:
        st.error(str(exc))
        return
    verdict_text = page.optional("hwsim.claims.report_text", "verdict_text") or str
    for claim in report["claims"]:
        with st.container(border=True):
            st.subheader(f"{claim['id']}: {claim['title']}")
            st.markdown(f"> {claim['claim']}")
            st.markdown(f"**Verdict: {verdict_text(claim['verdict'])}**")
            for cond in claim.get("conditions", []):
                st.markdown(f"- only if {cond}")
            st.dataframe(figures_table(claim), hide_index=True)
            for s in claim.get("sensitivity", []):
                flip = ("flips at " + ", ".join(str(v) for v in s["flips_at"])) if s.get(
                    "flips") else "no flip"
                st.caption(f"sensitivity {s.get('label', '')}: {flip}")
            st.caption(f"source: {claim.get('source', '')}")
    st.download_button("claims report (JSON)", json.dumps(report, indent=2, default=str),
                       file_name="claims.json", mime="application/json", key="claims_json")


if __name__ == "__main__":
    render()
