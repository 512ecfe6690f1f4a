"""Claim studies (issue 10): every claim file runs at analytic fidelity, the verdict rules are
unit-tested on constructed points, the report's numbers are the API's, bad files exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import hwsim
from hwsim.claims.load import CLAIMS_DIR, load_claims
from hwsim.claims.run import run_claims
from hwsim.claims.sim import Sim
from hwsim.claims.verdict import Point, check_verdict, claim_verdict, explain, meets
from hwsim.errors import HwsimError

# One worker builds the module's report once (under xdist each worker would run every claim).
pytestmark = pytest.mark.xdist_group("claims")


@pytest.fixture(scope="module")
def report() -> dict:
    return run_claims(load_claims())


def test_html_report_is_deterministic(report: dict, tmp_path: Path) -> None:
    from hwsim.claims.report_html import write_html

    write_html(report, tmp_path / "a.html")
    write_html(report, tmp_path / "b.html")
    text = (tmp_path / "a.html").read_text()
    assert text == (tmp_path / "b.html").read_text()
    assert 'id="fig-1"' in text


def _pt(met: bool | None, **attrs: object) -> Point:
    base = {"chip": "x", "chip_kind": "gpu", "batch": 1, "seq": None, "density": None}
    return Point(base | attrs, None if met is None else float(met), met)


# ---------------------------------------------------------------- verdict rules


def test_meets_rules() -> None:
    assert meets(100.0, 100.0, "at_least") and not meets(99.9, 100.0, "at_least")
    assert meets(0.05, 0.05, "at_most") and not meets(0.051, 0.05, "at_most")
    with pytest.raises(ValueError):
        meets(1.0, 1.0, "about")


def test_every_verdict_reachable() -> None:
    assert check_verdict([_pt(True, chip="a"), _pt(True, chip="b")]) == ("holds", [])
    assert check_verdict([_pt(False, chip="a"), _pt(False, chip="b")]) == ("does_not_hold", [])
    v, conds = check_verdict([_pt(True, chip="a", chip_kind="mcu"),
                              _pt(False, chip="b", chip_kind="gpu")])
    assert v == "holds_only_if" and conds == ["chip_kind = mcu"]
    assert check_verdict([_pt(None), _pt(None)])[0] == "unverified"


def test_conditions_numeric_threshold_and_conjunction() -> None:
    pts = [_pt(s >= 8192, seq=s) for s in (512, 2048, 8192, 32768)]
    assert check_verdict(pts)[1] == ["seq >= 8192"]
    pts = [_pt(b == 1, batch=b) for b in (1, 32)]
    assert check_verdict(pts)[1] == ["batch = 1"]
    attrs = [{"chip": c, "chip_kind": "accelerator", "batch": 1, "seq": s, "density": None}
             for c in ("p", "q") for s in (512, 32768)]
    met = [a["chip"] == "p" and a["seq"] == 32768 for a in attrs]
    assert explain(attrs, met) == ["seq = 32768 and chip = p"]


def test_conditions_fall_back_to_listing_points() -> None:
    attrs = [{"chip": c, "chip_kind": "gpu", "batch": b, "seq": None, "density": None}
             for c, b in (("a", 1), ("a", 32), ("b", 1), ("b", 32))]
    met = [True, False, False, True]  # an XOR no one- or two-axis predicate separates
    assert explain(attrs, met)[0].startswith("met only at: ")


def test_claim_verdict_is_weakest_scored_check() -> None:
    assert claim_verdict(["holds", "holds"]) == "holds"
    assert claim_verdict(["holds", "holds_only_if", "unverified"]) == "holds_only_if"
    assert claim_verdict(["holds", "does_not_hold"]) == "does_not_hold"
    assert claim_verdict(["unverified"]) == "does_not_hold"


# ---------------------------------------------------------------- the five claim studies


def test_every_claim_runs_with_a_verdict(report: dict) -> None:
    ids = [c["id"] for c in report["claims"]]
    assert len(ids) == len(list(CLAIMS_DIR.glob("*.yaml"))) == 5
    for c in report["claims"]:
        assert c["verdict"] in ("holds", "holds_only_if", "does_not_hold")
        assert set(c) >= {"id", "claim", "verdict", "conditions", "figures", "sensitivity"}
        assert c["figures"] and all(f["points"] for f in c["figures"])
        assert (c["verdict"] == "holds_only_if") == bool(c["conditions"])
        assert c["sweep"] is not None and c["sweep"]["series"]
    assert report["fidelity"] == "analytic"
    json.dumps(report)  # the --json document serialises as is


def test_claim_verdict_follows_its_figures(report: dict) -> None:
    for c in report["claims"]:
        assert c["verdict"] == claim_verdict([f["verdict"] for f in c["figures"]])
        for f in c["figures"]:
            scored = [p for p in f["points"] if p["met"] is not None]
            for p in scored:
                assert p["met"] == meets(p["value"], f["claimed"], f["rule"])


def test_accuracy_without_a_source_is_unverified(report: dict) -> None:
    acc = [f for c in report["claims"] for f in c["figures"] if f["metric"] ==
           "accuracy_retained"]
    assert acc
    for f in acc:
        if f["verdict"] == "unverified":
            assert f["claimed_status"] == "claimed, not verified"
            assert all(p["value"] is None for p in f["points"])


def _claim(report: dict, cid: str) -> dict:
    return next(c for c in report["claims"] if c["id"] == cid)


def _point(fig: dict, **where: object) -> dict:
    return next(p for p in fig["points"] if all(p[k] == v for k, v in where.items()))


def test_report_numbers_equal_the_api(report: dict) -> None:
    c1 = _claim(report, "c1-liquid-network")
    energy = next(f for f in c1["figures"] if f["check"] == "energy-100x")
    p = _point(energy, chip="sparseflow-accel", density=0.02)
    sparse = hwsim.simulate("sln-kws", "sparseflow-accel", sparsity=["*:topk:density=0.02"])
    base = hwsim.simulate("kwt-1", "sparseflow-accel")
    assert p["candidate_energy_j"] == sparse.total.energy_j
    assert p["baseline_energy_j"] == base.total.energy_j
    assert p["value"] == pytest.approx(base.total.energy_j / sparse.total.energy_j, rel=1e-12)

    c3 = _claim(report, "c3-adaptive-sparse-attention")
    inf = next(f for f in c3["figures"] if f["check"] == "inference-55")
    p = _point(inf, chip="h100-sxm", seq=2048)
    r = hwsim.simulate(hwsim.load_model("asa-gpt2-small", seq=2048), "h100-sxm",
                       compare_dense=True)
    assert p["value"] == pytest.approx(1 - r.vs_dense["energy_ratio"], rel=1e-12)

    c2 = _claim(report, "c2-sparse-flow")
    gpu = next(s for s in c2["sweep"]["series"] if s["chip"] == "h100-sxm" and s["batch"] == 32)
    dense = hwsim.simulate(hwsim.load_model("sparseflow-gpt2-small", phase="decode",
                                            overrides={"builder.predictor_rank": 128,
                                                       "builder.ffn_sparsity.kind": "topk",
                                                       "builder.ffn_sparsity.density": 0.01}),
                           "h100-sxm", batch=32, compare_dense=True)
    assert gpu["dense_energy_j"] == pytest.approx(dense.dense_total.energy_j, rel=1e-12)


def test_mcu_fit_is_hwsims_own(report: dict) -> None:
    c1 = _claim(report, "c1-liquid-network")
    fits = next(f for f in c1["figures"] if f["check"] == "fits-mcu")
    for p in fits["points"]:
        r = hwsim.simulate("sln-kws", p["chip"], sparsity=["*:topk:density=0.02"])
        fit = next(op.mapping["fit"] for op in r.ops if "fit" in op.mapping)
        assert p["value"] == (1.0 if fit["fits"] else 0.0)


def test_gpu_fit_counts_weights_kv_and_activations() -> None:
    from hwsim.engine.backend import backend_for
    from hwsim.workload.memory import kv_cache_bytes, peak_activation_bytes

    m = hwsim.load_model("llama2-7b", seq=2048, phase="decode")
    # GQA-free 7B: K and V of 32 layers x 4096 wide x 2048 tokens x 2 bytes.
    assert kv_cache_bytes(m, 1) == 2 * 32 * 4096 * 2048 * 2
    chip = hwsim.load_chip("rtx-4090")
    fit = backend_for(chip).memory_fit(m, chip, 1, result=hwsim.simulate(m, chip))
    act = peak_activation_bytes(m, 1)[0]
    assert 0 < act < kv_cache_bytes(m, 1)
    assert fit.resident_bytes == m.weight_bytes + kv_cache_bytes(m, 1) + act
    assert fit.fits and fit.devices_needed == 1  # 13.5 GB of fp16 weights + 1.1 GB KV < 24 GB
    big = hwsim.load_model("llama3-405b-8bit", seq=2048, phase="decode")
    fit = backend_for(chip).memory_fit(big, chip, 1, result=hwsim.simulate(big, chip))
    assert not fit.fits
    assert fit.devices_needed == -(-int(fit.resident_bytes) // 24_000_000_000)


def test_sim_cache_asks_once() -> None:
    sim = Sim()
    docs = load_claims(only=["c3-adaptive-sparse-attention"])
    run_claims(docs, sim=sim)
    calls = sim.calls
    run_claims(docs, sim=sim)
    assert sim.calls == calls


# ---------------------------------------------------------------- CLI and bad files


def test_cli_json_and_html(run_cli, tmp_path: Path) -> None:
    html = tmp_path / "r.html"
    code, out, _ = run_cli("claims", "--json", "--only", "c5-hospital-cost", "--html",
                           str(html))
    assert code == 0
    doc = json.loads(out)
    assert [c["id"] for c in doc["claims"]] == ["c5-hospital-cost"]
    text = html.read_text()
    # plotly.js inlined: no script is fetched from anywhere
    assert "plotly" in text.lower() and "<script src" not in text and 'src="http' not in text


GOOD = (CLAIMS_DIR / "c5-hospital-cost.yaml").read_text()


@pytest.mark.parametrize(("text", "expect"), [
    (GOOD.replace("metric: energy_saving", "metric: energy_savings"), "metric"),
    (GOOD.replace("claimed: 0.95", "claimed: lots"), "claimed"),
    (GOOD.replace("    rule: at_least\n", "") + "checks: oops\n", "checks"),
    (GOOD.replace("id: cost-95", "id: Cost 95"), "checks[0].id"),
    (GOOD.replace("  - id: batch\n", "  - id: batch\n    seq: [1]\n", 1), "sensitivity[0]"),
    ("[1, 2]\n", "expected a YAML mapping"),
])
def test_bad_claim_files_exit_2(run_cli, tmp_path: Path, text: str, expect: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    code, _, err = run_cli("claims", str(bad))
    assert code == 2
    assert expect in err and "Traceback" not in err


def test_unknown_preset_and_only(run_cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("model: relu-vit-b16}", "model: relu-vit-b61}", 1))
    code, _, err = run_cli("claims", str(bad))
    assert code == 2 and "relu-vit-b61" in err
    code, _, err = run_cli("claims", "--only", "c9-nothing")
    assert code == 2 and "unknown claim id" in err
    with pytest.raises(HwsimError):
        load_claims([tmp_path / "missing.yaml"])
