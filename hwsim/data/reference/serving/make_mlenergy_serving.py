"""Regenerate ``mlenergy_h100_vllm.csv`` and ``mlenergy_output_lengths.csv`` from the ML.ENERGY
Leaderboard repository (not run at test time):

    python make_mlenergy_serving.py LEADERBOARD_GIT_DIR

Rows: the leaderboard's v3.0 steady-state serving runs (vLLM 0.11.1, H100 SXM, bf16,
lm-arena-chat; one GPU, and four with tensor parallelism 4 for Llama-3.1-70B) at
``max_num_seqs`` 8-256 (larger batches are KV-cache limited in vLLM and the
runs' 1,024 requests give them too short a steady state). Roles are fixed here, before any fit,
the same split as the GPU power fit (hwsim/data/reference/gpu/make_mlenergy.py): Qwen3-8B and
Qwen3-14B are ``fitted`` (the per-iteration host overhead is fitted on their inter-token
latencies), Llama-3.1-8B-Instruct and Llama-3.1-70B-Instruct (TP 4) are ``heldout``. Model
shapes: each model's released Hugging Face ``config.json``. Output lengths: each model's
published output-length histogram.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

COMMIT = "0cd52dab897c5d91a45f4d413038f3b8b4251b0f"
REPO = "ml-energy/leaderboard"
MAX_SEQS = (8, 16, 32, 64, 96, 128, 192, 256)
# model id -> (role, tensor parallel GPUs, layers, d_model, heads, kv_heads, d_ff, vocab)
MODELS = {
    "Qwen/Qwen3-8B": ("fitted", 1, 36, 4096, 32, 8, 12288, 151936),
    "Qwen/Qwen3-14B": ("fitted", 1, 40, 5120, 40, 8, 17408, 151936),
    "meta-llama/Llama-3.1-8B-Instruct": ("heldout", 1, 32, 4096, 32, 8, 14336, 128256),
    "meta-llama/Llama-3.1-70B-Instruct": ("heldout", 4, 80, 8192, 64, 8, 28672, 128256),
}
COLUMNS = ("role", "engine", "preset", "tp", "model", "task", "max_num_seqs", "avg_batch",
           "avg_output_tokens", "layers", "d_model", "heads", "kv_heads", "d_ff", "vocab",
           "dtype", "median_itl_ms", "output_tokens_per_s", "shape_source", "source")


def _show(git_dir: Path, path: str) -> dict:
    out = subprocess.check_output(["git", "-C", str(git_dir), "show", f"{COMMIT}:{path}"])
    return json.loads(out)


def main(git_dir: Path) -> None:
    here = Path(__file__).parent
    rows, hist = [], []
    for model, (role, tp, *shape) in MODELS.items():
        path = f"public/data/models/{model.replace('/', '__')}__lm-arena-chat.json"
        doc = _show(git_dir, path)
        for c in doc["configurations"]:
            if (c["gpu_model"] != "H100" or c["num_gpus"] != tp
                    or c["parallelization"]["tensor_parallel"] != tp
                    or c["max_num_seqs"] not in MAX_SEQS):
                continue
            rows.append({
                "role": role, "engine": "vllm-0.11.1", "preset": "h100-sxm", "tp": tp,
                "model": model,
                "task": "lm-arena-chat", "max_num_seqs": c["max_num_seqs"],
                "avg_batch": round(c["avg_batch_size"], 3),
                "avg_output_tokens": round(c["avg_output_len"], 1),
                **dict(zip(("layers", "d_model", "heads", "kv_heads", "d_ff", "vocab"), shape,
                           strict=True)),
                "dtype": "bf16", "median_itl_ms": round(c["median_itl_ms"], 3),
                "output_tokens_per_s": round(c["output_throughput_tokens_per_sec"], 1),
                "shape_source": f"huggingface.co/{model} config.json",
                "source": f"{REPO}@{COMMIT}:{path}"})
        d = doc["output_length_distribution"]
        for lo, hi, n in zip(d["bins"][:-1], d["bins"][1:], d["counts"], strict=True):
            hist.append({"model": model, "bin_lo": round(lo, 2), "bin_hi": round(hi, 2),
                         "count": n})
    rows.sort(key=lambda r: (str(r["model"]), int(r["max_num_seqs"])))
    with open(here / "mlenergy_h100_vllm.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    with open(here / "mlenergy_output_lengths.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=("model", "bin_lo", "bin_hi", "count"),
                           lineterminator="\n")
        w.writeheader()
        w.writerows(hist)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
