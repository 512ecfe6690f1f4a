"""Issue 14 is a refactor, not a rewrite of the physics: every model preset on every chip preset
must give the same `--json` document (analytic fidelity) as before it. The digests were written
by tests/golden/make_refactor_golden.py before the refactor started."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "golden"))

from make_refactor_golden import pair_digest  # noqa: E402

GOLDEN: dict[str, str] = json.loads((HERE / "golden" / "refactor_golden.json").read_text())
MODELS = sorted({k.split("@")[0] for k in GOLDEN})


@pytest.mark.parametrize("model", MODELS)
def test_every_chip_gives_the_pre_refactor_json(model: str) -> None:
    pairs = {k: v for k, v in GOLDEN.items() if k.startswith(model + "@")}
    changed = [k for k, digest in pairs.items() if pair_digest(*k.split("@")) != digest]
    assert not changed, f"--json changed for {changed}"
