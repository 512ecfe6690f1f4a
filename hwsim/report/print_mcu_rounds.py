"""Terminal tables of :mod:`hwsim.report.validate_mcu_rounds` (``hwsim validate mcu`` prints
them right after the held-out Ethos-U figures, before any in-sample table)."""

from __future__ import annotations

from typing import Any

from hwsim.cli.render import out, percent, signed_percent, table

# nn-Meter (Zhang et al., MobiSys 2021, Table 4): 99.0 % of models within +-10 % on mobile CPUs,
# 83.4 % on the Intel VPU.
NN_METER = "nn-Meter puts 99 % of models within ±10 % on mobile CPUs (83 % on a VPU)"


def print_rounds(doc: dict[str, Any]) -> None:
    t = table(("quantity", "rows", "by", "group", "median |err|", "mean |err|", "<=25%",
               "mean signed", "worst"),
              title="HELD OUT: Cortex-M latency and energy vs MLPerf Tiny v0.5-v1.3 (rows never "
              "fitted; energy = hwsim power x hwsim latency)",
              right=("rows", "median |err|", "mean |err|", "<=25%", "mean signed"))
    for r in doc["summary"]:
        if r["role"] != "heldout":
            continue
        t.add_row(r["quantity"], str(r["rows"]), r["by"], r["group"],
                  percent(r["median_abs_error"], 1), percent(r["mean_abs_error"], 1),
                  percent(r["within_25pct"], 0), signed_percent(r["mean_error"]), r["worst"])
    out().print(t)
    lat = next(r for r in doc["summary"] if r["quantity"] == "latency_ms"
               and r["role"] == "heldout" and r["by"] == "all")
    within10 = sum(1 for r in doc["rows"] if r["quantity"] == "latency_ms"
                   and r["role"] == "heldout" and abs(r["error"]) <= 0.10)
    out().print(f"Targets (held out): latency median <= {percent(doc['targets']['latency'], 0)}, "
                f"energy <= {percent(doc['targets']['energy'], 0)}, >= 80 % of rows within "
                f"25 %. Anchor: {NN_METER}; hwsim has {within10} of {lat['rows']} held-out "
                f"MLPerf Tiny latencies ({percent(within10 / lat['rows'], 0)}) within ±10 %.")
    fit = [r for r in doc["summary"] if r["role"] == "fitted"]
    out().print("In sample (rows the constants were fitted on): " + "; ".join(
        f"{r['quantity']} {r['rows']} rows median {percent(r['median_abs_error'], 1)}"
        for r in fit) + ".")
    loo = table(("leave out", "group", "rows", "median |err|", "<=25%", "worst", "priced as"),
                title="Leave one library / round out: runtime factors re-fitted without it, "
                "its latency rows predicted", right=("rows", "median |err|", "<=25%"))
    for r in doc["latency_leave_one_out"]:
        if not r["rows"]:
            loo.add_row(r["by"], r["group"], "0", "", "", "", r["note"])
            continue
        loo.add_row(r["by"], r["group"], str(r["rows"]), percent(r["median_abs_error"], 1),
                    percent(r["within_25pct"], 0), r["worst"], r["note"])
    out().print(loo)
    lo = table(("round", "rows", "median |err|", "max |err|"),
               title="Leave one round out: board supply power re-fitted without the round "
               "(measured power vs predicted, latency errors excluded)")
    for r in doc["power_leave_one_round_out_summary"]:
        lo.add_row(r["round"], str(r["rows"]), percent(r["median_abs_error"], 1),
                   percent(r["max_abs_error"], 0))
    out().print(lo)
