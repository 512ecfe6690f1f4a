"""Where chunks of points are evaluated: in this process, or on a Dask cluster.

Both yield each chunk's rows as it completes. Chunks are pure functions of their points, so a
chunk lost with a Dask worker is simply recomputed on another worker; the store keeps one row
per point id whatever happens.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from hwsim.errors import input_error
from hwsim.study.chunk import evaluate_chunk
from hwsim.study.points import Point
from hwsim.study.spec import Study

Rows = list[dict[str, Any]]
POLL_S = 0.02  # how often the client looks for finished chunks


class Executor(Protocol):
    name: str

    def map_chunks(self, study: Study, chunks: Iterable[list[Point]]) -> Iterator[Rows]: ...


class LocalExecutor:
    """Evaluate in this process (the vectorised path already uses numpy on whole chunks)."""

    name = "local"

    def map_chunks(self, study: Study, chunks: Iterable[list[Point]]) -> Iterator[Rows]:
        for chunk in chunks:
            yield evaluate_chunk(study, chunk)

# A chunk cancelled by the scheduler (its scattered study lost with a killed worker) is sent
# again up to this many times; a real error in a chunk is raised at once.
MAX_RESUBMITS = 3


class DaskExecutor:
    """Evaluate chunks on a ``distributed`` cluster, a few in flight per worker, results in
    completion order."""

    name = "dask"

    def __init__(self, client: Any, in_flight_per_worker: int = 2) -> None:
        self.client = client
        self.in_flight_per_worker = in_flight_per_worker

    def map_chunks(self, study: Study, chunks: Iterable[list[Point]]) -> Iterator[Rows]:
        workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        limit = workers * self.in_flight_per_worker
        scattered: list[Any] = []
        it = iter(chunks)
        pending: dict[Any, tuple[list[Point], int]] = {}  # future -> (chunk, attempt)

        def study_ref() -> Any:
            # Scattered data cannot be recomputed: when a killed worker held the last replica
            # the scheduler cancels its dependents, so a cancelled chunk re-scatters the study.
            if not scattered or scattered[0].status != "finished":
                scattered[:] = self.client.scatter([study], broadcast=True)
            return scattered[0]

        def submit(chunk: list[Point] | None = None, attempt: int = 0) -> bool:
            chunk = next(it, None) if chunk is None else chunk
            if chunk is None:
                return False
            # pure=False: each chunk is its own task even when two chunks look alike.
            future = self.client.submit(evaluate_chunk, study_ref(), chunk, pure=False)
            pending[future] = (chunk, attempt)
            return True

        while len(pending) < limit and submit():
            pass
        # Poll states and gather through this client: distributed.as_completed can wait on
        # another client's event loop when a process holds two clients (the app, tests).
        while pending:
            done = [f for f in pending if f.done()]
            if not done:
                time.sleep(POLL_S)
                continue
            for f in done:
                chunk, attempt = pending.pop(f)
                if f.status == "cancelled" and attempt < MAX_RESUBMITS:
                    f.release()
                    submit(chunk, attempt + 1)
                    continue
                rows = f.result()
                f.release()
                submit()
                yield rows


@contextmanager
def dask_client(workers: int, address: str | None) -> Iterator[Any]:
    """A client on an existing scheduler (``address``) or on a fresh LocalCluster of
    ``workers`` single-threaded processes, every listener on 127.0.0.1, no dashboard, its
    scratch files in a temporary folder removed afterwards."""
    import logging

    from distributed import Client, LocalCluster

    if address is not None:
        try:
            client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise input_error("--dask", f"cannot reach a Dask scheduler at {address}: {exc}",
                              given=address, hint="start one (`dask scheduler`, or "
                              "dask-jobqueue on a cluster) or run locally with --workers N") \
                from None
        try:
            yield client
        finally:
            client.close()
        return
    with tempfile.TemporaryDirectory(prefix="hwsim-dask-") as scratch:
        old = os.environ.get("DASK_TEMPORARY_DIRECTORY")
        os.environ["DASK_TEMPORARY_DIRECTORY"] = scratch  # inherited by the worker processes
        import dask

        try:
            with dask.config.set({"temporary-directory": scratch}), LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address=None,
                    worker_dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
                    Client(cluster) as client:
                yield client
        finally:
            if old is None:
                os.environ.pop("DASK_TEMPORARY_DIRECTORY", None)
            else:
                os.environ["DASK_TEMPORARY_DIRECTORY"] = old
