"""Re-fit the GPU power constants on the fitting rows and write ``configs/calibration/gpu.yaml``:

    python -m hwsim.calibration.gpu_power_fit [OUT_YAML]

Fitted on ``hwsim/data/reference/gpu/mlenergy_h100_decode_fit.csv`` (Qwen3-8B and Qwen3-14B on
one H100, lm-arena-chat batch 8-128 and gpqa batch 8-64); ``mlenergy_h100_decode_heldout.csv``
(Llama-3.1-8B) is never read here.
A test re-runs :func:`refit` and compares it with the shipped constants.
"""

from __future__ import annotations

import argparse
import sys

from hwsim.calibration.gpu import fit_power_constants, write_calibration
from hwsim.calibration.gpu_power_rows import FIT_FILE, PROMPT_TOKENS, read_rows
from hwsim.config.calibration import GpuCalibration, GpuPowerConstant
from hwsim.presets import calibration_path

FITTED_ON = (f"hwsim/data/reference/gpu/{FIT_FILE}: every row (18: Qwen3-8B and Qwen3-14B, "
             "bf16, vLLM 0.11.1 on one H100 SXM; lm-arena-chat max_num_seqs 8-128 and gpqa "
             "8-64; steady-state energy per output token and mean step time = average batch / "
             "output tokens per s), ML.ENERGY Leaderboard v3")
METHOD = ("scipy.optimize.least_squares on log(predicted / measured energy per output token), "
          "idle and active power drawn over each run's measured mean step time (average batch / "
          "output tokens per s; hwsim.calibration.gpu.energy_at_measured_time_j), jointly "
          "with {other}, each decode step simulated by the engine on h100-sxm in CUDA-graph "
          f"mode at its average batch and context {PROMPT_TOKENS} + half the step-weighted mean "
          "output tokens (E[L^2]/E[L] of the run's output histogram), plus batch / mean "
          f"output tokens prefills of a {PROMPT_TOKENS}-token prompt per step (the steady "
          "state's arriving requests; hwsim.calibration.gpu_power_rows); one GPU, so other "
          "GPUs take this H100 value (no leave-one-GPU-out possible)")


def refit() -> tuple[float, float]:
    """``(active_power_fraction, hbm3_energy_scale)`` fitted on the fitting rows."""
    return fit_power_constants([r.power_row() for r in read_rows(FIT_FILE)])


def main(out: str | None = None) -> GpuCalibration:
    fraction, scale = refit()
    active = GpuPowerConstant(
        value=round(fraction, 4), unit="fraction of (tdp_w - idle_power_w), at boost_clock_hz",
        status="fitted", source=METHOD.format(other="hbm3_energy_scale"), fitted_on=FITTED_ON)
    hbm = GpuPowerConstant(
        value=round(scale, 4),
        unit="multiplier on configs/tech offchip_j_per_bit of hbm3 and hbm3e (H100, B200; a "
        "GPU with its own offchip.energy_pj_per_byte takes that)",
        status="fitted", source=METHOD.format(other="active_power_fraction") + "; the HBM3 "
        "generation only (HBM3, the kind measured, and HBM3E, which keeps its interface; "
        "HBM2/2e parts keep the table value: no power rows); an effective "
        "per-byte energy of the whole path (HBM device, PHY, memory controller, NoC) as GPU "
        "power sensors see it, so above the device-only table value", fitted_on=FITTED_ON)
    return write_calibration(out or calibration_path("gpu"), active_power_fraction=active,
                             hbm3_energy_scale=hbm)


def cli(argv: list[str] | None = None) -> GpuCalibration:
    """The command line: an optional output path; an option (say ``--write``, which the other
    fit modules take) is an error, exit status 2, rather than a file of that name."""
    parser = argparse.ArgumentParser(prog="python -m hwsim.calibration.gpu_power_fit",
                                     description="Re-fit the GPU power constants and write "
                                     "them (default: configs/calibration/gpu.yaml).")
    parser.add_argument("out", nargs="?", help="output YAML path instead of the shipped one")
    return main(parser.parse_args(sys.argv[1:] if argv is None else argv).out)


if __name__ == "__main__":
    cli()
