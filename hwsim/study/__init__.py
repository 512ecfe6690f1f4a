"""Design-space exploration studies (DESIGN.md §4 "Study"): many ``simulate`` calls over a
study's points, stored one row per point in a DuckDB file that survives kills, searched by grid,
random draws or Optuna, evaluated locally or on Dask, read back as Pareto fronts and a report.

Public API (the CLI and the app call exactly these)::

    study = load_study("systolic-size-vit")
    store = run_study(study, workers=1, resume=False, store_dir=Path("runs"))
    df = read_points(store)
    front = pareto_front(df, [("latency_s", "min"), ("energy_j", "min")])
    write_report(study, store, Path("report.html"))
    chip_doc = design_of(study, df.iloc[0])
"""

from __future__ import annotations

from hwsim.study.design import design_of
from hwsim.study.pareto import pareto_from_store, pareto_front
from hwsim.study.report import write_report
from hwsim.study.runner import run_study
from hwsim.study.spec import Study, load_study, study_from_doc
from hwsim.study.store import read_points, store_path_for

__all__ = [
           "Study",
           "design_of",
           "load_study",
           "pareto_from_store",
           "pareto_front",
           "read_points",
           "run_study",
           "store_path_for",
           "study_from_doc",
           "write_report",
]
