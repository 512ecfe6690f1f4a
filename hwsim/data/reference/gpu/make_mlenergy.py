"""Regenerate ``mlenergy_h100_decode_fit.csv`` and ``mlenergy_h100_decode_heldout.csv`` from
the ML.ENERGY Leaderboard repository (not run at test time):

    python make_mlenergy.py LEADERBOARD_GIT_DIR

The rows are the leaderboard's v3.0 (vLLM 0.11.1) steady-state serving runs of dense bf16
transformers on one H100 SXM (``num_gpus`` 1) for the lm-arena-chat task, at max_num_seqs
<= 128 (the batch range of issue 17's energy-per-token target, plus one step beyond for the fit).
Which model is fitted and which is held out is fixed here, before any fit: Qwen3-8B and
Qwen3-14B fit; Llama-3.1-8B (the issue's "8B model on an H100") is held out. Model shapes are
the released Hugging Face ``config.json`` values (cited per model).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

COMMIT = "0cd52dab897c5d91a45f4d413038f3b8b4251b0f"
REPO = "ml-energy/leaderboard"
MAX_SEQS = (8, 16, 32, 64, 128)
# model id -> (role, layers, d_model, heads, kv_heads, d_ff, vocab, shape source)
MODELS = {
    "Qwen/Qwen3-8B": ("fit", 36, 4096, 32, 8, 12288, 151936,
                      "huggingface.co/Qwen/Qwen3-8B config.json"),
    "Qwen/Qwen3-14B": ("fit", 40, 5120, 40, 8, 17408, 151936,
                       "huggingface.co/Qwen/Qwen3-14B config.json"),
    "meta-llama/Llama-3.1-8B-Instruct": ("heldout", 32, 4096, 32, 8, 14336, 128256,
                                         "huggingface.co/meta-llama/Llama-3.1-8B-Instruct "
                                         "config.json"),
}
COLUMNS = ("preset", "gpu", "model", "task", "max_num_seqs", "avg_batch", "avg_output_tokens",
           "layers", "d_model", "heads", "kv_heads", "d_ff", "vocab", "dtype", "avg_power_w",
           "energy_per_token_j", "median_itl_ms", "output_tokens_per_s", "shape_source",
           "source")


def _show(git_dir: Path, path: str) -> dict:
    out = subprocess.check_output(["git", "-C", str(git_dir), "show", f"{COMMIT}:{path}"])
    return json.loads(out)  # type: ignore[no-any-return]


def rows(git_dir: Path) -> dict[str, list[dict[str, object]]]:
    by_role: dict[str, list[dict[str, object]]] = {"fit": [], "heldout": []}
    for model, (role, layers, d, h, kv, ff, vocab, shape_src) in MODELS.items():
        path = f"public/data/models/{model.replace('/', '__')}__lm-arena-chat.json"
        for c in _show(git_dir, path)["configurations"]:
            if c["gpu_model"] != "H100" or c["num_gpus"] != 1 or c["max_num_seqs"] not in MAX_SEQS:
                continue
            by_role[role].append({
                "preset": "h100-sxm", "gpu": "H100 SXM 80GB", "model": model,
                "task": "lm-arena-chat", "max_num_seqs": c["max_num_seqs"],
                "avg_batch": round(c["avg_batch_size"], 3),
                "avg_output_tokens": round(c["avg_output_len"], 1), "layers": layers,
                "d_model": d, "heads": h, "kv_heads": kv, "d_ff": ff, "vocab": vocab,
                "dtype": "bf16", "avg_power_w": round(c["avg_power_watts"], 2),
                "energy_per_token_j": round(c["energy_per_token_joules"], 5),
                "median_itl_ms": round(c["median_itl_ms"], 3),
                "output_tokens_per_s": round(c["output_throughput_tokens_per_sec"], 1),
                "shape_source": shape_src, "source": f"{REPO}@{COMMIT}:{path}"})
    return by_role


def main(git_dir: str) -> None:
    here = Path(__file__).parent
    for role, members in rows(Path(git_dir)).items():
        members.sort(key=lambda r: (str(r["model"]), int(r["max_num_seqs"])))  # type: ignore[call-overload]
        with open(here / f"mlenergy_h100_decode_{role}.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
            w.writeheader()
            w.writerows(members)


if __name__ == "__main__":
    main(sys.argv[1])
