"""Pareto fronts as queries: the feasible points no other feasible point dominates, over any two
or three objectives, computed by DuckDB on a DataFrame or straight on a study's store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hwsim.config.study_serving import SERVING_METRICS
from hwsim.errors import input_error

METRICS = ("latency_s", "energy_j", "area_mm2", "edp", "power_w", "accuracy",
           *SERVING_METRICS)


def pareto_sql(table: str, objectives: list[tuple[str, str]]) -> str:
    """SQL selecting the non-dominated feasible rows of ``table``.

    b dominates a when b is no worse in every objective and better in one. Rows with an unknown
    objective or an infeasible / undecided verdict take no part (an unknown accuracy is never
    treated as good or bad)."""
    _check(objectives)
    # Minimise everything: a 'max' objective is negated.
    def term(alias: str, metric: str, goal: str) -> str:
        return f'{"-" if goal == "max" else ""}{alias}."{metric}"'

    usable = " AND ".join([f'{{a}}."{m}" IS NOT NULL AND NOT isnan({{a}}."{m}")'
                           for m, _ in objectives] + ["{a}.feasible IS TRUE"])
    order = ", ".join(f'{term("a", m, g)}' for m, g in objectives)
    keys = ", ".join(f"{term('a', m, g)} AS k{i}" for i, (m, g) in enumerate(objectives))
    ks = [f"k{i}" for i in range(len(objectives))]
    if len(objectives) == 2:
        # Sweep in (k0, k1) order: a key is on the front when its k1 beats every earlier k1.
        front = ("SELECT k0, k1 FROM (SELECT k0, k1, min(k1) OVER (ORDER BY k0, k1 ROWS "
                 "BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS best FROM keys) "
                 "WHERE best IS NULL OR k1 < best")
    else:
        no_worse = " AND ".join(f"b.{k} <= a.{k}" for k in ks)
        better = " OR ".join(f"b.{k} < a.{k}" for k in ks)
        front = (f"SELECT a.* FROM keys a WHERE NOT EXISTS (SELECT 1 FROM keys b WHERE "
                 f"{no_worse} AND ({better}))")
    match = " AND ".join(f"f.{k} = {term('a', m, g)}" for k, (m, g) in
                         zip(ks, objectives, strict=True))
    # Identical objective vectors dominate neither way: every row with a front key is kept.
    return (f"WITH keys AS (SELECT DISTINCT {keys} FROM {table} a WHERE "
            f"{usable.format(a='a')}), front AS ({front}) "
            f"SELECT a.* FROM {table} a JOIN front f ON {match} "
            f"WHERE {usable.format(a='a')} ORDER BY {order}")


def pareto_front(df: pd.DataFrame, objectives: list[tuple[str, str]]) -> pd.DataFrame:
    """Non-dominated feasible rows of ``df`` for (metric, "min"|"max") pairs (2 or 3)."""
    import duckdb

    _check(objectives)
    missing = [m for m, _ in objectives if m not in df.columns]
    if missing or "feasible" not in df.columns:
        raise input_error("objectives", f"the points have no column {missing or 'feasible'}")
    if df.empty:
        return df.copy()
    frame = df.copy()
    for m, _ in objectives:
        frame[m] = pd.to_numeric(frame[m], errors="coerce").astype("float64")
    frame["feasible"] = frame["feasible"].astype("boolean")
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.register("pts", frame)
        return con.execute(pareto_sql("pts", objectives)).df().reset_index(drop=True)
    finally:
        con.close()


def pareto_from_store(store_path: str | Path, objectives: list[tuple[str, str]]
                      ) -> pd.DataFrame:
    """The same query run on the DuckDB store file."""
    from hwsim.study.store import connect

    con = connect(Path(store_path), read_only=True)
    try:
        con.execute("SET enable_progress_bar = false")
        return con.execute(pareto_sql("points", objectives)).df()
    finally:
        con.close()


def _check(objectives: list[tuple[str, str]]) -> None:
    if not 2 <= len(objectives) <= 3:
        raise input_error("objectives", "a Pareto front needs two or three objectives",
                          given=objectives)
    for m, g in objectives:
        if m not in METRICS or g not in ("min", "max"):
            raise input_error("objectives", f"expected (metric, 'min'|'max') with metric one of "
                              f"{', '.join(METRICS)}", given=(m, g))
    if len({m for m, _ in objectives}) != len(objectives):
        raise input_error("objectives", "an objective is listed twice", given=objectives)
