"""Fits ``power_limit_slowdown`` of the H200 and B200 presets, the boards' power response
time (``power_response_s``) and the DVFS voltage slope (``dvfs_voltage_slope``, both in
``configs/calibration/gpu.yaml``) on pairs of timings of the same bf16 GEMM in a burst and held
at the power limit (``aiconfigurator_sustained_gemm_fit.csv``):

    python -m hwsim.calibration.power_limit_slowdown [--write]

prints the fitted values and their median |error|; ``--write`` puts the slowdowns into
``configs/hardware/gpus/{h200-sxm,b200-sxm}.yaml`` and the H200's into ``h100-sxm.yaml``
(``H100_FROM``), keeping every other line, and the response time and slope into ``gpu.yaml``.
A test refits and compares.

Why the slope is visible in these pairs: the slowdown r fixes the clock the largest GEMM runs at
held at the limit (boost / r). With one voltage at every clock (slope 0) its power falls in
proportion to the clock, so at boost it draws r times the headroom; with the voltage following
the clock it falls faster (~clock^3 at slope 1), so at boost it draws ~r^3 times the headroom,
and every other compute-bound GEMM's boost power is scaled up with it. A GEMM at 85 % of the
largest one's power then slows ~1.15x held at the limit at slope 1 (r = 1.22: 0.85 x 1.22^3 =
1.53 times the headroom at boost, cube root 1.15), against 1.03x at slope 0: the shapes that
draw somewhat less than the largest throttle nearly as much, as measured (compute-bound pairs
1.13-1.16x median, under-predicted at slope 0: 1.10-1.11x).

What is measured: AIConfigurator's collector timed each shape twice, with its default burst (3
warm-ups, 6 timed CUDA-graph replays of six linears) for the vLLM 0.24.0 table, and over a
second of replays with power measured for the vLLM 0.22.0 power table, where the board's power
management has acted. Compute-bound shapes of 0.1-1 ms take 15-19 % longer sustained, at their
power limit; memory-bound ones the same time; longer compute-bound shapes less (1.07-1.09x at
1-3 ms), since a burst of them outlasts the time the board holds its boost clock
(``make_sustained_fit.py``, ``sustained_vs_burst.py``). The ratio of the two latencies is a
property of the board's power, free of hwsim's GEMM time model to first order: hwsim predicts it
as its time with ``sustained_load`` over its burst time (:func:`hwsim.validation.burst.blend`:
boost, blended with the sustained time for the share of the burst's timed window past the power
response), each under the vLLM 0.24 collector's per-kernel time ([assumption] the same GPU time
per graph kernel in both collector versions: the memory-bound pairs take within 3 % of each
other). The free constants: per GPU, how far over its limit a large GEMM would draw at boost
(the preset's energy per tensor FLOP follows from it:
:func:`hwsim.engine.gpu.energy.calibrate_energy`); one response time and one voltage slope for
both boards (each GPU's pairs alone also fit the slope's bound of 1).

The H100 (same GH100 die, 700 W, 1980 MHz as the H200, HBM3 instead of HBM3e) has no power
table; it takes the H200's slowdown ([assumption]). Every other preset keeps 1 (the board just
sustains its tensor peak at boost): no public sustained-and-burst pair for it.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from functools import cache

from hwsim.calibration.fit import FitProblem, FitResult, Param, fit, wants_write
from hwsim.calibration.gpu import write_calibration
from hwsim.calibration.preset_write import write_preset_field
from hwsim.config.calibration import GpuPowerConstant
from hwsim.engine.simulate import simulate
from hwsim.presets import calibration_path, reference_dir
from hwsim.validation.aiconfigurator import V024, graph_replay
from hwsim.validation.burst import blend
from hwsim.workload.load import gemm

FIT_FILE = "aiconfigurator_sustained_gemm_fit.csv"
PRESETS = ("h200-sxm", "b200-sxm")
H100_FROM = "h200-sxm"
FIELD = "power_limit_slowdown"
RESPONSE = Param("power_response_s", 0.05, 1e-3, 1.0, "s of load at boost before the clock drops",
                 "time a board runs at boost under a load above its limit")
SLOPE = Param("dvfs_voltage_slope", 0.3, 0.0, 1.0,
              "fraction of the boost voltage lost per fraction of the boost clock",
              "how the supply voltage follows the clock below boost (DVFS)")
PARAMS = (*(Param(f"{FIELD}:{p}", 1.1, 1.0, 2.0, "ratio (time at the limit / at boost)",
                  f"how many times slower a large bf16 GEMM runs held at {p}'s limit")
            for p in PRESETS), RESPONSE, SLOPE)


def read_rows(name: str = FIT_FILE) -> tuple[dict[str, object], ...]:
    """The fitting pairs, each with ``measured`` = sustained / burst latency (a ratio)."""
    out = []
    with open(reference_dir("gpu") / name, newline="") as fh:
        for i, r in enumerate(csv.DictReader(fh), start=2):
            ratio = float(r["sustained_latency_us"]) / float(r["burst_latency_us"])
            out.append(dict(r) | {"measured": ratio,
                                  "source": f"hwsim/data/reference/gpu/{name}:{i}"})
    return tuple(out)


@cache
def _seconds(preset: str, m: int, n: int, k: int, sustained: bool, slowdown: float,
             slope: float) -> float:
    harness = graph_replay(V024, preset) | {"sustained_load": sustained, FIELD: slowdown,
                                            SLOPE.name: slope}
    return simulate(gemm(m, n, k, dtype="bf16"), preset,
                    chip_overrides=harness).total.latency_s


def predict(values: Mapping[str, float], row: Mapping[str, object]) -> float:
    """hwsim's sustained / burst time of one pair's shape under candidate constants."""
    preset = str(row["preset"])
    shape = (int(row["m"]), int(row["n"]), int(row["k"]))  # type: ignore[call-overload]
    slowdown = float(values[f"{FIELD}:{preset}"])
    held = _seconds(preset, *shape, True, slowdown, float(values[SLOPE.name]))
    # At boost a kernel's time does not depend on the board's power (no throttle).
    boost = _seconds(preset, *shape, False, 1.0, 0.0)
    burst = blend(boost, held, int(row["ops_per_replay"]),  # type: ignore[call-overload]
                  float(values[RESPONSE.name]))
    return held / burst


def _depends(row: Mapping[str, object]) -> frozenset[str]:
    """A pair's prediction moves only with its own GPU's slowdown, the response time and the
    voltage slope."""
    return frozenset({f"{FIELD}:{row['preset']}", RESPONSE.name, SLOPE.name})


def problem(rows: tuple[dict[str, object], ...] | None = None) -> FitProblem:
    return FitProblem(name="power_limit_slowdown", params=PARAMS,
                      rows=rows if rows is not None else read_rows(), predict=predict,
                      depends=_depends)


def fit_slowdown() -> FitResult:
    """The fit the presets' values come from."""
    return fit(problem())


def write_presets(result: FitResult) -> dict[str, float]:
    """Put the fitted values into the shipped presets (the H100 takes the H200's)."""
    values = {p: round(result.values[f"{FIELD}:{p}"], 4) for p in PRESETS}
    values["h100-sxm"] = values[H100_FROM]
    write_preset_field(values, FIELD)
    return values


def _fitted(param: Param, result: FitResult, value: float) -> GpuPowerConstant:
    return GpuPowerConstant(
        value=value, unit=param.unit, status="fitted",
        source=(f"{param.description}; fitted by hwsim.calibration.power_limit_slowdown "
                "jointly with the H200's and B200's power_limit_slowdown, the power response "
                "time and the DVFS voltage slope (scipy least_squares on log(predicted / "
                f"measured) sustained / burst latency, soft_l1, bounds [{param.lower:g}, "
                f"{param.upper:g}]; the burst's timed window blended at a step from boost to "
                "the limit's clock, hwsim.validation.burst); median |error| "
                f"{result.median_abs_error:.3f} on its {result.rows} rows; one value for every "
                "board [assumption]"),
        fitted_on=(f"hwsim/data/reference/gpu/{FIT_FILE}: {result.rows} pairs of one bf16 "
                   "linear's latency in AIConfigurator's default burst (vLLM 0.24.0 tables) "
                   "and over a second of replays with power measured (vLLM 0.22.0 power "
                   "tables), H200 and B200, sustained latency 20 us-10 ms, no held-out shape "
                   "(ai-dynamo/aiconfigurator@095f58a51)"))


def write_constants(result: FitResult) -> tuple[float, float]:
    """Put the fitted response time and voltage slope into ``configs/calibration/gpu.yaml``."""
    response = float(f"{result.values[RESPONSE.name]:.4g}")
    slope = round(result.values[SLOPE.name], 4)
    write_calibration(calibration_path("gpu"),
                      power_response_s=_fitted(RESPONSE, result, response),
                      dvfs_voltage_slope=_fitted(SLOPE, result, slope))
    return response, slope


def main(argv: list[str] | None = None) -> None:
    write = wants_write(__doc__, argv, "the presets and configs/calibration/gpu.yaml")
    result = fit_slowdown()
    for p in PRESETS:
        print(f"{p}: {FIELD} {result.values[f'{FIELD}:{p}']:.4f}")
    print(f"{RESPONSE.name} {result.values[RESPONSE.name]:.4g} s")
    print(f"{SLOPE.name} {result.values[SLOPE.name]:.4f}")
    print(f"median |error| {result.median_abs_error:.4f} on {result.rows} rows of {FIT_FILE}")
    if write:
        response, slope = write_constants(result)
        print(f"written: {write_presets(result)}, {RESPONSE.name} {response}, "
              f"{SLOPE.name} {slope}")


if __name__ == "__main__":
    main()
