"""``hwsim claims``: run the what-if studies of published sparse-activation claims."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from hwsim.cli.render import err, out, table
from hwsim.errors import input_error


def claims_cmd(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="claim files or folders (default: configs/studies/claims)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the JSON document")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="write a self-contained HTML "
                                              "report with figures")] = None,
    only: Annotated[list[str] | None, typer.Option("--only", help="run only this claim id "
                                                   "(repeatable)")] = None,
) -> None:
    """Test published sparse-activation claims against hwsim's numbers: verdict per claim
    (holds / holds only if / does not hold), the conditions, and what flips it."""
    from hwsim.claims.load import load_claims
    from hwsim.claims.run import run_claims

    if html is not None and html.suffix.lower() not in (".html", ".htm"):
        raise input_error("--html", "the report file must end in .html", given=str(html))
    docs = load_claims(paths or [], only or [])
    report = run_claims(docs)
    if html is not None:
        from hwsim.claims.report_html import write_html

        write_html(report, html)
        err().print(f"wrote {html}")
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2, default=_jsonable) + "\n")
    else:
        print_claims(report)


def print_claims(report: dict[str, Any]) -> None:
    from hwsim.claims.report_text import figure_cells, verdict_text

    for c in report["claims"]:
        out().print(f"[bold]{c['id']}[/bold]: {c['title']}  ->  {verdict_text(c['verdict'])}",
                    highlight=False)
        for cond in c["conditions"]:
            out().print(f"  only if {cond}", highlight=False, markup=False)
        cols = ("figure", "claimed", "hwsim", "verdict")
        figures = table(cols, fold=cols)
        for f in c["figures"]:
            figures.add_row(*figure_cells(f))
        out().print(figures)
        for s in c["sensitivity"]:
            flip = "flips: " + "; ".join(
                f"{v['value']} -> {verdict_text(v['verdict'])}" for v in s["variants"]
                if v["verdict"] != s["base_verdict"]) if s["flips"] else "no flip"
            out().print(f"  sensitivity {s['label']} ({s['check']}): {flip}", highlight=False,
                        markup=False)
    out().print(f"{report['simulate_calls']} simulations, {report['fidelity']} fidelity",
                highlight=False)


def _jsonable(x: object) -> object:
    if isinstance(x, tuple | set):
        return list(x)
    return str(x)
