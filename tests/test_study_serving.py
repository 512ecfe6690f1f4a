"""Serving studies: each point is a token-level ``serve_tokens`` run, swept over chips x
parallelism x scheduler limits by dotted path, its serving metrics stored in DuckDB."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from hwsim.errors import HwsimError
from hwsim.serving import serve_tokens
from hwsim.study import load_study, pareto_front, read_points, run_study, study_from_doc

SERVING = {"rate_per_s": 100, "duration_s": 2, "prompt_tokens": 256, "output_tokens": 32,
           "slo_ttft_s": 0.05, "slo_tpot_s": 0.02}
DOC = {
    "schema_version": 1, "name": "t-serve", "chips": ["h100-sxm"],
    "space": [{"path": "serving.max_num_seqs", "values": [2, 64]},
              {"path": "serving.max_batched_tokens", "values": [256, 2048]}],
    "workloads": [{"model": "gpt2-small"}],
    "serving": SERVING,
    "objectives": [{"metric": "energy_j_per_token"}, {"metric": "ttft_p90_s"}],
    "constraints": [{"metric": "tpot_p90_s", "max": 1.0}],
}


def doc(**changes: object) -> dict:
    return {**json.loads(json.dumps(DOC)), **changes}


def test_points_are_serve_tokens_runs(tmp_path: Path) -> None:
    study = study_from_doc(DOC)
    df = read_points(run_study(study, store_dir=tmp_path))
    assert len(df) == 4 and df["error"].isna().all() and (df["evaluator"] == "serve_tokens").all()
    row = df[(df["param.serving.max_num_seqs"] == 2)
             & (df["param.serving.max_batched_tokens"] == 256)].iloc[0]
    want = serve_tokens("gpt2-small", "h100-sxm", **{**SERVING, "max_num_seqs": 2,
                                                     "max_batched_tokens": 256}).to_dict()
    assert row["ttft_p90_s"] == want["ttft_s"]["p90"]
    assert row["tpot_p50_s"] == want["tpot_s"]["p50"]
    assert row["energy_j_per_token"] == want["energy_j_per_token"]
    assert row["throughput_tokens_per_s"] == want["throughput_tokens_per_s"]
    assert row["goodput_fraction"] == want["goodput"]["fraction"]
    assert row["devices"] == 1 and row["requests"] == want["requests"]
    # two seats queue requests that 64 seats serve at once: TTFT grows
    by_seqs = df.groupby("param.serving.max_num_seqs")["ttft_p90_s"].max()
    assert by_seqs[2] > by_seqs[64]
    assert bool(df["feasible"].all())
    front = pareto_front(df, [("energy_j_per_token", "min"), ("ttft_p90_s", "min")])
    assert 1 <= len(front) <= 4
    # a resumed study recognises every point (ids depend on the serving block and limits)
    again = run_study(study, store_dir=tmp_path, resume=True)
    assert len(read_points(again)) == 4


def test_rate_changes_the_point_ids(tmp_path: Path) -> None:
    from hwsim.study.points import grid_points

    a = {p.point_id for p in grid_points(study_from_doc(DOC))}
    b = {p.point_id for p in grid_points(study_from_doc(
        doc(serving={**SERVING, "rate_per_s": 101})))}
    assert len(a) == 4 and not a & b


@pytest.mark.parametrize(("change", "says"), [
    ({"serving": {**SERVING, "rate": 3}}, "unknown field"),
    ({"serving": {**SERVING, "rate_per_s": -1}}, "rate_per_s"),
    ({"space": [{"path": "serving.max_seqs", "values": [1, 2]}]}, "unknown serving parameter"),
    ({"space": [{"path": "parallel.tp", "values": [1, 5]}]}, "tp=5 does not divide the 12"),
    ({"objectives": [{"metric": "latency_s"}]}, "single-inference figure"),
    ({"workloads": [{"model": "gpt2-small", "batch": [4]}]}, "do not apply to serving"),
    ({"workloads": [{"model": "bert-base"}]}, "not a decoder model"),
    ({"serving": {**SERVING, "prompt_tokens": "zipf:3"}}, "prompt_tokens"),
    ({"fidelity": "cycle"}, "fidelity must be 'analytic'"),
])
def test_bad_serving_studies_are_clear_errors(change: dict, says: str) -> None:
    with pytest.raises(HwsimError) as err:
        study_from_doc(doc(**change))
    assert says in err.value.render()


def test_serving_metrics_need_a_serving_block() -> None:
    bare = doc(objectives=[{"metric": "ttft_p90_s"}])
    del bare["serving"]
    bare["space"] = []
    with pytest.raises(HwsimError) as err:
        study_from_doc(bare)
    assert "needs a 'serving' block" in err.value.render()


def test_cli_bad_study_exits_2(run_cli, tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(doc(space=[{"path": "parallel.tp", "values": [5]}])))
    code, _, err = run_cli("study", "run", str(f), "--store-dir", str(tmp_path))
    assert code == 2 and "parallel.tp" in err and "does not divide" in err


def test_shipped_serving_parallel_study(run_cli, capsys, tmp_path: Path) -> None:
    """configs/studies/serving-parallel.yaml end to end (CLI), fast enough for CI."""
    study = load_study("serving-parallel")
    t0, cpu0 = time.monotonic(), time.process_time()
    code, _, err = run_cli("study", "run", "serving-parallel", "--quiet",
                           "--store-dir", str(tmp_path))
    wall_s, cpu_s = time.monotonic() - t0, time.process_time() - cpu0
    assert code == 0, err
    with capsys.disabled():
        print(f"\nserving-parallel: {wall_s:.1f} s wall, {cpu_s:.1f} s CPU")
    df = read_points(tmp_path / "serving-parallel.duckdb")
    assert len(df) == study.doc.grid_size() and df["error"].isna().all(), df["error"].tolist()
    # CPU time: the study is evaluated in this process; wall time also counts other jobs
    assert cpu_s < 30, cpu_s
    tp = df["param.parallel.tp"]
    assert set(df["devices"]) == set(tp)  # devices = tp (pp = ep = 1)
    # the run reached serve_tokens with the point's parallelism: the tp=2 row is its run
    row = df[(tp == 2) & (df["param.serving.max_num_seqs"] == 64)
             & (df["param.serving.max_batched_tokens"] == 2048)].iloc[0]
    s = study.doc.serving
    assert s is not None
    want = serve_tokens("llama2-7b", "h100-sxm", **{**s.model_dump(), "max_num_seqs": 64,
                                                   "max_batched_tokens": 2048},
                        parallel={"tp": 2, "pp": 1, "ep": 1}).to_dict()
    assert row["tpot_p50_s"] == want["tpot_s"]["p50"]
    assert row["energy_j_per_token"] == want["energy_j_per_token"]
    # two H100s shard each step (shorter TPOT) and idle twice the power (more J per token)
    one = df[(tp == 1) & (df["param.serving.max_num_seqs"] == 64)
             & (df["param.serving.max_batched_tokens"] == 2048)].iloc[0]
    assert row["tpot_p50_s"] < one["tpot_p50_s"]
    # eight seats cannot keep up with 16 requests/s: those points miss the goodput floor
    assert not df[df["param.serving.max_num_seqs"] == 8]["feasible"].any()
    code, out, err = run_cli("study", "pareto", "serving-parallel", "--json",
                             "--store-dir", str(tmp_path))
    assert code == 0, err and json.loads(out)
    code, _, err = run_cli("study", "report", "serving-parallel", "-o",
                           str(tmp_path / "r.html"), "--store-dir", str(tmp_path))
    assert code == 0, err and "energy_j_per_token" in (tmp_path / "r.html").read_text()


def test_system_presets_as_serving_bases(tmp_path: Path) -> None:
    """Devices x parallelism: a system preset (dgx-a100) beside a plain chip, tp swept."""
    study = study_from_doc(doc(chips=["h100-sxm", "dgx-a100"],
                               space=[{"path": "parallel.tp", "values": [1, 2]}]))
    df = read_points(run_study(study, store_dir=tmp_path))
    assert len(df) == 4 and df["error"].isna().all(), df["error"].tolist()
    row = df[(df["chip"] == "dgx-a100") & (df["param.parallel.tp"] == 2)].iloc[0]
    want = serve_tokens("gpt2-small", "dgx-a100", **SERVING,
                        parallel={"tp": 2, "pp": 1, "ep": 1}).to_dict()
    assert row["ttft_p90_s"] == want["ttft_s"]["p90"] and row["devices"] == 2
    assert row["chip_kind"] == "gpu"
    from hwsim.study import design_of

    assert design_of(study, row.to_dict())["chip"] == "a100-sxm-80gb"
    with pytest.raises(HwsimError) as err:
        study_from_doc(doc(chips=["dgx-a100"], space=[{"path": "sms", "values": [100, 108]}]))
    assert "system preset" in err.value.render()


def test_serving_metrics_are_objectives_and_constraints() -> None:
    from typing import get_args

    from hwsim.config.study import ConstraintMetric, ObjectiveMetric
    from hwsim.config.study_serving import SERVING_METRICS
    from hwsim.study.pareto import METRICS

    for names in (get_args(ObjectiveMetric), get_args(ConstraintMetric), METRICS):
        assert set(SERVING_METRICS) <= set(names)
