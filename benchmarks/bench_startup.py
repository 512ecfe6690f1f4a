"""Start-up time of the command line, as whole processes, against its floor and SCALE-Sim.

Run from the repo root (about a minute; SCALE-Sim needs numpy < 2.4 and scalesim==3.0.0):

    .venv/bin/python benchmarks/bench_startup.py [--runs N]

In one run, each command is started N times as a fresh process (the commands take turns, so a
busy machine slows them alike) and the median wall time of each is compared:

- baseline: ``python -c "import numpy, pydantic, yaml"``, the libraries every hwsim command needs;
- ``hwsim --help``: target within 2x of the baseline;
- ``hwsim simulate --chip systolic-32x32 --gemm 128,512,256 --json``: target within 2.5x;
- SCALE-Sim 3.0.0's own command line (``python -m scalesim.scale``, traces off) on the same
  layer and array (32x32, output stationary, 64 KiB per SRAM, stall-free DRAM): hwsim's
  ``simulate`` process must be at least 10x faster.

Targets are issue 14's, on wall time. Exit status 0 when every measured target is met, else 1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.peers.scalesim_runner import (  # noqa: E402
    GemmLayer,
    ScaleSimUnavailable,
    require_scalesim,
    write_inputs,
)

GEMM = (128, 512, 256)  # M, N, K of the layer both simulators run
HELP_TARGET = 2.0  # x baseline
SIMULATE_TARGET = 2.5  # x baseline
SCALESIM_TARGET = 10.0  # SCALE-Sim process / hwsim simulate process
# As a user runs them: with bytecode caches. A shell that sets PYTHONDONTWRITEBYTECODE would
# recompile an editable checkout's modules in every process (installed wheels ship compiled).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def hwsim_command() -> list[str]:
    """The installed console script next to this interpreter (what a user runs)."""
    script = Path(sys.executable).parent / "hwsim"
    return [str(script)] if script.exists() else [sys.executable, "-m", "hwsim.cli"]


def scalesim_command(work: Path) -> list[str] | None:
    """SCALE-Sim's command line on the same GEMM and array, or None (with the reason printed)."""
    try:
        require_scalesim()
    except ScaleSimUnavailable as exc:
        print(f"SCALE-Sim not measured: {exc}")
        return None
    m, n, k = GEMM
    # systolic-32x32: 32x32 output stationary, 64 KiB per SRAM; CALC bandwidth (no DRAM stalls).
    config, topology, layout = write_inputs(work, GemmLayer(m, n, k), 32, 32, "os",
                                            ifmap_sram_kb=64, filter_sram_kb=64,
                                            ofmap_sram_kb=64)
    return [sys.executable, "-m", "scalesim.scale", "-c", str(config), "-t", str(topology),
            "-l", str(layout), "-p", str(work / "out"), "-i", "gemm", "-s", "N"]


def run_s(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one fresh process. CPU time (user + system, children
    included) moves less than wall time when other jobs share the cores."""
    start_s = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=CHILD_ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start_s
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return wall, usage.ru_utime + usage.ru_stime


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="processes per command (median)")
    args = parser.parse_args()
    m, n, k = GEMM
    hwsim = hwsim_command()
    with tempfile.TemporaryDirectory(prefix="hwsim-bench-startup-") as tmp:
        work = Path(tmp)
        commands = {
            "baseline": [sys.executable, "-c", "import numpy, pydantic, yaml"],
            "hwsim --help": [*hwsim, "--help"],
            "hwsim simulate --json": [*hwsim, "simulate", "--chip", "systolic-32x32", "--gemm",
                                      f"{m},{n},{k}", "--json"],
        }
        peer = scalesim_command(work)
        if peer is not None:
            commands["scalesim 3.0.0"] = peer
        for cmd in commands.values():  # writes .pyc files and warms the file cache
            run_s(cmd, work)
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                wall, used = run_s(cmd, work)
                times[name].append(wall)
                cpu[name].append(used)
    median = {name: statistics.median(ts) for name, ts in times.items()}
    print(f"whole processes, median of {args.runs} (GEMM {m}x{n}x{k} on systolic-32x32; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
    print(f"  {'':<24}{'wall s':>8}  {'range':>13}  {'CPU s':>7}")
    for name, t in median.items():
        spread = f"{min(times[name]):.3f}-{max(times[name]):.3f}"
        print(f"  {name:<24}{t:>8.3f}  {spread:>13}  {statistics.median(cpu[name]):>7.3f}")
    base = median["baseline"]
    help_ratio = median["hwsim --help"] / base
    sim_ratio = median["hwsim simulate --json"] / base
    checks = [help_ratio <= HELP_TARGET, sim_ratio <= SIMULATE_TARGET]
    print(f"hwsim --help / baseline:          {help_ratio:5.2f}x  (target <= {HELP_TARGET}x: "
          f"{verdict(checks[0])})")
    print(f"hwsim simulate --json / baseline: {sim_ratio:5.2f}x  (target <= {SIMULATE_TARGET}x: "
          f"{verdict(checks[1])})")
    if "scalesim 3.0.0" in median:
        speedup = median["scalesim 3.0.0"] / median["hwsim simulate --json"]
        checks.append(speedup >= SCALESIM_TARGET)
        print(f"scalesim / hwsim simulate:        {speedup:5.1f}x  (target >= "
              f"{SCALESIM_TARGET:.0f}x: {verdict(checks[-1])})")
    cpu_base = statistics.median(cpu["baseline"])
    print("CPU-time ratios (less sensitive to other jobs): --help "
          f"{statistics.median(cpu['hwsim --help']) / cpu_base:.2f}x, simulate "
          f"{statistics.median(cpu['hwsim simulate --json']) / cpu_base:.2f}x")
    return 0 if all(checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
