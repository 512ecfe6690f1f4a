"""``hwsim study run | pareto | report`` end to end on a small study."""

from __future__ import annotations

import json

import yaml

DOC = {
    "schema_version": 1, "name": "t-cli", "chips": ["systolic-32x32"],
    "space": [{"path": "array.rows", "tied": ["array.cols"], "values": [16, 32, 64]}],
    "workloads": [{"model": "mlperf-tiny-kws"}],
    "objectives": [{"metric": "latency_s"}, {"metric": "area_mm2"}],
}


def test_run_pareto_report(run_cli, tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(DOC))
    store = ["--store-dir", str(tmp_path / "runs")]
    code, _, err = run_cli("study", "run", str(f), *store)
    assert code == 0, err
    assert "evaluated 3 points, 0 already in the store" in err
    assert "pts/s" in err and "ETA" in err  # the progress bar's rate and ETA
    code, _, err = run_cli("study", "run", str(f), "--quiet", *store)
    assert code == 2 and "--resume" in err
    code, _, err = run_cli("study", "run", str(f), "--quiet", "--resume", *store)
    assert code == 0 and "evaluated 0 points, 3 already" in err and "pts/s" not in err
    code, out, err = run_cli("study", "pareto", str(f), "--json", *store)
    assert code == 0, err
    rows = json.loads(out)
    # Bigger arrays are faster and larger: all three sizes trade latency for area.
    assert len(rows) == 3 and {r["accuracy_provenance"] for r in rows} == {"unknown"}
    code, out, _ = run_cli("study", "pareto", str(f), "--objective", "latency_s:min",
                           "--objective", "edp:min", "--json", *store)
    assert code == 0 and 1 <= len(json.loads(out)) <= 3
    code, _, err = run_cli("study", "pareto", str(f), "--objective", "speed:max",
                           "--objective", "latency_s", *store)
    assert code == 2 and "metric" in err
    code, _, err = run_cli("study", "report", str(f), "-o", str(tmp_path / "r.html"), *store)
    assert code == 0 and (tmp_path / "r.html").stat().st_size > 100_000
    code, _, err = run_cli("study", "report", "mcu-sln", "-o", str(tmp_path / "r.html"), *store)
    assert code == 2 and "run it first" in err


def test_unreachable_dask_scheduler_is_a_clean_error_and_leaves_no_store(run_cli, tmp_path):
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(DOC))
    code, _, err = run_cli("study", "run", str(f), "--quiet", "--dask",
                           f"tcp://127.0.0.1:{port}", "--store-dir", str(tmp_path / "runs"))
    assert code == 2 and "cannot reach a Dask scheduler" in err and "Traceback" not in err
    assert not (tmp_path / "runs" / "t-cli.duckdb").exists()
