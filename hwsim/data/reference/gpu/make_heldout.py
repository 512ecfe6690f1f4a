"""Regenerates the held-out GPU CSVs of this folder from the two public sources (see SOURCES.md).

Not run at test or run time: hwsim reads only the CSVs. Needs a checkout (or bare clone) of
sitar-lab/NeuSight and the unpacked aiconfigurator-core 0.12.0 wheel from PyPI:

    python make_heldout.py NEUSIGHT_GIT_DIR AICONFIGURATOR_CORE_DIR

Every subset is a seeded sample (``SEED``) of the rows that fit a kind hwsim can represent, so the
files stay small and the selection is reproducible; no row is picked by how well hwsim does.
"""

from __future__ import annotations

import csv
import io
import json
import random
import subprocess
import sys
from pathlib import Path

import pandas as pd

SEED = 17
HERE = Path(__file__).parent
NEUSIGHT_REPO = "sitar-lab/NeuSight"
NEUSIGHT_COMMIT = "6945927d9afcca2b9daf021f8395e53edc5b4eef"
AIC_PKG = "aiconfigurator-core==0.12.0 (PyPI wheel; source repo NVIDIA/aiconfigurator)"
# NeuSight device name -> (hwsim preset, file set). Only devices with a matching preset: the
# A100 PCIe cards, the A100-SXM4-40GB and the V100 PCIe differ from hwsim's SXM presets.
NEUSIGHT_DEVICES = {"NVIDIA H100 80GB HBM3": ("h100-sxm", "NVIDIA_H100_80GB_HBM3", ""),
                    "NVIDIA L4": ("l4", "NVIDIA_L4", "_new_presets"),
                    "Tesla T4": ("t4-pcie", "Tesla_T4", "_new_presets")}
# aiconfigurator system folder -> (hwsim preset, vLLM version, file set).
AIC_SYSTEMS = {"h100_sxm": ("h100-sxm", "0.24.0", ""),
               "a100_sxm": ("a100-sxm-80gb", "0.14.0", ""),
               "h200_sxm": ("h200-sxm", "0.24.0", "_new_presets")}
# GEMM tables only: the B200's vLLM 0.24 attention tables are not drawn (its held-out attention
# rows are the vLLM 0.22 power rows, make_kernel_power.py), and adding it above would also add
# B200 rows to the attention fitting sample (make_fit.py).
AIC_GEMM_ONLY_SYSTEMS = {"b200_sxm": ("b200-sxm", "0.24.0", "_new_presets")}
# NeuSight's inference label runs that hwsim's transformer builder can express (dense GPT-2,
# OPT and BERT stacks; SwitchTransformer is left out: its expert routing is not in the label).
FORWARD_MODELS = ("bert_large", "gpt2_large", "gpt3_xl", "gpt3_27", "opt_13")
# NeuSight's column headers in summary/nvidia_inf.csv -> its label model names.
SUMMARY_MODELS = {"BERT-Large": "bert_large", "GPT2-Large": "gpt2_large", "GPT3-XL": "gpt3_xl",
                  "OPT-1.3B": "opt_13", "GPT3-2.7B": "gpt3_27"}
SUMMARY_PATH = "scripts/asplos/summary/nvidia_inf.csv"
GEMM_PER_GPU = 40
NORM_PER_GPU = 30
ATTN_PER_PHASE = 30


def _git(repo: Path, path: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "show", f"{NEUSIGHT_COMMIT}:{path}"],
                          check=True, capture_output=True, text=True).stdout


def _sample(rows: list, n: int, salt: str) -> list:
    rng = random.Random(f"{SEED}:{salt}")
    return rows if len(rows) <= n else rng.sample(rows, n)


def _write(name: str, header: list[str], rows: list[list]) -> None:
    with open(HERE / name, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _ns_source(path: str) -> str:
    return f"{NEUSIGHT_REPO}@{NEUSIGHT_COMMIT}:{path}"


def neusight_gemm(repo: Path) -> None:
    header = ["gpu", "preset", "op", "batch", "m", "n", "k", "dtype", "latency_us", "kernel",
              "source"]
    out: dict[str, list[list]] = {"": [], "_new_presets": []}
    for op in ("linear", "bmm"):
        path = f"scripts/asplos/data/dataset/test/{op}.csv"
        rows = list(csv.DictReader(io.StringIO(_git(repo, path))))
        for device, (preset, _, fileset) in NEUSIGHT_DEVICES.items():
            mine = [r for r in rows if r["Device"] == device]
            for r in _sample(mine, GEMM_PER_GPU, f"{op}:{device}"):
                out[fileset].append([device, preset, op, r["B"], r["M"], r["N"], r["K"], "fp32",
                                     f"{float(r['Latency']) * 1e3:.4f}", r["Kernel Name"][:60],
                                     _ns_source(path)])
    for fileset, rows_out in out.items():
        _write(f"neusight_gemm{fileset}.csv", header, rows_out)


NORM_HEADER = ["gpu", "preset", "op", "rows", "row_elements", "dtype", "latency_us", "kernel",
               "source"]
NORM_OPS = ("ln", "softmax")  # NeuSight's test file stems


def neusight_norm_table(repo: Path, op: str) -> tuple[str, list[dict[str, str]]]:
    """(path, rows) of NeuSight's fp32 ``op`` (ln | softmax) test file."""
    path = f"scripts/asplos/data/dataset/test/{op}.csv"
    return path, list(csv.DictReader(io.StringIO(_git(repo, path))))


def norm_row(device: str, preset: str, op: str, r: dict[str, str], path: str) -> list:
    """One output row: ``B`` rows of ``H`` elements, NeuSight's ms latency in microseconds."""
    return [device, preset, "layernorm" if op == "ln" else "softmax", r["B"], r["H"], "fp32",
            f"{float(r['Latency']) * 1e3:.4f}", r["Kernel Name"][:60], _ns_source(path)]


def neusight_norm(repo: Path) -> None:
    out: list[list] = []
    for op in NORM_OPS:
        path, rows = neusight_norm_table(repo, op)
        for device, (preset, _, fileset) in NEUSIGHT_DEVICES.items():
            mine = [r for r in rows if r["Device"] == device]
            if mine and fileset != "_new_presets":
                raise SystemExit(f"{device}: norm rows would need a main-preset file")
            for r in _sample(mine, NORM_PER_GPU, f"{op}:{device}"):
                out.append(norm_row(device, preset, op, r, path))
    _write("neusight_norm_new_presets.csv", NORM_HEADER, out)


def neusight_own_errors(repo: Path) -> dict[tuple[str, str, str], str]:
    """NeuSight's own published |error| (%) per (device folder, model, batch) for inference
    (the paper's Table 7 figures, summary/nvidia_inf.csv)."""
    out: dict[tuple[str, str, str], str] = {}
    device, models, batches = "", [], []
    for row in csv.reader(io.StringIO(_git(repo, SUMMARY_PATH))):
        if len(row) == 1 or (row and not row[0].startswith(("Model", "Batch")) and len(row) > 1
                             and row[0] not in ("Roofline", "Habitat", "Li et al.", "NeuSight")):
            device = row[0] if row else device
        elif row and row[0] == "Model":
            models = [row[i] or row[i - 1] for i in range(1, len(row))]
        elif row and row[0] == "Batch":
            batches = row[1:]
        elif row and row[0] == "NeuSight":
            for name, batch, err in zip(models, batches, row[1:], strict=False):
                if name in SUMMARY_MODELS and err:
                    out[(device, SUMMARY_MODELS[name], batch)] = err
    return out


def neusight_forward(repo: Path, devices: dict[str, tuple[str, str, str]] | None = None,
                     filesets: tuple[str, ...] = ("", "_new_presets")) -> None:
    header = ["gpu", "preset", "model", "layers", "d_model", "heads", "d_ff", "vocab", "seq",
              "batch", "dtype", "latency_ms", "neusight_abs_error_pct", "source",
              "neusight_error_source"]
    own = neusight_own_errors(repo)
    out: dict[str, list[list]] = {f: [] for f in filesets}
    listing = subprocess.run(["git", "-C", str(repo), "ls-tree", "-r", "--name-only",
                              NEUSIGHT_COMMIT, "scripts/asplos/label"], check=True,
                             capture_output=True, text=True).stdout.split()
    for device, (preset, folder, fileset) in (devices or NEUSIGHT_DEVICES).items():
        for path in sorted(p for p in listing if p.startswith(f"scripts/asplos/label/{folder}/")):
            stem = Path(path).name.removesuffix(".json")
            parts = stem.split("-")
            if not path.endswith(".json") or len(parts) != 4 or parts[1] != "inf":
                continue
            model, _, seq, batch = parts
            if model not in FORWARD_MODELS:
                continue
            cfg = json.loads(_git(repo, f"scripts/asplos/data/DLmodel_configs/{model}.json"))
            d = cfg.get("n_embd", cfg.get("hidden_size"))
            layers = cfg.get("n_layer", cfg.get("num_hidden_layers"))
            heads = cfg.get("n_head", cfg.get("num_attention_heads"))
            d_ff = cfg.get("n_inner") or cfg.get("ffn_dim") or cfg.get("intermediate_size") or 4 * d
            label = json.loads(_git(repo, path))
            out[fileset].append([device, preset, model, layers, d, heads, d_ff,
                                 cfg["vocab_size"], seq, batch, "fp32",
                                 f"{label['e2e_latency']:.4f}",
                                 own.get((folder, model, batch), ""), _ns_source(path),
                                 _ns_source(SUMMARY_PATH)])
    for fileset, rows_out in out.items():
        _write(f"neusight_forward{fileset}.csv", header, rows_out)


def _aic_path(system: str, version: str, kind: str, table: str) -> str:
    return f"aiconfigurator_core/systems/data/{system}/{kind}/vllm/{version}/{table}.parquet"


def aic_gemm(pkg: Path) -> None:
    header = ["gpu", "preset", "m", "n", "k", "dtype", "latency_us", "kernel", "framework",
              "source"]
    out: dict[str, list[list]] = {"": [], "_new_presets": []}
    for system, (preset, version, fileset) in (AIC_SYSTEMS | AIC_GEMM_ONLY_SYSTEMS).items():
        path = _aic_path(system, version, "gemm", "gemm_perf")
        df = pd.read_parquet(pkg / path)
        df = df[df.gemm_dtype == "bfloat16"].drop_duplicates(["m", "n", "k"])
        rows = list(df.itertuples(index=False))
        for r in sorted(_sample(rows, GEMM_PER_GPU, system), key=lambda r: (r.m, r.n, r.k)):
            out[fileset].append([r.device, preset, r.m, r.n, r.k, "bf16",
                                 f"{r.latency * 1e3:.4f}", r.kernel_source,
                                 f"vLLM {r.version}", f"{AIC_PKG}:{path}"])
    for fileset, rows_out in out.items():
        _write(f"aiconfigurator_gemm{fileset}.csv", header, rows_out)


def aic_attention_seq(phase: str, isl: int, step: int) -> tuple[int, int]:
    """(seq_q, seq_kv) of an AIConfigurator vLLM attention row. Context: ``isl`` new tokens,
    causal, no cached prefix (step 0). Generation: one new token per sequence whose KV length,
    the new token included, is ``step`` (collector/vllm/collect_attn.py: ``seq_lens =
    [input_len]``, ``query_lens = [1]``, logged as ``isl = 1, step = input_len``)."""
    return (isl, isl) if phase == "context" else (1, step)


ATTN_HEADER = ["gpu", "preset", "phase", "batch", "seq_q", "seq_kv", "heads", "kv_heads",
               "head_dim", "causal", "dtype", "latency_us", "kernel", "framework", "source"]
# One measured attention call per distinct shape.
AIC_ATTN_KEY = ("batch_size", "isl", "step", "num_heads", "num_key_value_heads", "head_dim")


def aic_attention_table(pkg: Path, system: str, version: str,
                        phase: str) -> tuple[str, pd.DataFrame]:
    """(path, rows) of one AIConfigurator attention table that hwsim can represent: bf16 KV
    cache and math, vLLM's FlashAttention kernels, no sliding window, one row per shape."""
    path = _aic_path(system, version, "attention", f"{phase}_attention_perf")
    df = pd.read_parquet(pkg / path)
    keep = (df.kv_cache_dtype == "bfloat16") & (df.attn_dtype == "bfloat16")
    keep &= df.kernel_source.isin(["vllm_flash_attn_fa3", "vllm_flash_attn"])
    if "window_size" in df.columns:
        keep &= df.window_size == 0
    return path, df[keep].drop_duplicates(list(AIC_ATTN_KEY))


def aic_attention(pkg: Path) -> None:
    out: dict[str, list[list]] = {"": [], "_new_presets": []}
    for system, (preset, version, fileset) in AIC_SYSTEMS.items():
        for phase in ("context", "generation"):
            path, df = aic_attention_table(pkg, system, version, phase)
            rows = list(df.itertuples(index=False))
            for r in _sample(rows, ATTN_PER_PHASE, f"{system}:{phase}"):
                seq_q, seq_kv = aic_attention_seq(phase, r.isl, r.step)
                out[fileset].append([r.device, preset, phase, r.batch_size, seq_q, seq_kv,
                                     r.num_heads, r.num_key_value_heads, r.head_dim, "true",
                                     "bf16", f"{r.latency * 1e3:.4f}", r.kernel_source,
                                     f"vLLM {r.version}", f"{AIC_PKG}:{path}"])
    for fileset, rows_out in out.items():
        _write(f"aiconfigurator_attention{fileset}.csv", ATTN_HEADER, rows_out)


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit(__doc__)
    repo, pkg = Path(argv[0]), Path(argv[1])
    neusight_gemm(repo)
    neusight_norm(repo)
    neusight_forward(repo)
    aic_gemm(pkg)
    aic_attention(pkg)


if __name__ == "__main__":
    main(sys.argv[1:])
