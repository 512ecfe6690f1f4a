"""``hwsim app``: start the Streamlit design explorer from the installed package.

The server binds 127.0.0.1 only, runs headless (no browser is opened for you) and sends no
usage statistics; the upload cap and viewer toolbar of the checkout's ``.streamlit/config.toml``
are passed as flags, because Streamlit reads that file only from the working directory. The
``hwsim`` process then becomes the server (``os.execv`` of ``python -m hwsim.app.serve``, which
warms the first page and runs ``streamlit run`` in-process): one process, so Ctrl+C
or a SIGTERM reaches the server itself and never leaves an orphaned server behind.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from importlib.resources import files
from pathlib import Path
from typing import NoReturn

from hwsim.errors import input_error

HOST = "127.0.0.1"
DEFAULT_PORT = 8501  # Streamlit's default
MAX_PORT = 65535
MAX_UPLOAD_MB = 20  # as .streamlit/config.toml and the app's own check (compute.MAX_UPLOAD_BYTES)


def app_script() -> Path:
    """The installed Streamlit script (``hwsim/app/streamlit_app.py``)."""
    return Path(str(files("hwsim.app") / "streamlit_app.py"))


def check_port(port: int) -> None:
    """Refuse a port outside 1..65535 or one that cannot be bound on 127.0.0.1 (exit 2)."""
    if not 1 <= port <= MAX_PORT:
        raise input_error("--port", f"port must be between 1 and {MAX_PORT}", given=port,
                          hint=f"the default is {DEFAULT_PORT}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError as e:
            why = "already in use" if e.errno == errno.EADDRINUSE else (e.strerror or str(e))
            raise input_error("--port", f"cannot listen on {HOST}:{port}: {why}", given=port,
                              hint="pick another port with --port (ports below 1024 need "
                                   "root)") from e


def streamlit_command(port: int) -> list[str]:
    """The command line that serves the explorer on ``HOST:port``."""
    # hwsim.app.serve warms the first page's imports and caches, then runs `streamlit run`
    # on app_script() in the same process.
    return [sys.executable, "-m", "hwsim.app.serve",
            "--server.headless", "true", "--server.address", HOST,
            "--server.port", str(port), "--browser.gatherUsageStats", "false",
            "--server.maxUploadSize", str(MAX_UPLOAD_MB), "--client.toolbarMode", "viewer"]


def launch(port: int = DEFAULT_PORT) -> NoReturn:
    """Replace this process with the Streamlit server on ``HOST:port`` (returns only by error)."""
    check_port(port)
    print(f"hwsim design explorer: http://{HOST}:{port} (Ctrl+C stops it)", flush=True)
    sys.stderr.flush()
    cmd = streamlit_command(port)
    os.execv(cmd[0], cmd)
