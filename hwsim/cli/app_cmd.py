"""``hwsim app [--port N]``: the design explorer from the installed package (127.0.0.1 only)."""

from __future__ import annotations

from typing import Annotated

import typer

from hwsim.app.launch import DEFAULT_PORT


def app_cmd(
    port: Annotated[int, typer.Option("--port", help="port on 127.0.0.1 to serve on")]
    = DEFAULT_PORT,
) -> None:
    """Start the Streamlit design explorer on http://127.0.0.1:PORT (Ctrl+C stops it)."""
    from hwsim.app.launch import launch

    launch(port)
