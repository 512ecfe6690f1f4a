"""Collect MLPerf Tiny latency and energy of the boards hwsim has presets for, all rounds.

Reads the MLCommons result repositories (git clones, any commit; the commit read is recorded
per row) and writes ``mlperf_tiny_rounds.csv`` next to this file:

    python -m hwsim.data.reference.mcu.make_mlperf_tiny_rounds v0.5=DIR v0.7=DIR ... [--check]

where each DIR is a clone of github.com/mlcommons/tiny_results_<round> (a bare clone works:
files are read with ``git show HEAD:path``). A row is one system x model: the performance run's
median throughput (latency = 1 / throughput) and, where the submission measured energy, the
energy run's median µJ per inference and its own median throughput (the energy run is a
separate run through the EnergyRunner's supply and I/O manager: its throughput is the one the
energy belongs to; v1.3 energy files print none, and the performance run's stands in). Systems
are kept when their SoC is one a preset describes at the preset's clock (:data:`BOARDS`), int8
runs only. The fitted / held-out role of each row is decided in ``hwsim/report/mcu_rounds.py``,
not here.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).with_name("mlperf_tiny_rounds.csv")
COLUMNS = ("round", "division", "submitter", "system", "board", "soc", "clock_mhz", "runtime",
           "library", "model", "latency_ms", "energy_uj", "energy_latency_ms", "source",
           "commit")
# SoC part-number prefix -> (hwsim preset, preset clock in MHz). The STM32U575 is the U585
# without the crypto/security block: same Cortex-M33 at 160 MHz, same 786 KB SRAM and 2 MB
# flash (ST DS13737 / DS13086), so its rows check the stm32u585-m33 preset.
BOARDS = {"STM32L4R5": ("stm32l4r5-m4", 120), "STM32F746": ("stm32f746-m7", 216),
          "STM32H7A3": ("stm32h7a3-m7", 280), "STM32U575": ("stm32u585-m33", 160),
          "STM32U585": ("stm32u585-m33", 160)}
MODELS = {"kws": "kws", "vww": "vww", "ic": "ic", "ad": "ad"}
THROUGHPUT = re.compile(r"Median throughput is\s+([0-9.]+)\s+inf\./sec")
ENERGY = re.compile(r"Median energy cost is\s+([0-9.]+)\s+uJ/inf")


def library_of(runtime: str) -> str:
    """The hwsim kernel library a submission's runtime names (configs/calibration/mcu.yaml)."""
    r = runtime.lower()
    if "x-cube-ai" in r:
        major = re.search(r"v?(\d+)\.", r.split("x-cube-ai", 1)[1])
        return f"x-cube-ai-{major.group(1)}" if major else "x-cube-ai"
    if "plumerai" in r:
        return "plumerai"
    if "tensorflow lite" in r or "tflm" in r:
        return "tflm-reference"
    if "cmsis-nn" in r or "cmsis_nn" in r:
        return "microtvm-cmsis-nn"
    if "microtvm" in r:
        return "microtvm-native"
    if "hale" in r:
        return "bosch-hale"
    if "onnc" in r:
        return "onnc"
    return "unknown"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


def _system_json(repo: Path, path: str) -> dict[str, str]:
    text = _git(repo, "show", f"HEAD:{path}")
    try:
        return {k.strip(): str(v) for k, v in json.loads(text).items()}
    except json.JSONDecodeError:  # a few files have trailing commas: read the string fields
        return {k.strip(): v for k, v in re.findall(r'"([^"]+)"\s*:\s*"([^"]*)"', text)}


def _runtime(d: dict[str, str], system_dir: str) -> str:
    for key in ("Inference Framework", "ML Model Compiler(s)", "Software Libraries"):
        if d.get(key, "").strip():
            name = d[key].strip()
            libs = d.get("Software Libraries", "")
            if "CMSIS_NN" in libs or "CMSIS-NN" in system_dir.upper().replace("_", "-"):
                name += " + CMSIS-NN"
            return name
    return system_dir


PERF = re.compile(r"^((?:closed|open)/([^/]+))/results/(.+)/(kws|vww|ic|ad)/performance/"
                  r"(?:performance_)?results\.txt$")


def _systems(files: list[str]) -> dict[tuple[str, str, str], str]:
    """(division/submitter base, submitter, results system dir) -> its system description."""
    out: dict[tuple[str, str, str], str] = {}
    jsons = [f for f in files if "/systems/" in f and f.endswith(".json")]
    results = {m.groups()[:3] for f in files if (m := PERF.match(f))}
    for base, sub, sysdir in results:
        cands = [f for f in jsons if f.startswith(base + "/")]
        key = sysdir.split("/")[-1].lower().replace("-", "_")
        alt = sysdir.lower().replace("-", "_").split("/")
        best = [f for f in cands if key in f.lower().replace("-", "_")
                and all(a in f.lower().replace("-", "_") for a in alt)]
        best = best or [f for f in cands if key in f.lower().replace("-", "_")]
        if len(cands) == 1:
            best = cands
        if best:
            out[(base, sub, sysdir)] = min(best, key=len)
    return out


def collect(round_name: str, repo: Path) -> list[dict[str, str]]:
    commit = _git(repo, "rev-parse", "HEAD").strip()
    files = _git(repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines()
    rows: list[dict[str, str]] = []
    for (base, sub, sysdir), sys_file in sorted(_systems(files).items()):
        d = _system_json(repo, sys_file)
        soc = d.get("SoC Name", "")
        board = next((v for k, v in BOARDS.items() if soc.upper().startswith(k)), None)
        # Plumerai's v1.1 H7A3 description names the U575's SoC: the board name decides.
        name = d.get("Board Name", "").upper().replace("-", "_")
        board = next((v for k, v in BOARDS.items() if k[5:] in name), board)
        clock = re.search(r"([0-9.]+)\s*MHz", d.get("Processor(s) Frequencies", ""))
        if board is None or clock is None or float(clock.group(1)) != board[1]:
            continue
        if "float" in sysdir.lower():
            continue
        runtime = _runtime(d, sysdir)
        for model in MODELS:
            perf = next((f for f in files if PERF.match(f)
                         and f.startswith(f"{base}/results/{sysdir}/{model}/")), None)
            if perf is None:
                continue
            m = THROUGHPUT.search(_git(repo, "show", f"HEAD:{perf}"))
            if m is None:
                continue
            row = {"round": round_name, "division": base.split("/")[0], "submitter": sub,
                   "system": sysdir, "board": board[0], "soc": soc,
                   "clock_mhz": f"{float(clock.group(1)):g}", "runtime": runtime,
                   "library": library_of(runtime), "model": MODELS[model],
                   "latency_ms": f"{1e3 / float(m.group(1)):.4g}", "energy_uj": "",
                   "energy_latency_ms": "", "source": perf, "commit": commit}
            for edir in ("energy", "enegy"):  # v1.0 ST H7A3 IC is filed under "enegy"
                epath = f"{base}/results/{sysdir}/{model}/{edir}/results.txt"
                if epath in files:
                    text = _git(repo, "show", f"HEAD:{epath}")
                    e = ENERGY.search(text)
                    if e is not None:
                        row["energy_uj"] = f"{float(e.group(1)):.6g}"
                        t = THROUGHPUT.search(text)
                        tps = [float(x) for x in re.findall(
                            r"Throughput\s*:\s*([0-9.]+)\s*inf\./sec", text)]
                        if t is not None:
                            row["energy_latency_ms"] = f"{1e3 / float(t.group(1)):.4g}"
                        elif tps:
                            tps.sort()
                            row["energy_latency_ms"] = f"{1e3 / tps[len(tps) // 2]:.4g}"
                        row["source"] += f" ; {epath}"
            rows.append(row)
    return rows


def main(argv: list[str]) -> int:
    check = "--check" in argv
    repos = [a.split("=", 1) for a in argv if "=" in a]
    rows = [r for name, path in repos for r in collect(name, Path(path))]
    text_rows = [[r[c] for c in COLUMNS] for r in rows]
    if check:
        with OUT.open(newline="", encoding="utf-8") as f:
            old = list(csv.reader(f))[1:]
        return 0 if old == text_rows else 1
    with OUT.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows(text_rows)
    print(f"{len(rows)} rows -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
