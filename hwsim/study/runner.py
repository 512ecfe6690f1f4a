"""``run_study``: expand or search the study's points, skip those already in the store, evaluate
the rest in batches (locally or on Dask) and commit each batch in one transaction."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hwsim.errors import input_error
from hwsim.study.executors import DaskExecutor, Executor, LocalExecutor, dask_client
from hwsim.study.points import Point, grid_points, random_points
from hwsim.study.spec import Study
from hwsim.study.store import (
    StoreWriter,
    close_run,
    done_ids,
    open_store,
    read_points,
    store_path_for,
)

Progress = Callable[[int, int], None]


def run_study(study: Study, *, workers: int = 1, dask_address: str | None = None,
              resume: bool = False, progress: Progress | None = None,
              store_dir: Path = Path("runs")) -> Path:
    """Run ``study`` and return its DuckDB store (``store_dir/<name>.duckdb``).

    ``workers > 1`` evaluates on a local Dask cluster (loopback only); ``dask_address``
    (``tcp://host:8786``) uses an existing scheduler. ``resume`` reopens an existing store and
    evaluates only the points it lacks. ``progress(done, total)`` is called after each batch.
    """
    if not isinstance(workers, int) or workers < 1:
        raise input_error("--workers", "workers must be a whole number >= 1", given=workers)
    if workers > 1 and dask_address is not None:
        raise input_error("--workers", "give --workers or --dask, not both")
    path = store_path_for(study, store_dir)
    # The executor first: a scheduler that cannot be reached leaves no half-made store behind.
    with _executor(study, workers, dask_address) as ex:
        run_id = open_store(study, path, resume=resume)
        with StoreWriter(path, run_id) as writer:
            if study.doc.search.kind in ("grid", "random"):
                _run_points(study, path, writer, ex, progress)
            else:
                _run_optuna(study, path, writer, ex, progress)
        close_run(path, run_id, ex.name)
    return path


@contextmanager
def _executor(study: Study, workers: int, address: str | None) -> Iterator[Executor]:
    if address is None and workers == 1 and study.doc.executor == "local":
        yield LocalExecutor()
        return
    if address is None and workers == 1:  # executor: dask in the file, no flag: all cores
        workers = os.cpu_count() or 1
    with dask_client(workers, address) as client:
        yield DaskExecutor(client)


def _chunks(points: list[Point], size: int) -> Iterator[list[Point]]:
    for i in range(0, len(points), size):
        yield points[i:i + size]


def _run_points(study: Study, path: Path, writer: StoreWriter, ex: Executor,
                progress: Progress | None) -> None:
    gen = grid_points(study) if study.doc.search.kind == "grid" else random_points(study)
    unique: dict[str, Point] = {}
    for p in gen:
        unique.setdefault(p.point_id, p)
    done = done_ids(path)
    todo = [p for pid, p in unique.items() if pid not in done]
    total = len(unique)
    finished = total - len(todo)
    writer.write([], skipped=finished)
    if progress:
        progress(finished, total)
    for rows in ex.map_chunks(study, _chunks(todo, study.doc.store.batch_points)):
        writer.write(rows)
        finished += len(rows)
        if progress:
            progress(finished, total)


def _run_optuna(study: Study, path: Path, writer: StoreWriter, ex: Executor,
                progress: Progress | None) -> None:
    from hwsim.study.search_optuna import OptunaSearch

    known: dict[str, dict[str, Any]] = {}
    if done_ids(path):
        df = read_points(path)
        known = {r["point_id"]: r for r in
                 df.astype(object).where(df.notna(), None).to_dict("records")}
    search = OptunaSearch(study)
    budget = study.doc.search.budget or 0
    asked_total = 0
    skipped = 0
    if progress:
        progress(0, budget)
    while asked_total < budget:
        asked = search.ask(min(study.doc.search.population, budget - asked_total))
        todo: dict[str, Point] = {}
        for _, p in asked:
            if p.point_id not in known:
                todo.setdefault(p.point_id, p)
        skipped += len(asked) - len(todo)
        for rows in ex.map_chunks(study, _chunks(list(todo.values()),
                                                 study.doc.store.batch_points)):
            writer.write(rows)
            known.update({r["point_id"]: r for r in rows})
        for trial, p in asked:
            search.tell(trial, known[p.point_id])
        asked_total += len(asked)
        if progress:
            progress(asked_total, budget)
    writer.write([], skipped=skipped)
