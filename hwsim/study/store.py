"""The study store: one DuckDB file per study, one row per evaluated point.

Rows go in one transaction per batch (``INSERT OR IGNORE`` on the point id, so a point is never
stored twice). A process killed mid-run loses at most its uncommitted batch: DuckDB's write-ahead
log replays committed transactions and drops the rest when the file is next opened. The
writer lets go of the file every second, so a reader (the report, the app) can look in between
batches.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from hwsim.errors import input_error
from hwsim.study.spec import Study

LOCK_WAIT_S = 30.0  # another process holding the file: wait this long before giving up

FIXED_COLUMNS: list[tuple[str, str]] = [
    ("point_id", "VARCHAR PRIMARY KEY"), ("trial", "BIGINT"), ("run_id", "INTEGER"),
    ("evaluated_at", "TIMESTAMP"), ("chip", "VARCHAR"), ("chip_kind", "VARCHAR"),
    ("model", "VARCHAR"), ("batch", "INTEGER"), ("seq", "INTEGER"), ("phase", "VARCHAR"),
    ("sparsity", "VARCHAR"), ("params_json", "VARCHAR"),
    ("latency_s", "DOUBLE"), ("energy_j", "DOUBLE"), ("area_mm2", "DOUBLE"), ("edp", "DOUBLE"),
    ("power_w", "DOUBLE"), ("accuracy", "DOUBLE"), ("accuracy_metric", "VARCHAR"),
    ("accuracy_provenance", "VARCHAR"), ("accuracy_source", "VARCHAR"),
    ("accuracy_ci_low", "DOUBLE"), ("accuracy_ci_high", "DOUBLE"),
    ("accuracy_dense", "DOUBLE"), ("accuracy_loss_vs_dense", "DOUBLE"),
    ("accuracy_dense_source", "VARCHAR"),
    ("fits", "BOOLEAN"), ("fit_detail", "VARCHAR"), ("feasible", "BOOLEAN"),
    ("violations", "VARCHAR"), ("error", "VARCHAR"), ("evaluator", "VARCHAR"),
    ("fidelity", "VARCHAR"), ("hwsim_version", "VARCHAR"), ("base_chip_hash", "VARCHAR"),
    ("chip_hash", "VARCHAR"), ("model_hash", "VARCHAR"), ("study_hash", "VARCHAR"),
]


# Columns added after stores were first written: a resumed older store gains them (NULL in its
# earlier rows) instead of being refused as another study's.
ADDED_COLUMNS = frozenset({"accuracy_dense", "accuracy_loss_vs_dense", "accuracy_dense_source"})


def store_path_for(study: Study, store_dir: Path) -> Path:
    return Path(store_dir) / f"{study.name}.duckdb"


def connect(path: Path, read_only: bool = False) -> Any:
    """Open the file, waiting while another process holds DuckDB's lock on it."""
    import duckdb

    deadline = time.monotonic() + LOCK_WAIT_S
    delay = 0.01
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise input_error(str(path), f"cannot open the study store: {exc}") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def param_columns(study: Study) -> list[tuple[str, str]]:
    cols = []
    for p in study.doc.space:
        vals = p.values if p.values is not None else [p.low, p.high]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in vals)
        boolean = all(isinstance(v, bool) for v in vals)
        cols.append(("param." + p.path, "DOUBLE" if numeric else
                     "BOOLEAN" if boolean else "VARCHAR"))
    return cols


def open_store(study: Study, path: Path, *, resume: bool) -> int:
    """Create (or, with ``resume``, reopen) the store; returns this run's id."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not resume:
        raise input_error(str(path), "the study store already exists",
                          hint="add --resume to finish it, or delete the file to start over")
    cols = FIXED_COLUMNS + param_columns(study)
    if study.doc.serving is not None:
        from hwsim.config.study_serving import serving_columns

        cols += serving_columns()
    con = connect(path)
    try:
        con.execute("BEGIN")
        con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        con.execute("CREATE TABLE IF NOT EXISTS runs (run_id INTEGER PRIMARY KEY, started_at "
                    "TIMESTAMP, finished_at TIMESTAMP, executor VARCHAR, evaluated BIGINT, "
                    "skipped BIGINT)")
        body = ", ".join(f'"{c}" {t}' for c, t in cols)
        con.execute(f"CREATE TABLE IF NOT EXISTS points ({body})")
        have = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                          "WHERE table_name = 'points'").fetchall()]
        want = [c for c, _ in cols]
        for c, t in cols:  # a store from before a column was added (dense-twin accuracy)
            if c in ADDED_COLUMNS and c not in have:
                con.execute(f'ALTER TABLE points ADD COLUMN "{c}" {t}')
                have.append(c)
        if set(have) != set(want):
            con.execute("ROLLBACK")
            raise input_error(str(path), "this store was written by a study with other "
                              "parameters", hint="use another study name, or delete the file")
        con.execute("INSERT OR REPLACE INTO meta VALUES ('study', ?), ('study_hash', ?), "
                    "('source', ?)", [study.to_json(), study.doc_hash, study.source])
        run_id = int(con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs").fetchall()[0][0])
        con.execute("INSERT INTO runs VALUES (?, now(), NULL, NULL, 0, 0)", [run_id])
        con.execute("COMMIT")
    finally:
        con.close()
    return run_id


def done_ids(path: Path) -> set[str]:
    if not path.exists():
        return set()
    con = connect(path, read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT point_id FROM points").fetchall()}
    finally:
        con.close()


class StoreWriter:
    """Commits batches of rows, one transaction each, through a connection it keeps open for up
    to ``RELEASE_S`` seconds: long enough that commits stay cheap, short enough that another
    process (a report, the app) waiting on DuckDB's file lock gets in between batches."""

    RELEASE_S = 1.0

    def __init__(self, path: Path, run_id: int) -> None:
        self.path, self.run_id = path, run_id
        self.con: Any = None
        self.opened = 0.0

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    def write(self, rows: Iterable[dict[str, Any]], skipped: int = 0) -> int:
        """Insert rows in one transaction; returns how many were new."""
        df = pd.DataFrame(list(rows))
        if self.con is None:
            self.con, self.opened = connect(self.path), time.monotonic()
        con = self.con
        con.execute("BEGIN")
        try:
            before = con.execute("SELECT count(*) FROM points").fetchall()[0][0]
            if len(df):
                df["run_id"] = self.run_id
                df["evaluated_at"] = pd.Timestamp.now()
                con.register("batch_rows", df)
                names = ", ".join(f'"{c}"' for c in df.columns)
                con.execute(f"INSERT OR IGNORE INTO points ({names}) SELECT {names} "
                            "FROM batch_rows")
                con.unregister("batch_rows")
            new = con.execute("SELECT count(*) FROM points").fetchall()[0][0] - before
            con.execute("UPDATE runs SET evaluated = evaluated + ?, skipped = skipped + ? "
                        "WHERE run_id = ?", [new, skipped, self.run_id])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        if time.monotonic() - self.opened > self.RELEASE_S:
            self.release()
        return int(new)


def close_run(path: Path, run_id: int, executor: str) -> None:
    con = connect(path)
    try:
        con.execute("UPDATE runs SET finished_at = now(), executor = ? WHERE run_id = ?",
                    [executor, run_id])
    finally:
        con.close()


def read_points(store_path: str | Path) -> pd.DataFrame:
    """Every evaluated point, in search order (one row each; see the module docstring)."""
    p = Path(store_path)
    if not p.exists():
        raise input_error(str(p), "no study store here", hint="run the study first: "
                          "hwsim study run FILE")
    con = connect(p, read_only=True)
    try:
        return con.execute("SELECT * FROM points ORDER BY trial, point_id").df()
    finally:
        con.close()


def read_meta(store_path: str | Path) -> dict[str, Any]:
    con = connect(Path(store_path), read_only=True)
    try:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        runs = con.execute("SELECT * FROM runs ORDER BY run_id").df()
    finally:
        con.close()
    return {"study": json.loads(meta.get("study", "{}")), "study_hash": meta.get("study_hash"),
            "source": meta.get("source"), "runs": runs}
