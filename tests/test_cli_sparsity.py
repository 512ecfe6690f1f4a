"""--sparsity and --compare-dense on the command line."""

from __future__ import annotations

import json

import pytest

import hwsim


def test_compare_dense_json_matches_api(run_cli):
    code, out, _ = run_cli("simulate", "--chip", "sparseflow-accel", "--model",
                           "selective-gpt2-small", "--compare-dense", "--json")
    assert code == 0
    doc = json.loads(out)
    api = hwsim.simulate("selective-gpt2-small", "sparseflow-accel", compare_dense=True)
    assert doc["vs_dense"] == api.to_dict()["vs_dense"]
    assert doc["total"]["energy_j"] == api.total.energy_j


def test_sparsity_override_changes_result_and_table(run_cli):
    code, out, _ = run_cli("simulate", "--chip", "sparseflow-accel", "--gemm", "1,1024,4096",
                           "--sparsity", "*:topk:density=0.02", "--compare-dense")
    assert code == 0 and "sparse vs its dense twin" in out


def test_bad_sparsity_overrides(run_cli):
    cases = {
        "gemm:topk:densty=0.1": "did you mean 'density'",
        "gemm:topq:density=0.1": "did you mean 'topk'",
        "gemm:topk:density=2": "less than or equal to 1",
        "nothing*:topk:density=0.1": "no op of",
        "gemm:moe": "no op of",
        "gemm": "OPGLOB:KIND",
        "gemm:topk:density": "key=value",
    }
    for spec, message in cases.items():
        code, _, err = run_cli("simulate", "--chip", "systolic-32x32", "--gemm", "8,8,8",
                               "--sparsity", spec)
        assert code == 2, spec
        assert message in err, (spec, err)


# Same worker as test_gpu_heldout's CLI test: the second run reads the session's result cache.
@pytest.mark.xdist_group("validate-gpu")
def test_validate_gpu_prints_the_comparison(run_cli):
    from hwsim.report.validate_gpu import validation_rows

    code, out, _ = run_cli("validate", "gpu", "--json")
    assert code == 0
    assert json.loads(out)["calibration"] == json.loads(json.dumps(validation_rows()))
    code, out, _ = run_cli("validate", "gpu")
    assert code == 0 and "matmul: mean |error|" in out


def test_mcu_through_simulate_and_validate(run_cli):
    code, out, _ = run_cli("simulate", "--chip", "stm32f746-m7", "--model", "sln-kws")
    assert code == 0 and "DOES NOT FIT" in out and "1,048,576 B flash" in out
    code, out, _ = run_cli("validate", "mcu", "--json")
    assert code == 0 and json.loads(out)
    code, out, _ = run_cli("simulate", "--chip", "stm32l4r5-m4", "--model", "sln-kws",
                           "--fidelity", "cycle")
    assert code == 0 and "cycle" in out
