"""Shared fixtures. Tests never read ../shared: everything they need lives in the repo."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

# Same inputs, same outputs: property and fuzz tests draw a fixed sequence of examples, so a
# run on CI repeats a run here.
settings.register_profile("hwsim", derandomize=True)
settings.load_profile("hwsim")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="session")
def _validate_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`hwsim validate gpu` caches its sections per user (hwsim.validation.result_cache): tests
    keep theirs in a session folder, never the developer's ~/.cache, and share it (one compute
    per session)."""
    from hwsim.validation.result_cache import CACHE_ENV

    mp = pytest.MonkeyPatch()
    mp.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("hwsim-cache")))
    yield
    mp.undo()


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def run_cli(capsys):
    """Run the CLI in-process: returns (exit status, stdout, stderr)."""
    from hwsim.cli import main

    def _run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return _run


@pytest.fixture(scope="module")
def scalesim_ok() -> None:
    """Skip (with the reason) where the SCALE-Sim peer cannot run; the peer tests take it."""
    try:
        from tests.peers import scalesim_runner as peer
    except ImportError:
        from peers import scalesim_runner as peer  # type: ignore[no-redef]
    try:
        peer.require_scalesim()
    except peer.ScaleSimUnavailable as exc:
        pytest.skip(f"SCALE-Sim cannot run: {exc}")
