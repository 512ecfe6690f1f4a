"""MLPerf Tiny rows of every public round (``mlperf_tiny_rounds.csv``) with their role.

One rule says which rows a constant was fitted on and which are held out, so the fits
(:mod:`hwsim.calibration.mcu_runtimes`) and ``hwsim validate mcu`` read the same split, and
SOURCES.md describes it. A row is *fitted* when it is named in ``fitted_on`` of a constant in
``configs/calibration/mcu.yaml``; *excluded* rows are re-submissions of fitted figures or runtimes
hwsim has no library for (with the reason); every other row is *held out*.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from hwsim.report.mcu_reference import rounds_rows

# Submission (round, submitter, system) -> hwsim kernel library that prices it.
# Rows whose runtime has no hwsim library are excluded (see ``EXCLUDED``).
RUNTIME_LIBRARY = {"tflm-reference": "tflm-reference", "plumerai": "plumerai-2022",
                   "microtvm-cmsis-nn": "cmsis-nn", "onnc": "cmsis-nn",
                   "x-cube-ai-7": "x-cube-ai-7", "x-cube-ai-8": "x-cube-ai-8",
                   "x-cube-ai-9": "x-cube-ai-9", "x-cube-ai-10": "x-cube-ai-9",
                   "bosch-hale": "bosch-hale"}

# Latency rows each library's constants were fitted on: (round, submitter, system[, model]).
LATENCY_FIT: dict[str, tuple[tuple[str, ...], ...]] = {
    "tflm-reference": (("v0.5", "reference", "Nucleo-L4R5ZI"),),
    "plumerai-2022": (("v1.0", "plumerai", "NUCLEO_L4R5ZI"), ("v1.0", "plumerai", "DISCO_F746NG"),
                      ("v1.0", "plumerai", "B_U585I_IOT02A")),
    "cmsis-nn": (("v1.1", "Krai", "NUCLEO-L4R5ZI_MICROTVM-CMSIS-NN", "kws"),
                 ("v1.1", "Krai", "NUCLEO-L4R5ZI_MICROTVM-CMSIS-NN", "vww"),
                 ("v1.1", "Krai", "NUCLEO-L4R5ZI_MICROTVM-CMSIS-NN", "ic")),
    "plumerai-2023": (("v1.1", "plumerai", "NUCLEO-L4R5ZI"),),
    "x-cube-ai-7": (("v1.0", "STMicroelectronics", "NUCLEO_L4R5ZI"),),
    "x-cube-ai-8": (("v1.1", "STMicroelectronics", "NUCLEO_L4R5ZI"),),
    "x-cube-ai-9": (("v1.2", "STMicroelectronics", "NUCLEO_L4R5ZI"),),
    "bosch-hale": (("v1.1", "bosch", "NUCLEO_L4R5ZI"),),
}
# Energy rows the per-board supply power was fitted on (one submission per board).
ENERGY_FIT = (("v1.0", "STMicroelectronics", "NUCLEO_L4R5ZI"),
              ("v1.0", "STMicroelectronics", "NUCLEO-H7A3ZI-Q"),
              ("v1.0", "STMicroelectronics", "NUCLEO-U575ZI-Q"))
# (round, submitter, system prefix) -> why the rows are not compared.
EXCLUDED = {
    ("v1.0", "OctoML", "microtvm_cmsis_nn"): "re-submission of the fitted Krai microTVM + "
    "CMSIS-NN build (figures within 0.5 %)",
    ("v1.1", "cTuning", "NUCLEO-L4R5ZI_MicroTVM_CMSIS_NN"): "re-submission of the fitted "
    "Krai microTVM + CMSIS-NN build",
    ("v1.0", "OctoML", "microtvm_native"): "microTVM's own schedules: no hwsim library",
    ("v1.1", "Krai", "NUCLEO-L4R5ZI_MICROTVM-NATIVE"): "microTVM's own schedules: no hwsim "
    "library",
    ("v1.1", "cTuning", "NUCLEO-L4R5ZI_MicroTVM_Native"): "microTVM's own schedules",
    ("v1.2", "bosch", "DISCO_F746NG_int8_max_performance"): "build variant (max performance)",
    ("v1.2", "bosch", "NUCLEO_H7A3ZI_int8_max_performance"): "build variant (max performance)",
    ("v1.2", "bosch", "NUCLEO_H7A3ZI_int8_min_ram"): "build variant (min RAM)",
    ("v1.2", "bosch", "NUCLEO_L4R5ZI_int8_max_performance"): "build variant (max performance)",
    ("v1.2", "bosch", "NUCLEO_U575ZI_int8_max_performance"): "build variant (max performance)",
}


@dataclass(frozen=True)
class TinyRow:
    """One MLPerf Tiny system x model with the library hwsim prices it with and its roles."""

    round: str
    submitter: str
    system: str
    board: str
    runtime: str
    library: str  # hwsim kernel library
    model: str
    latency_ms: float
    energy_uj: float | None
    energy_latency_ms: float | None  # the energy run's own latency (else the performance run's)
    latency_role: str  # fitted | heldout | excluded
    energy_role: str  # fitted | heldout | excluded | "" (no energy measured)
    note: str
    source: str

    @property
    def key(self) -> str:
        return f"{self.round}/{self.submitter}/{self.system}/{self.model}"

    @property
    def power_w(self) -> float | None:
        """Average supply power of the energy run, W (µJ per inference / its latency)."""
        if self.energy_uj is None:
            return None
        t_ms = self.energy_latency_ms or self.latency_ms
        return self.energy_uj * 1e-6 / (t_ms * 1e-3)


def _matches(keys: tuple[tuple[str, ...], ...], r: dict[str, str]) -> bool:
    return any(k[:3] == (r["round"], r["submitter"], r["system"])
               and (len(k) == 3 or k[3] == r["model"]) for k in keys)


def _excluded(r: dict[str, str]) -> str:
    for (rnd, sub, prefix), why in EXCLUDED.items():
        if r["round"] == rnd and r["submitter"] == sub and r["system"].startswith(prefix):
            return why
    return "" if r["library"] in RUNTIME_LIBRARY else f"runtime {r['runtime']}: no hwsim library"


@lru_cache(maxsize=1)
def tiny_rows() -> tuple[TinyRow, ...]:
    out = []
    for r in rounds_rows():
        lib = RUNTIME_LIBRARY.get(r["library"], "")
        if r["library"] == "plumerai" and r["round"] == "v1.1":
            lib = "plumerai-2023"  # Plumerai Inference Engine 2023.05
        why = _excluded(r)
        fitted = _matches(LATENCY_FIT.get(lib, ()), r)
        lat_role = "excluded" if why else ("fitted" if fitted else "heldout")
        e_role = ""
        if r["energy_uj"]:
            e_role = "excluded" if why else ("fitted" if _matches(ENERGY_FIT, r) else "heldout")
        note = why or ("X-CUBE-AI 10.2: priced with the newest fitted version (x-cube-ai-9)"
                       if r["library"] == "x-cube-ai-10" else "")
        out.append(TinyRow(r["round"], r["submitter"], r["system"], r["board"], r["runtime"],
                           lib, r["model"], float(r["latency_ms"]),
                           float(r["energy_uj"]) if r["energy_uj"] else None,
                           float(r["energy_latency_ms"]) if r["energy_latency_ms"] else None,
                           lat_role, e_role, note, r["source"]))
    return tuple(out)


def fitted_latency(library: str) -> list[TinyRow]:
    return [r for r in tiny_rows() if r.library == library and r.latency_role == "fitted"]
