"""Terminal tables of :mod:`hwsim.report.validate_mcu_ethosu` (``hwsim validate mcu`` prints
them first)."""

from __future__ import annotations

from typing import Any

from hwsim.cli.render import out, percent, signed_percent, table


def print_ethosu(doc: dict[str, Any]) -> None:
    t = table(("group", "runs", "median |err|", "p90 |err|", "<=15%", "median signed"),
              title="HELD OUT: Ethos-U structural model vs Vela 5.2.0, single-op sweep "
              "(op shapes never fitted; per layer)")
    for r in doc["sweep_heldout_per_layer"]:
        t.add_row(r["group"], str(r["runs"]), percent(r["median_abs_error"], 1),
                  percent(r["p90_abs_error"], 0), percent(r["within_15pct"], 0),
                  signed_percent(r["signed_median_error"]))
    out().print(t)
    m, e, f = (doc["sweep_heldout_per_model"], doc["sweep_heldout_engine_weights"],
               doc["sweep_fit_per_layer"])
    out().print(f"Held-out single-op networks, totals (cycles_total): median |error| "
                f"{percent(m['median_abs_error'], 1)} over {m['runs']} runs. With the engine's "
                f"weight compression instead of Vela's encoded sizes: "
                f"{percent(e['median_abs_error'], 1)}. Fitting shapes (in sample): "
                f"{percent(f['median_abs_error'], 1)}.")
    lay = doc["mlperf_per_layer"]
    tot = doc["mlperf_totals"]
    out().print(f"MLPerf Tiny models through the engine (no cycle constant fitted on them; "
                f"weight compression fitted on their encoded sizes): per layer median |error| "
                f"{percent(lay['median_abs_error'], 1)} over {lay['layers']} layers; per-model "
                f"totals {percent(tot['all']['median_abs_error'], 1)} median over "
                f"{tot['all']['figures']} Vela runs (default configs "
                f"{percent(tot['default_configs']['median_abs_error'], 1)}, memory modes "
                f"{percent(tot['memory_modes']['median_abs_error'], 1)}; worst "
                f"{percent(tot['all']['max_abs_error'], 0)}).")
