"""Held-out public GPU data (NeuSight, NVIDIA AIConfigurator, llama.cpp) and its validator.

Today's held-out errors (median |error|, signed median in brackets; h100-sxm and a100-sxm-80gb,
the presets on main; rows for l4 / t4-pcie / h200-sxm are skipped until those presets land):

- GEMM: h100-sxm 21.3 % (-13.4 %; NeuSight fp32 23.4 % too fast, AIConfigurator bf16 17.8 % too
  slow), a100-sxm-80gb 15.1 % (-8.7 %); all 19.0 %. Target <= 10 %: missed.
- attention (vLLM FlashAttention prefill and decode): h100-sxm 44.2 %, a100-sxm-80gb 47.5 %, all
  47.0 %, every one too fast. Target <= 12 %: missed.
- prefill-shaped forward passes (NeuSight fp32 eager HuggingFace, H100 / L4 / T4), built as the
  kernels eager PyTorch runs (hwsim/workload/eager_hf.py): 15.3 % median, all too fast (44.8 %
  with the fused stock build). Target <= 10 %: missed. NeuSight's own mean on these 22 rows:
  11.8 % (hwsim 19.9 %).
- decode (llama.cpp fp16 batch 1, llamacpp_decode_*.csv): 4.7 % median over 9 rows; RTX 4090
  1.1 %, A100 SXM 80GB -48.9 % (llama.cpp reaches ~42 % of HBM bandwidth there). Target <= 8 %.

With the gpupresets branch (816280d) merged, not committed here: GEMM l4 56.7 %, t4-pcie
48.1 %, h200-sxm 20.8 %; norm l4 69.4 %, t4-pcie 37.8 % (softmax +60-80 %, layernorm -11-17 %);
attention h200-sxm 44.7 %; forward l4 63.0 %, t4-pcie 57.6 %.

The bounds below are what holds today with margin (a regression guard), not the issue's targets,
which `hwsim validate gpu` reports as met or missed. docs/gpu.md has the table and the causes.
"""

from __future__ import annotations

import csv
import json
from typing import Any

import pytest

from hwsim.presets import list_presets
from hwsim.validation import gpu_heldout as gh
from hwsim.validation.gpu_kernel_power import POWER_FILES

REF = gh.REFERENCE_DIR
# Columns every file has, and the shape columns per kind (units in the names or in SOURCES.md).
COMMON = {"gpu", "preset", "dtype", "source"}
SHAPES = {"gemm": {"m", "n", "k"}, "norm": {"op", "rows", "row_elements"},
          "attention": {"phase", "batch", "seq_q", "seq_kv", "heads", "kv_heads", "head_dim",
                        "causal"},
          "prefill": {"model", "layers", "d_model", "heads", "d_ff", "vocab", "seq", "batch"},
          "decode": {"op_or_model", "batch", "kv_tokens_mean", "cuda_graphs", "framework"},
          "fp8 gemm": {"m", "n", "k"}, "w4a16 gemm": {"m", "n", "k"},
          "moe": {"tokens", "d_model", "d_ff", "experts", "top_k", "distribution"}}
LATENCY_COLUMN = {"gemm": "latency_us", "norm": "latency_us", "attention": "latency_us",
                  "prefill": "latency_ms", "decode": "value", "fp8 gemm": "latency_us",
                  "w4a16 gemm": "latency_us", "moe": "latency_us"}
# The dtype each kind's rows may hold.
KIND_DTYPES = {"fp8 gemm": ("fp8",), "w4a16 gemm": ("int4",)}
LLAMA_BENCH = "github:XiongjieDai/GPU-Benchmarks-on-LLM-Inference@"


def _rows(name: str) -> list[dict[str, str]]:
    with open(REF / name, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return gh.heldout_report()


@pytest.mark.parametrize("name", gh.HELDOUT_FILES)
def test_heldout_file_columns_units_and_sources(name: str) -> None:
    kind = gh.file_kind(name)
    rows = _rows(name)
    assert rows, name
    assert set(rows[0]) >= COMMON | SHAPES[kind] | {LATENCY_COLUMN[kind]}, name
    for r in rows:
        assert float(r[LATENCY_COLUMN[kind]]) > 0, r
        assert r["dtype"] in KIND_DTYPES.get(kind, ("fp32", "bf16", "fp16")), r
        src = r["source"]
        aic = "aiconfigurator-core==0.12.0" in src and ":aiconfigurator_core/systems/" in src
        llama = src.startswith(LLAMA_BENCH) and r.get("unit") == "tokens/s"
        assert "sitar-lab/NeuSight@6945927d9afcca2b9daf021f8395e53edc5b4eef:" in src or aic \
            or llama
        assert name.startswith("neusight_") == src.startswith("sitar-lab/NeuSight"), r
        assert name.startswith("llamacpp_") == llama, r


def test_every_public_csv_is_read_and_declared_held_out() -> None:
    public = {p.name for p in REF.glob("*.csv") if p.name.startswith(("neusight_",
                                                                       "aiconfigurator_"))}
    # Fitting data from the same sources lives in *_fit.csv files (issue 17), never held out.
    on_disk = {n for n in public if not n.endswith("_fit.csv")}
    # Held-out files are timed in a kind of the report, or (power-only) read by its
    # kernel-power section.
    assert on_disk == {n for n in (*gh.HELDOUT_FILES, *POWER_FILES)
                       if not n.startswith("llamacpp_")}
    text = (REF / "SOURCES.md").read_text(encoding="utf-8")
    table = text.split("## Fitted or held out", 1)[1].split("\n## ", 1)[0]
    for name in public | set(gh.HELDOUT_FILES) | set(POWER_FILES):
        line = next(ln for ln in table.splitlines() if f"`{name}`" in ln)
        fitted = name.endswith("_fit.csv")
        assert ("held out" in line) != fitted and ("fitted" in line) == fitted, line
    assert sum((REF / n).stat().st_size for n in on_disk) < 300_000


def test_new_preset_files_hold_only_new_presets() -> None:
    main_presets = {"a100-sxm-80gb", "h100-sxm", "rtx-4090", "jetson-agx-orin-64gb"}
    for name in gh.HELDOUT_FILES:
        presets = {r["preset"] for r in _rows(name)}
        # The power files hold only GPUs added for issue 17 (B200, H200).
        new_only = name.endswith("_new_presets.csv") or name in POWER_FILES
        assert (presets & main_presets == set()) == new_only, name
    for name in POWER_FILES:
        assert {r["preset"] for r in _rows(name)} <= {"b200-sxm", "h200-sxm"}


def test_report_fields_and_skips(report: dict[str, Any]) -> None:
    installed = {p.name for p in list_presets("chips") if p.group == "gpus"}
    total = sum(len(_rows(n)) for n in gh.HELDOUT_FILES)
    without = sum(r["preset"] not in installed for n in gh.HELDOUT_FILES for r in _rows(n))
    assert report["skipped_no_preset"] == without
    assert len(report["rows"]) == total - without > 200
    assert set(report) >= {"rows", "summary", "targets", "anchor", "mean_abs_error_all",
                           "kinds_without_data", "skipped_no_preset", "anchor_same_rows"}
    same = report["anchor_same_rows"]
    assert same["rows"] == sum(r["neusight_abs_error"] is not None for r in report["rows"]) >= 10
    assert 0 < same["neusight_mean_abs_error"] < 0.5
    for s in report["summary"]:
        if s["kind"] in gh.NO_TARGET:  # held out, but issue 17 sets no target for it
            assert s["target"] is None and s["met"] is None
            continue
        assert s["target"] == gh.TARGETS[s["kind"]]
        assert s["met"] == (s["median_abs_error"] <= s["target"])
    assert report["anchor"]["mean_error"] == 0.097
    for r in report["rows"]:
        assert r["measured_s"] > 0 and r["model_s"] > 0 and r["source"]


def per_chip_of(report: dict[str, Any], kind: str, chip: str) -> dict[str, Any]:
    return next(s for s in report["summary"] if s["kind"] == kind and s["chip"] == chip)


def test_todays_heldout_errors_with_margin(report: dict[str, Any]) -> None:
    overall = {s["kind"]: s for s in report["summary"] if s["chip"] == "all"}
    # Today (2026-12-05; before issue 17's kernel work: GEMM 38.5 %, attention 45.3 %, norm
    # 40.0 %, prefill 44.8 %): GEMM 15.5 %, attention 11.4 %, norm 3.1 %, prefill 3.9 % (H100
    # 2.1 %, L4 6.3 %, T4 16.9 %). The GPUs whose GEMM target is met stay met.
    assert overall["gemm"]["median_abs_error"] < 0.17
    for chip in ("h100-sxm", "b200-sxm"):
        assert per_chip_of(report, "gemm", chip)["median_abs_error"] <= 0.10
    assert overall["w4a16 gemm"]["median_abs_error"] <= 0.10
    # Attention: 11.5 % over the A100/H100/H200 rows; the B200's 60 rows (Blackwell kernels
    # costed as Hopper's, 38.7 %) take the pooled median to 14.1 %.
    assert overall["attention"]["median_abs_error"] < 0.155
    fa = [r for r in report["rows"] if r["kind"] == "attention" and r["chip"] != "b200-sxm"]
    assert gh._median_abs(fa) < 0.125
    # Norm: eager ATen LayerNorm and GDDR6's fitted bandwidth (L4 12.4 -> 1.9 %, T4 19.9 -> 4.6 %).
    assert overall["norm"]["median_abs_error"] < 0.06
    # MoE (vLLM fused_experts as its kernels, balanced routes; no issue-17 target): 9.8 % over
    # 120 rows, H200 5.5 %; never marked met or missed. Small calls are weight streaming of the
    # experts their slots touch (balanced: every one), unbiased since the expert activation,
    # combine and alignment kernels are priced. 12.1 % over all 160 since the H200/B200 HBM3E is
    # priced as HBM3E: the B200's Triton fused-MoE rows (too fast, -11.5 % signed) are no longer
    # slowed back by the 1000 W cap (docs/gpu.md "HBM3E").
    assert overall["moe"]["target"] is None and overall["moe"]["met"] is None
    assert overall["moe"]["median_abs_error"] < 0.135
    assert per_chip_of(report, "moe", "h200-sxm")["median_abs_error"] < 0.08
    # Prefill: 3.9 % until the sustained-load round, 10.6 % after it (H100 2.1 %, L4 22.1 %,
    # T4 16.9 %), 6.5 % since the DVFS round (H100 5.9 %, L4 4.9 %, T4 27.4 %). The L4 borrows
    # the H100's energy per FLOP at boost (math_energy_of); at one voltage its throttled fp32
    # GEMMs kept that energy and ran too slow; with the voltage following the clock
    # (dvfs_voltage_slope, fitted on the H200's and B200's burst and sustained pairs) they
    # spend less per FLOP where they throttle. The T4, on its die's energy (rtx-2080) since
    # 28.8 -> 19.2 %, still throttles too little and is too fast; 4.4 -> 3.6 % (T4 19.2 ->
    # 16.3 %) since it draws its die's active power too (active_power_of).
    assert 0.03 < overall["prefill"]["median_abs_error"] < 0.09
    h100 = {s["kind"]: s for s in report["summary"] if s["chip"] == "h100-sxm"}
    assert h100["prefill"]["median_abs_error"] < 0.08
    # The power-limited L4 (72 W) and T4 (70 W) take the energy per FLOP of a full-power part on
    # their node (math_energy_of: h100-sxm, v100-sxm2-32gb), so their fp32 sgemm throttles: GEMM
    # median error L4 -43.5 % -> -17.8 % -> +8.0 % (the H100's fitted slowdown, above) -> -15.9 %
    # (DVFS), T4 -42.6 % -> -25.4 % -> -37.8 % (DVFS) -> -39.4 % -> -27.9 % on its own die's
    # energy (rtx-2080, TU104, twice the V100's per SIMT FLOP; docs/gpu.md "The T4's die"),
    # still too fast (SIMT tile efficiency borrowed from the A100/V100 PCIe fit); -24.5 % with
    # its die's active power as well (docs/gpu.md "Same die, same active power").
    per_chip = {(s["kind"], s["chip"]): s for s in report["summary"]}
    assert -0.22 < per_chip[("gemm", "l4")]["median_error"] < -0.10
    assert -0.34 < per_chip[("gemm", "t4-pcie")]["median_error"] < -0.22
    assert per_chip[("prefill", "l4")]["median_abs_error"] < 0.09
    # T4 forward passes 28.8 -> 19.2 % on its die's energy, 16.3 % with its active power.
    assert 0.12 < per_chip[("prefill", "t4-pcie")]["median_abs_error"] < 0.25
    # On the 22 forward passes NeuSight also predicts: hwsim 6.4 % mean until the sustained-load
    # round, 12.6 % after it (the L4's, above), 10.8 % since the DVFS round, 9.8 % before the
    # T4 took its die's energy, 7.6 % since, 6.6 % with its die's active power; NeuSight's
    # own 11.8 %.
    same = report["anchor_same_rows"]
    assert 0.05 < same["hwsim_mean_abs_error"] < 0.095
    assert same["neusight_mean_abs_error"] == pytest.approx(0.1177, abs=1e-3)
    # Held-out llama.cpp decode: the RTX 4090 within 5 %; the A100 SXM ~45 % too fast (llama.cpp's
    # fp16 batch-1 kernels reach ~42 % of HBM bandwidth there, 87 % of the 4090's GDDR6X).
    decode = {s["chip"]: s for s in report["summary"] if s["kind"] == "decode"}
    assert decode["rtx-4090"]["median_abs_error"] < 0.05
    assert decode["a100-sxm-80gb"]["median_error"] < -0.3
    # The fp32 forward passes: the T4's too fast (above), the L4's a little slow; attention is
    # not biased one way.
    assert per_chip[("prefill", "t4-pcie")]["median_error"] < 0 < per_chip[("prefill", "l4")][
        "median_error"]
    assert abs(overall["attention"]["median_error"]) < 0.08


# Same worker as test_cli_sparsity's validate-gpu test (the session's result cache is per worker).
@pytest.mark.xdist_group("validate-gpu")
def test_validate_gpu_prints_heldout_first(run_cli) -> None:
    code, out, _ = run_cli("validate", "gpu")
    assert code == 0
    held, calib = out.index("Held out"), out.index("Calibration set")
    assert held < out.index("held out overall") < out.index("anchor: NeuSight") < calib
    assert out.index("anchor: NeuSight") < out.index("Leave one GPU out") < calib
    # The spread between two public collections of one board prints with the held-out rows.
    assert held < out.index("Two public collections of one board") < calib
    code, out, _ = run_cli("validate", "gpu", "--json")
    doc = json.loads(out)
    assert code == 0 and set(doc) == {"heldout", "leave_one_gpu_out", "calibration"}
    assert doc["heldout"]["rows"] and doc["heldout"]["summary"] and doc["calibration"]
    assert [r["preset"] for r in doc["heldout"]["source_agreement"]["rows"]] == [
        "a100-pcie-40gb", "h100-sxm", "l4", "t4-pcie"]
    decode = doc["heldout"]["decode_from_calibration"]
    assert decode["rows"] == sum(r["group"] == "decode" and not r["fitted"]
                                 and gh.GPT_FAST in r["source"] for r in doc["calibration"])


def test_heldout_rows_change_with_the_preset() -> None:
    """The validator simulates each row on its own preset: an A100 GEMM row moved to the H100
    comes out faster (more tensor throughput and bandwidth)."""
    row = _rows("aiconfigurator_gemm.csv")
    a100 = next(r for r in row if r["preset"] == "a100-sxm-80gb" and int(r["m"]) >= 512)
    fast = gh._gemm_s(a100 | {"preset": "h100-sxm"}, gh.GRAPH_REPLAY)
    assert fast < gh._gemm_s(a100, gh.GRAPH_REPLAY)
