"""``hwsim study run | report | pareto | export``: the study commands, a thin layer over
:mod:`hwsim.study`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from hwsim.cli.options import StoreDir, check_output, write_atomically
from hwsim.cli.render import cell, note, out, study_progress, table
from hwsim.errors import input_error

study_app = typer.Typer(no_args_is_help=True, help="Design-space exploration studies: run "
                        "(resumable, local or Dask), report, Pareto fronts, export.")
StudyFile = Annotated[str, typer.Argument(help="study YAML or preset name")]


@study_app.command("run")
def run_cmd(
    file: StudyFile,
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
    from hwsim.study import load_study, run_study, store_path_for
    from hwsim.study.store import read_meta

    if workers < 1:
        raise input_error("--workers", "workers must be >= 1", given=workers)
    if workers > 1 and dask is not None:
        raise input_error("--workers", "give --workers or --dask, not both")
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
        with study_progress(study.name) as bar:
            task = bar.add_task("points", total=None)

            def progress(done: int, total: int) -> None:
                if bar.tasks[0].total is None:
                    bar.reset(task, total=total, completed=done, start=True)
                    bar.update(task, start=done)
                bar.update(task, completed=done)

            path = run_study(study, workers=workers, dask_address=dask, resume=resume,
                             progress=progress, store_dir=store_dir)
    last = read_meta(path)["runs"].iloc[-1]
    note(f"{study.name}: evaluated {int(last['evaluated'])} points, "
         f"{int(last['skipped'])} already in the store, in "
         f"{time.perf_counter() - t0:.1f} s -> {path}")


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
    file: StudyFile,
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")],
    store_dir: StoreDir = Path("runs"),
) -> None:
    """Write the self-contained HTML report of a study."""
    from hwsim.study import write_report

    check_output(output, "-o", (".html", ".htm"), "the report is an .html file")
    study, path = _store(file, store_dir)
    write_report(study, path, output)
    note(f"wrote {output}")


@study_app.command("pareto")
def pareto_cmd(
    file: StudyFile,
    objective: Annotated[list[str] | None, typer.Option(
        "--objective", help="METRIC:min|max (2 or 3; default: the study's objectives)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON rows")] = False,
    store_dir: StoreDir = Path("runs"),
) -> None:
    """Print the Pareto front of a study's feasible points."""
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
    grid = table(cols, title=f"{study.name}: Pareto front over "
                 + ", ".join(f"{m} ({g})" for m, g in objs))
    for r in front[cols].itertuples(index=False):
        grid.add_row(*[cell(v) for v in r])
    out().print(grid)


@study_app.command("export")
def export_cmd(
    file: StudyFile,
    output: Annotated[Path, typer.Option("-o", "--output", help=".parquet or .csv file")],
    store_dir: StoreDir = Path("runs"),
) -> None:
    """Export every stored point to Parquet or CSV."""
    from hwsim.study import read_points

    check_output(output, "-o", (".parquet", ".csv"), "unknown export format",
                 hint="use a .parquet or .csv file name")
    _, path = _store(file, store_dir)
    df = read_points(path)
    csv = output.suffix.lower() == ".csv"
    write_atomically(output, lambda tmp: df.to_csv(tmp, index=False) if csv
                     else df.to_parquet(tmp, index=False))
    note(f"wrote {output}: {len(df)} points")
