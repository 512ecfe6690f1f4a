"""``hwsim app``: bad ports are clean exit-2 errors, and the server command stays on loopback."""

from __future__ import annotations

import socket

import pytest

from hwsim.app import compute
from hwsim.app.launch import MAX_UPLOAD_MB, app_script, streamlit_command
from hwsim.cli import main


@pytest.mark.parametrize("port", ["0", "-1", "65536"])
def test_out_of_range_port_is_exit_2(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["app", "--port", port]) == 2
    err = capsys.readouterr().err
    assert "--port" in err and "between 1 and 65535" in err and "Traceback" not in err


def test_busy_port_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["app", "--port", str(port)]) == 2
    assert f"127.0.0.1:{port}: already in use" in capsys.readouterr().err


def test_command_serves_the_packaged_script_on_loopback_only() -> None:
    cmd = streamlit_command(8600)
    flags = dict(zip(cmd[3::2], cmd[4::2], strict=True))
    assert cmd[1:3] == ["-m", "hwsim.app.serve"]  # warms the first page, then streamlit run
    assert app_script().is_file() and app_script().parent.name == "app"
    assert flags == {"--server.headless": "true", "--server.address": "127.0.0.1",
                     "--server.port": "8600", "--browser.gatherUsageStats": "false",
                     "--server.maxUploadSize": str(MAX_UPLOAD_MB),
                     "--client.toolbarMode": "viewer"}
    assert MAX_UPLOAD_MB * 2**20 == compute.MAX_UPLOAD_BYTES
