"""Wheel smoke test (``make test`` runs it after pytest): does hwsim work installed, away from
the checkout?

Builds the wheel, installs it into a fresh virtual environment in a temporary folder outside the
checkout (dependencies from PyPI; pip's cache makes that fast), and from another temporary
folder runs what the README shows: ``hwsim list chips`` (every preset of the checkout's
configs/hardware), ``hwsim list systems``, one ``hwsim simulate --json`` per chip kind and one
with ``--tp 2`` on ``dgx-h100``, ``hwsim serve --tp 2``, ``hwsim validate gpu|sparse-accel``, one
claim, a small shipped study, ``hwsim import`` of a shipped TFLite file, the installed app's first
page (AppTest) and ``hwsim app`` serving on 127.0.0.1. Any failure exits 1 with the command's
output; every step prints its time; the temporary folders are removed either way.

    .venv/bin/python scripts/wheel_smoke.py
"""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from collections.abc import Callable
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
CLAIM = "c1-liquid-network"  # the cheapest shipped claim (about 8 s)
STUDY = "systolic-size-vit"  # 12 analytic points
TFLITE = "mlperftiny_kws_dscnn_int8.tflite"
SIMULATE = {  # chip kind -> (chip preset, workload flags)
    "accelerator": ("systolic-32x32", ["--gemm", "128,512,256"]),
    "gpu": ("a100-sxm-80gb", ["--model", "gpt2-small"]),
    "mcu": ("stm32l4r5-m4", ["--model", "mlperf-tiny-kws"]),
}
APP_TEST = """
import re, sys
from streamlit.testing.v1 import AppTest
from hwsim.app.launch import app_script
at = AppTest.from_file(str(app_script()), default_timeout=180)
at.run()
assert not at.exception, at.exception
shown = {m.label: m.value for m in at.metric}
assert shown and any(re.search(r"\\d", str(v)) for v in shown.values()), shown
print(len(at.metric), "metrics, e.g.", sorted(shown.items())[:3])
"""
WHERE = """
import json, hwsim
from hwsim.presets import list_presets, preset_dir, tflite_dir
print(json.dumps({"hwsim": hwsim.__file__, "chips_dir": str(preset_dir("chips")),
                  "tflite_dir": str(tflite_dir()),
                  "presets": {k: sorted(p.name for p in list_presets(k))
                              for k in ("chips", "systems", "models", "tech", "studies")}}))
"""


class SmokeFailure(Exception):
    pass


def children_cpu_s() -> float:
    """CPU seconds (user + system) of every finished child process so far: the cost of a step
    on a shared machine, where wall time mostly measures the other users."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group ``proc`` leads, SIGKILL it if it is still there after 15 s."""
    for sig, wait_s in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait_s)
            break
        except subprocess.TimeoutExpired:
            continue


def _exit_on_sigterm(signum: int, frame: object) -> None:
    # SystemExit unwinds the `with TemporaryDirectory()` below, so a killed run cleans up too.
    raise SystemExit(128 + signum)


class Smoke:
    def __init__(self, root: Path) -> None:
        self.venv = root / "venv"
        self.work = root / "work"  # the working directory of every hwsim command
        self.dist = root / "dist"
        self.work.mkdir()
        # Nothing of the caller's environment may point Python back at the checkout.
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
        # `hwsim validate gpu` caches per user (hwsim.validation.result_cache): here, not ~.
        self.cache = root / "cache"
        self.env["HWSIM_CACHE_DIR"] = str(self.cache)
        self.timings: list[tuple[str, float]] = []

    def run(self, cmd: list[str], cwd: Path | None = None, timeout_s: float = 600) -> str:
        r = subprocess.run(cmd, cwd=cwd or self.work, env=self.env, capture_output=True,
                           text=True, timeout=timeout_s)
        if r.returncode != 0:
            raise SmokeFailure(f"`{' '.join(cmd)}` exited {r.returncode}\n--- stdout\n"
                               f"{r.stdout[-4000:]}\n--- stderr\n{r.stderr[-4000:]}")
        return r.stdout

    def hwsim(self, *args: str, timeout_s: float = 600) -> str:
        return self.run([str(self.venv / "bin" / "hwsim"), *args], timeout_s=timeout_s)

    def python(self, code: str) -> str:
        return self.run([str(self.venv / "bin" / "python"), "-c", code])

    def step(self, name: str, fn: Callable[[], str]) -> None:
        t0, cpu0 = time.perf_counter(), children_cpu_s()
        try:
            detail = fn()
        except (SmokeFailure, AssertionError, ValueError, KeyError,
                subprocess.TimeoutExpired) as e:
            raise SmokeFailure(f"FAILED {name}: {e}") from e
        dt, cpu = time.perf_counter() - t0, children_cpu_s() - cpu0
        self.timings.append((name, dt))
        print(f"  ok {dt:6.1f} s wall {cpu:6.1f} s CPU  {name}"
              + (f": {detail}" if detail else ""), flush=True)


def build_and_install(s: Smoke) -> None:
    def build() -> str:
        s.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
               "--disable-pip-version-check", str(CHECKOUT), "-w", str(s.dist)])
        wheels = sorted(s.dist.glob("hwsim-*.whl"))
        assert len(wheels) == 1, wheels
        return f"{wheels[0].name}, {wheels[0].stat().st_size / 1e6:.1f} MB"

    def install() -> str:
        s.run([sys.executable, "-m", "venv", str(s.venv)])
        wheel = next(s.dist.glob("hwsim-*.whl"))
        # --no-compile: byte-compiling every dependency is most of an install's time; the
        # modules hwsim imports are compiled when first imported anyway.
        s.run([str(s.venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile",
               "--disable-pip-version-check", str(wheel)])
        return str(s.venv)

    s.step("build the wheel", build)
    s.step("fresh venv + pip install the wheel", install)


def check_location(s: Smoke) -> dict[str, object]:
    found: dict[str, object] = {}

    def where() -> str:
        doc = json.loads(s.python(WHERE))
        for key in ("hwsim", "chips_dir", "tflite_dir"):
            path = Path(doc[key]).resolve()
            assert path.is_relative_to(s.venv.resolve()), f"{key} is {path}, not in the venv"
            assert not path.is_relative_to(CHECKOUT), f"{key} resolves into the checkout"
        expected = {
            "chips": sorted(p.stem for p in (CHECKOUT / "configs" / "hardware").rglob("*.yaml")
                            if p.parent.name != "systems"),
            "systems": sorted(p.stem for p in
                              (CHECKOUT / "configs" / "hardware" / "systems").glob("*.yaml")),
            "models": sorted(p.stem for p in (CHECKOUT / "models").glob("*.yaml")),
            "tech": sorted(p.stem for p in (CHECKOUT / "configs" / "tech").glob("*.yaml")),
            "studies": sorted(p.stem for p in (CHECKOUT / "configs" / "studies").glob("*.yaml")),
        }
        assert doc["presets"] == expected, f"installed presets differ: {doc['presets']}"
        found.update(doc)
        return f"import hwsim -> {doc['hwsim']}"

    s.step("import hwsim resolves to the installed wheel", where)
    return found


def check_commands(s: Smoke, tflite_dir: Path) -> None:
    def version() -> str:
        text = s.hwsim("--version").strip()
        declared = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["project"]["version"]
        assert text == f"hwsim {declared}", f"`hwsim --version` printed {text!r}"
        return text

    s.step("hwsim --version", version)

    def list_chips() -> str:
        text = s.hwsim("list", "chips")
        hardware = CHECKOUT / "configs" / "hardware"
        chips = sorted(p.stem for p in hardware.rglob("*.yaml") if p.parent.name != "systems")
        missing = [c for c in chips if c not in text]
        assert not missing, f"`hwsim list chips` lacks {missing}"
        return f"{len(chips)} presets"

    s.step("hwsim list chips", list_chips)

    def list_systems() -> str:
        text = s.hwsim("list", "systems")
        systems = sorted(p.stem for p in (CHECKOUT / "configs" / "hardware" / "systems")
                         .glob("*.yaml"))
        missing = [x for x in systems if x not in text]
        assert systems and not missing, f"`hwsim list systems` lacks {missing}"
        return ", ".join(systems)

    s.step("hwsim list systems", list_systems)

    def simulate_tp() -> str:
        doc = json.loads(s.hwsim("simulate", "--chip", "dgx-h100", "--model", "llama2-7b",
                                 "--phase", "decode", "--seq", "256", "--tp", "2", "--json"))
        par = doc["parallel"]
        assert par["devices"] == 2 and par["collectives"], par
        return f"dgx-h100 tp=2: {doc['total']['latency_s'] * 1e3:.3g} ms"

    s.step("hwsim simulate --tp (a system preset)", simulate_tp)

    def serve_tp() -> str:
        doc = json.loads(s.hwsim("serve", "--chip", "h100-sxm", "--model", "llama2-7b",
                                 "--rate", "4/s", "--duration", "5s", "--prompt-tokens", "128",
                                 "--output-tokens", "16", "--tp", "2", "--json"))
        assert doc["tpot_s"]["p50"] > 0 and doc["throughput_tokens_per_s"] > 0, doc
        return f"TPOT p50 {doc['tpot_s']['p50'] * 1e3:.3g} ms on 2 devices"

    s.step("hwsim serve --tp (token level)", serve_tp)

    def validate_sparse() -> str:
        doc = json.loads(s.hwsim("validate", "sparse-accel", "--json"))
        return f"sparse-accel: {sorted(doc)}"

    s.step("hwsim validate sparse-accel", validate_sparse)
    for kind, (chip, flags) in SIMULATE.items():
        def simulate(kind: str = kind, chip: str = chip, flags: list[str] = flags) -> str:
            doc = json.loads(s.hwsim("simulate", "--chip", chip, *flags, "--json"))
            assert doc["inputs"]["chip"]["kind"] == kind, doc["inputs"]["chip"]
            latency_s, energy_j = doc["total"]["latency_s"], doc["total"]["energy_j"]
            assert latency_s > 0 and energy_j > 0, doc["total"]
            return f"{chip}: {latency_s * 1e3:.3g} ms, {energy_j * 1e3:.3g} mJ"

        s.step(f"hwsim simulate ({kind})", simulate)

    def validate() -> str:
        cold = s.hwsim("validate", "gpu", "--json")
        doc = json.loads(cold)
        rows, heldout = doc["calibration"], doc["heldout"]["rows"]
        assert rows and all(r["source"] and r["measured"] > 0 for r in rows), rows[:2]
        assert heldout and all(r["source"] and r["measured_s"] > 0 for r in heldout)
        # The second run reads the user cache (outside the installed package) and prints the same.
        entries = sorted(p.name for p in s.cache.rglob("*.json"))
        sections = ("calibration", "heldout", "kernel_power", "leave_one_gpu_out", "power",
                    "source_agreement", "square_mm")
        assert [e.split("-")[0] for e in entries] == list(sections), entries
        start = time.perf_counter()
        assert s.hwsim("validate", "gpu", "--json") == cold
        warm_s = time.perf_counter() - start
        return (f"{len(rows)} calibration rows, {len(heldout)} held-out public rows; "
                f"cached rerun {warm_s:.1f} s, identical")

    s.step("hwsim validate gpu", validate)

    def claim() -> str:
        doc = json.loads(s.hwsim("claims", "--only", CLAIM, "--json"))
        (c,) = doc["claims"]
        assert c["id"] == CLAIM and c["verdict"], c
        return f"{CLAIM}: {c['verdict']}"

    s.step("hwsim claims --only", claim)

    def study() -> str:
        s.hwsim("study", "run", STUDY, "--quiet", "--store-dir", "runs")
        store = s.work / "runs" / f"{STUDY}.duckdb"
        assert store.is_file() and store.stat().st_size > 0, store
        return f"{STUDY} -> runs/{store.name}"

    s.step("hwsim study run", study)

    def import_tflite() -> str:
        out = s.work / "kws.yaml"
        s.hwsim("import", str(tflite_dir / TFLITE), "-o", str(out))
        text = out.read_text(encoding="utf-8")
        assert "ops:" in text and "conv" in text.lower(), text[:500]
        return f"{TFLITE} -> kws.yaml ({len(text.splitlines())} lines)"

    s.step("hwsim import (a shipped TFLite file)", import_tflite)


def check_app(s: Smoke) -> None:
    s.step("AppTest of the installed app's first page", lambda: s.python(APP_TEST).strip())

    def serve() -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        log = s.work / "app.log"
        with log.open("w") as fh:
            # Its own session, so the whole group (server and any child) is stopped below.
            proc = subprocess.Popen([str(s.venv / "bin" / "hwsim"), "app", "--port", str(port)],
                                    cwd=s.work, env=s.env, stdout=fh, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    url = f"http://127.0.0.1:{port}/_stcore/health"
                    with urllib.request.urlopen(url, timeout=2) as r:
                        if r.read().decode().strip() == "ok":
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SmokeFailure(f"hwsim app did not come up:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
            first = log.read_text().splitlines()[0]
            assert f"http://127.0.0.1:{port}" in first, first
            return first
        finally:
            stop_group(proc)

    s.step("hwsim app serves on 127.0.0.1", serve)


def main() -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    t0 = time.perf_counter()
    print(f"wheel smoke test of {CHECKOUT}", flush=True)
    with tempfile.TemporaryDirectory(prefix="hwsim-wheel-smoke-") as tmp:
        root = Path(tmp).resolve()
        if root.is_relative_to(CHECKOUT):
            print(f"FAILED: the temporary folder {root} is inside the checkout", file=sys.stderr)
            return 1
        s = Smoke(root)
        try:
            build_and_install(s)
            found = check_location(s)
            check_commands(s, Path(str(found["tflite_dir"])))
            check_app(s)
        except SmokeFailure as e:
            print(str(e), file=sys.stderr)
            print(f"wheel smoke test FAILED after {time.perf_counter() - t0:.1f} s",
                  file=sys.stderr)
            return 1
    print(f"wheel smoke test passed in {time.perf_counter() - t0:.1f} s wall, "
          f"{children_cpu_s():.1f} s CPU ({len(s.timings)} steps; temporary folders removed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
