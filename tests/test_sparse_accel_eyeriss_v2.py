"""`hwsim validate sparse-accel`, Eyeriss v2: the PE's speedup over dense on eight sparse
MobileNet-0.5 layers (Sparseloop MICRO 2022 Fig. 12 ground truth, all held out).

Measured on this branch: hwsim's median |error| 3.06 % (per layer -0.5 % to +5.2 %: hwsim is
slightly optimistic because the real masks cluster their nonzeros, docs/sparse-accelerators.md),
Sparseloop's own uniform-density model 3.14 % on the same rows. Pinned below with a margin of
one percentage point, so a change to the skipping path that moves these fails here.
"""

from __future__ import annotations

import json
import math

import pytest

import hwsim
from hwsim.validation import sparse_accel

MEDIAN_ABS_ERROR = 0.0306  # measured, see the module docstring


@pytest.fixture(scope="module")
def doc() -> dict:
    return sparse_accel.report()


def test_reference_rows_are_consistent() -> None:
    rows = sparse_accel._read("eyeriss_v2", "sparseloop_fig12_pe_cycles.csv")
    assert [r["layer"] for r in rows] == ["L07", "L09", "L13", "L19", "L21", "L23", "L25",
                                          "L27"]
    for r in rows:
        dims = [int(r[c]) for c in ("c", "m", "e", "f", "r", "s")]
        assert math.prod(dims) == int(r["dense_macs"])
        assert 0 < float(r["iact_density"]) <= 1 and 0 < float(r["weight_density"]) <= 1
        # a PE cannot beat its effectual MACs (one useful MAC per cycle) nor run dense-slow
        effectual = int(r["dense_macs"]) * float(r["iact_density"]) * float(r["weight_density"])
        assert effectual <= int(r["ground_truth_cycles"]) < int(r["dense_macs"])
        assert r["split"] == "held_out"


def test_median_error_is_pinned(doc: dict) -> None:
    s = doc["by_design"]["eyeriss_v2"]
    assert s["rows"] == 8
    assert abs(s["median_abs_error"] - MEDIAN_ABS_ERROR) < 0.01
    assert s["median_abs_error"] <= doc["target_median_abs_error"]
    assert all(abs(r["error"]) < 0.08 for r in doc["rows"] if r["design"] == "eyeriss_v2")
    assert abs(s["peer_median_abs_error"] - 0.0314) < 0.002  # Sparseloop's, from the artifact


def test_weight_skipping_is_what_buys_the_speedup() -> None:
    """Without weight skipping only the activation zeros are skipped: the speedup on L27
    (d_act 0.58, d_w 0.30) falls from ~5.7x to ~1/0.58."""
    layer = sparse_accel._read("eyeriss_v2", "sparseloop_fig12_pe_cycles.csv")[-1]
    both = hwsim.load_chip("eyeriss-v2-like", overrides=sparse_accel.PE_OVERRIDES)
    one = hwsim.load_chip(both, {"sparse_features.weight_skipping": False})
    spec = ["*:relu:density=0.58,weight_density=0.3"]
    dense = sparse_accel._compute_cycles(both, layer, None)
    assert dense / sparse_accel._compute_cycles(both, layer, spec) > 5.0
    assert dense / sparse_accel._compute_cycles(one, layer, spec) == pytest.approx(
        1 / 0.58, rel=0.02)


def test_cli_table_and_json(run_cli) -> None:
    code, out, _ = run_cli("validate", "sparse-accel")
    assert code == 0
    assert out.index("Held out") < out.index("L07") < out.index("Per design")
    assert "scnn" in out and "sparten" in out
    code, out, _ = run_cli("validate", "sparse-accel", "--json")
    assert code == 0
    parsed = json.loads(out)
    assert sum(r["design"] == "eyeriss_v2" for r in parsed["rows"]) == 8
    assert all(r["held_out"] for r in parsed["rows"])
    assert set(parsed["gaps"]) == {"eyeriss_v2", "scnn", "sparten"}
    code, _, err = run_cli("validate", "sparse-acel")
    assert code == 2 and "sparse-accel" in err
