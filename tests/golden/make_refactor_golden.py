"""Snapshot of `simulate(...).to_dict()` for every model preset on every chip preset.

Written before the package/backends refactor (issue 14) so that refactor can prove it changed
no number: `tests/test_refactor_golden.py` recomputes every pair and compares hashes. Run this
script only to re-baseline after an intentional modelling change (and say so in the commit).

    python tests/golden/make_refactor_golden.py            # writes refactor_golden.json
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "refactor_golden.json"
# Fields that name where a file lives or which build made it, not what was computed (a CI clone
# lives in another folder; the installed package keeps its data elsewhere).
VOLATILE = ("hwsim_version", "origin")


def canonical(doc: object) -> object:
    if isinstance(doc, dict):
        return {k: canonical(v) for k, v in sorted(doc.items()) if k not in VOLATILE}
    if isinstance(doc, list | tuple):
        return [canonical(v) for v in doc]
    if isinstance(doc, float | int) and not isinstance(doc, bool):
        # last-bit noise from summation order is not a change, nor is 0 written as 0.0
        return float(f"{doc:.12g}")
    return doc


def pair_digest(model: str, chip: str) -> str:
    import hwsim
    from hwsim.errors import HwsimError

    try:
        doc = hwsim.simulate(model, chip).to_dict()
    except HwsimError as exc:
        doc = {"error": str(exc)}
    text = json.dumps(canonical(doc), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def preset_names(kind: str) -> list[str]:
    from hwsim.presets import list_presets

    return [p.name for p in list_presets(kind)]


def main() -> int:
    out = {f"{m}@{c}": pair_digest(m, c)
           for m in preset_names("models") for c in preset_names("chips")}
    OUT.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"{len(out)} pairs -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
