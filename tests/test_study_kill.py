"""Crash safety with real kills: SIGKILL of a running study, and of a Dask worker mid-study."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from hwsim.study import read_points, run_study, study_from_doc
from hwsim.study.store import read_meta

REPO = Path(__file__).resolve().parents[1]

# Per-point simulate (a GPU field is not in the vectorised sweep): ~10-40 ms per point, so 601
# points outlast the poll that waits for the first 12 (301 sometimes finished within it).
SLOW = {
    "schema_version": 1, "name": "t-kill", "chips": ["a100-sxm-80gb"],
    "space": [{"path": "offchip.bw_bytes_per_s", "low": 1.0e12, "high": 2.5e12, "step": 2.5e9}],
    "workloads": [{"model": "gpt2-small", "batch": [1]}],
    "objectives": [{"metric": "latency_s"}, {"metric": "energy_j"}],
    "store": {"batch_points": 4},
}
TOTAL = 601
DASK_TOTAL = 61


def _rows(path: Path) -> int | None:
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None  # the writer holds the file for a moment; try again
    try:
        return con.execute("SELECT count(*) FROM points").fetchall()[0][0]
    except duckdb.Error:
        return None
    finally:
        con.close()


def test_sigkill_mid_run_then_resume(tmp_path):
    f = tmp_path / "kill.yaml"
    f.write_text(yaml.safe_dump(SLOW))
    store = tmp_path / "runs" / "t-kill.duckdb"
    cmd = [sys.executable, "-m", "hwsim.cli", "study", "run", str(f), "--quiet",
           "--store-dir", str(tmp_path / "runs")]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        seen = 0
        while time.monotonic() < deadline and proc.poll() is None:
            seen = (_rows(store) if store.exists() else 0) or seen
            if seen >= 12:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the study finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    survived = read_points(store)  # readable after the kill
    kept = len(survived)
    assert 12 <= kept < TOTAL and survived["point_id"].is_unique
    assert kept % 4 == 0  # whole batches only: the in-flight batch is lost, not half-written
    res = subprocess.run([*cmd, "--resume"], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    df = read_points(store)
    assert len(df) == TOTAL and df["point_id"].is_unique
    assert set(survived["point_id"]) <= set(df["point_id"])
    runs = read_meta(store)["runs"]
    # The resumed run evaluated exactly the missing points: nothing recomputed.
    assert int(runs["evaluated"].iloc[-1]) == TOTAL - kept
    assert int(runs["skipped"].iloc[-1]) == kept
    assert f"evaluated {TOTAL - kept} points, {kept} already" in res.stderr


def test_dask_worker_killed_mid_study(tmp_path):
    pytest.importorskip("distributed")
    from hwsim.study.executors import dask_client

    doc = dict(SLOW, name="t-dask", store={"batch_points": 3},
               space=[{"path": "offchip.bw_bytes_per_s", "low": 1.0e12, "high": 2.5e12,
                       "step": 2.5e10}])
    study = study_from_doc(doc)
    with dask_client(2, None) as client:
        info = client.scheduler_info()
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        assert all(a.startswith("tcp://127.0.0.1:") for a in info["workers"])
        assert os.environ["DASK_TEMPORARY_DIRECTORY"]
        pids = client.run(os.getpid)
        victim = sorted(pids.values())[0]
        killed: list[int] = []

        def progress(done: int, total: int) -> None:
            if done > 0 and not killed:
                os.kill(victim, signal.SIGKILL)
                killed.append(done)

        path = run_study(study, dask_address=client.scheduler.address, progress=progress,
                         store_dir=tmp_path)
    assert killed and killed[0] < DASK_TOTAL
    df = read_points(path)
    assert len(df) == DASK_TOTAL and df["point_id"].is_unique
    assert df["latency_s"].notna().all()
    assert int(read_meta(path)["runs"]["evaluated"].iloc[-1]) == DASK_TOTAL
