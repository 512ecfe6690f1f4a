"""Fit the system presets' alpha and bus bandwidth on the ``fit`` rows of
hwsim/data/reference/interconnect/busbw.csv and print them with the held-out errors.

Run: .venv/bin/python scripts/fit_interconnect.py  (copy the constants into
configs/hardware/systems/*.yaml; tests/test_parallel_calibration.py holds them equal).
"""

from __future__ import annotations

from hwsim.parallel.calibration import checks, fit, summary

FITS = (("dgx-h100", "ring"), ("dgx-a100", "ring"), ("4x-rtx-4090-pcie", "ring"),
        ("4x-rtx-4090-pcie", "tree"))


def main() -> None:
    for system, alg in FITS:
        alpha, bw, rows = fit(system, alg)
        bw_text = "not seen by these rows" if bw is None else f"{bw / 1e9:.1f} GB/s"
        a_text = "not seen by these rows" if alpha is None else f"{alpha * 1e6:.3f} us/step"
        print(f"{system} {alg}: alpha {a_text}, bus bw {bw_text} "
              f"({len(rows)} fit rows)")
    print("held-out rows (time error):")
    for c in checks("heldout"):
        print(f"  {c.row.system:17s} {c.row.source:20s} {c.row.collective:10s} "
              f"n={c.row.ranks} {c.row.size_bytes:>12,.0f} B  measured "
              f"{c.row.time_s * 1e6:9.2f} us  model {c.predicted_s * 1e6:9.2f} us  "
              f"{c.error:+.1%}")
    for system, s in summary("heldout").items():
        print(f"{system}: {s['rows']:.0f} held-out rows, median |error| "
              f"{s['median_abs_error']:.1%}, worst {s['max_abs_error']:.1%}")
    for system, s in summary("fit").items():
        print(f"{system}: {s['rows']:.0f} fit rows, median |error| {s['median_abs_error']:.1%}")


if __name__ == "__main__":
    main()
