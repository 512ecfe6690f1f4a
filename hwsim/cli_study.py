"""``hwsim study run | report | pareto | export``: the study commands (a thin layer over
:mod:`hwsim.study`)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from hwsim.errors import input_error

study_app = typer.Typer(no_args_is_help=True, help="Design-space exploration studies: run "
                        "(resumable, local or Dask), report, Pareto fronts, export.")
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=False, width=160)

StoreDir = Annotated[Path, typer.Option("--store-dir", help="folder of the study stores")]


class RateColumn(ProgressColumn):
    """Points per second since the start of this run."""

    def render(self, task: Any) -> Text:
        elapsed = task.elapsed or 0.0
        done = task.completed - task.fields.get("start", 0)
        rate = done / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.1f} pts/s", style="progress.data.speed")


@study_app.command("run")
def run_cmd(
    file: Annotated[str, typer.Argument(help="study YAML or preset name")],
    workers: Annotated[int, typer.Option("--workers", help="Dask LocalCluster of N worker "
                                         "processes on 127.0.0.1 (1: in this process)")] = 1,
    dask: Annotated[str | None, typer.Option("--dask", help="address of an existing Dask "
                                             "scheduler, e.g. tcp://host:8786")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="finish a study whose store "
                                         "exists (no point is recomputed)")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress bar")] = False,
    store_dir: StoreDir = Path("runs"),
) -> None:
    """Run a study into runs/<name>.duckdb."""
    from hwsim.study import load_study, run_study
    from hwsim.study.store import read_meta

    if workers < 1:
        raise input_error("--workers", "workers must be >= 1", given=workers)
    if workers > 1 and dask is not None:
        raise input_error("--workers", "give --workers or --dask, not both")
    from hwsim.study import store_path_for

    study = load_study(file)
    if store_path_for(study, store_dir).exists() and not resume:
        raise input_error(str(store_path_for(study, store_dir)), "the study store already "
                          "exists", hint="add --resume to finish it, or delete the file to "
                          "start over")
    t0 = time.perf_counter()
    if quiet:
        path = run_study(study, workers=workers, dask_address=dask, resume=resume,
                         store_dir=store_dir)
    else:
        with Progress(TextColumn(f"[bold]{study.name}"), BarColumn(), MofNCompleteColumn(),
                      RateColumn(), TimeElapsedColumn(), TextColumn("ETA"),
                      TimeRemainingColumn(), console=err, transient=False) as bar:
            task = bar.add_task("points", total=None)

            def progress(done: int, total: int) -> None:
                if bar.tasks[0].total is None:
                    bar.reset(task, total=total, completed=done, start=True)
                    bar.update(task, start=done)
                bar.update(task, completed=done)

            path = run_study(study, workers=workers, dask_address=dask, resume=resume,
                             progress=progress, store_dir=store_dir)
    runs = read_meta(path)["runs"]
    last = runs.iloc[-1]
    err.print(f"{study.name}: evaluated {int(last['evaluated'])} points, "
              f"{int(last['skipped'])} already in the store, in "
              f"{time.perf_counter() - t0:.1f} s -> {path}", markup=False, highlight=False)


def _store(file: str, store_dir: Path) -> tuple[Any, Path]:
    from hwsim.study import load_study, store_path_for

    study = load_study(file)
    path = store_path_for(study, store_dir)
    if not path.exists():
        raise input_error(str(path), "no store for this study yet",
                          hint=f"run it first: hwsim study run {file}")
    return study, path


@study_app.command("report")
def report_cmd(
    file: Annotated[str, typer.Argument(help="study YAML or preset name")],
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")],
    store_dir: StoreDir = Path("runs"),
) -> None:
    """Write the self-contained HTML report of a study."""
    from hwsim.study import write_report

    if output.suffix.lower() not in (".html", ".htm"):
        raise input_error(str(output), "the report is an .html file", field="-o")
    if not output.parent.exists():
        raise input_error(str(output), "output folder does not exist", field="-o")
    study, path = _store(file, store_dir)
    write_report(study, path, output)
    err.print(f"wrote {output}", markup=False, highlight=False)


@study_app.command("pareto")
def pareto_cmd(
    file: Annotated[str, typer.Argument(help="study YAML or preset name")],
    objective: Annotated[list[str] | None, typer.Option(
        "--objective", help="METRIC:min|max (2 or 3; default: the study's objectives)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON rows")] = False,
    store_dir: StoreDir = Path("runs"),
) -> None:
    """Print the Pareto front of a study's feasible points."""
    from rich.table import Table

    from hwsim.study.pareto import pareto_from_store

    study, path = _store(file, store_dir)
    if objective:
        objs = []
        for item in objective:
            metric, _, goal = item.partition(":")
            objs.append((metric, goal or "min"))
    else:
        objs = [(o.metric, o.goal) for o in study.doc.objectives]
        if len(objs) == 1:
            raise input_error("--objective", "this study has one objective; name two or three "
                              "for a front", hint="e.g. --objective latency_s:min "
                              "--objective energy_j:min")
    front = pareto_from_store(path, objs)
    cols = ["point_id", "chip", "model", "batch", "sparsity", "params_json",
            *[m for m, _ in objs], "accuracy", "accuracy_provenance"]
    cols = list(dict.fromkeys(cols))
    if as_json:
        rows = front[cols].astype(object).where(front[cols].notna(), None)
        sys.stdout.write(json.dumps(rows.to_dict("records"), indent=2, default=str) + "\n")
        return
    table = Table(title=f"{study.name}: Pareto front over "
                  + ", ".join(f"{m} ({g})" for m, g in objs), header_style="bold")
    for c in cols:
        table.add_column(c)
    for r in front[cols].itertuples(index=False):
        table.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in r])
    out.print(table)


@study_app.command("export")
def export_cmd(
    file: Annotated[str, typer.Argument(help="study YAML or preset name")],
    output: Annotated[Path, typer.Option("-o", "--output", help=".parquet or .csv file")],
    store_dir: StoreDir = Path("runs"),
) -> None:
    """Export every stored point to Parquet or CSV."""
    from hwsim.study import read_points

    suffix = output.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise input_error(str(output), "unknown export format", field="-o",
                          hint="use a .parquet or .csv file name")
    if not output.parent.exists():
        raise input_error(str(output), "output folder does not exist", field="-o")
    _, path = _store(file, store_dir)
    df = read_points(path)
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=suffix)
    os.close(fd)
    try:
        if suffix == ".csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
        os.replace(tmp, output)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    err.print(f"wrote {output}: {len(df)} points", markup=False, highlight=False)
