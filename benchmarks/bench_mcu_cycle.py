"""Speed of the MCU cycle fidelity next to the analytic one (same run, same machine).

Target (issue 6 follow-up): the four MLPerf Tiny models and sln-kws on all twelve MCU presets
at cycle fidelity in a few seconds; ``--samples 200`` of sln-kws on a core in a few seconds.

    .venv/bin/python benchmarks/bench_mcu_cycle.py
"""

from __future__ import annotations

import time

from hwsim.config.sparsity import TopKSpec, Variability
from hwsim.engine.mcu.analytic import simulate_mcu
from hwsim.engine.mcu.cycle import simulate_mcu_cycle
from hwsim.engine.sampling import sample_distribution
from hwsim.hardware.chips import load_chip
from hwsim.presets import list_presets
from hwsim.sparsity.overrides import apply_sparsity
from hwsim.workload.load import load_model

MODELS = ("mlperf-tiny-kws", "mlperf-tiny-ic", "mlperf-tiny-vww", "mlperf-tiny-ad", "sln-kws")


def main() -> None:
    chips = [load_chip(p.path) for p in list_presets("chips") if p.group == "mcus"]
    models = [load_model(m) for m in MODELS]
    t0 = time.perf_counter()
    for c in chips:
        for m in models:
            simulate_mcu(m, c, 1)
    analytic = time.perf_counter() - t0
    t0 = time.perf_counter()
    for c in chips:
        for m in models:
            simulate_mcu_cycle(m, c, 1)
    cycle = time.perf_counter() - t0
    n = len(chips) * len(models)
    print(f"{n} model x preset pairs: analytic {analytic:.2f} s, cycle {cycle:.2f} s "
          f"(cycle / analytic = {cycle / analytic:.1f}x)")
    sln = apply_sparsity(models[-1], [("*.cell", TopKSpec(density=0.02,
                                                          variability=Variability(std=0.005)))])
    chip = load_chip("stm32u585-m33")
    t0 = time.perf_counter()
    sample_distribution(sln, chip, 1, 200, 0)
    print(f"sln-kws --samples 200 on stm32u585-m33: {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
