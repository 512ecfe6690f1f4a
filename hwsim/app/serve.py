"""The process ``hwsim app`` becomes: warm what the explorer's first page needs, then serve.

Streamlit runs the app script inside the server process, so modules imported (and hwsim's
per-process caches filled) before the server starts are already there when the first browser
connects: the first page then costs its own simulations, not the imports of the accuracy stack
(scipy.interpolate), pandas and plotly. Warming happens before the server answers its health
check, so a launcher that waits for ``/_stcore/health`` never races it.

    python -m hwsim.app.serve --server.port 8501 ...   (the flags of ``streamlit run``)
"""

from __future__ import annotations

import sys


def warm() -> None:
    """Import the explorer's modules and simulate its default design once (dense twin too)."""
    import plotly.graph_objects  # noqa: F401  (the charts)

    import hwsim
    from hwsim.app import charts, compute, sidebar  # noqa: F401  (page files run per session)
    from hwsim.app.design import DEFAULT_CHIPS, DEFAULT_MODEL

    for chip in DEFAULT_CHIPS:
        hwsim.simulate(DEFAULT_MODEL, chip, compare_dense=True)


def main(argv: list[str]) -> int:
    from streamlit.web import cli as stcli

    from hwsim.app.launch import app_script

    try:
        warm()
    except Exception as exc:  # a cold first page is slower, not broken: serve anyway
        print(f"hwsim app: warm-up skipped ({exc})", file=sys.stderr)
    sys.argv = ["streamlit", "run", str(app_script()), *argv]
    return int(stcli.main() or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
