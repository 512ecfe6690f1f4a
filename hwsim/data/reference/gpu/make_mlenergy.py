"""Regenerate ``mlenergy_h100_decode_fit.csv`` and ``mlenergy_h100_decode_heldout.csv`` from
the ML.ENERGY Leaderboard repository (not run at test time):

    python make_mlenergy.py LEADERBOARD_GIT_DIR

The rows are the leaderboard's v3.0 (vLLM 0.11.1) steady-state serving runs of dense bf16
transformers on one H100 SXM (``num_gpus`` 1) for the lm-arena-chat task (and, as further
fitting rows, the gpqa task: long reasoning outputs, so decode steps dominated by KV-cache
reads), at max_num_seqs <= 128 (the batch range of issue 17's energy-per-token target, plus one
step beyond for the fit) and only runs the leaderboard calls stable (average batch >= 0.85 x
max_num_seqs, its data toolkit's criterion). Which model is fitted and which is held out is
fixed here, before any fit: Qwen3-8B and Qwen3-14B fit (both tasks); Llama-3.1-8B (the issue's
"8B model on an H100") is held out. Model shapes are the released Hugging Face ``config.json``
values (cited per model); Qwen3-32B and Gemma 3 are left out because their head_dim is not
d_model / heads, which the transformer builder assumes.

``step_mean_output_tokens`` is E[L^2] / E[L] of the run's published output-length histogram
(bin midpoints): a decode step samples running requests in proportion to their length, so the
mean output length *seen by a step* is length-biased, not the plain mean.
"""

from __future__ import annotations

import csv
import itertools
import json
import subprocess
import sys
from pathlib import Path

COMMIT = "0cd52dab897c5d91a45f4d413038f3b8b4251b0f"
REPO = "ml-energy/leaderboard"
MAX_SEQS = (8, 16, 32, 64, 128)
TASKS = {"lm-arena-chat": ("Qwen/Qwen3-8B", "Qwen/Qwen3-14B", "meta-llama/Llama-3.1-8B-Instruct"),
         "gpqa": ("Qwen/Qwen3-8B", "Qwen/Qwen3-14B")}
STABLE_BATCH_FRACTION = 0.85
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
           "step_mean_output_tokens", "layers", "d_model", "heads", "kv_heads", "d_ff", "vocab",
           "dtype", "avg_power_w",
           "energy_per_token_j", "median_itl_ms", "output_tokens_per_s", "shape_source",
           "source")


def _show(git_dir: Path, path: str) -> dict:
    out = subprocess.check_output(["git", "-C", str(git_dir), "show", f"{COMMIT}:{path}"])
    return json.loads(out)  # type: ignore[no-any-return]


def step_mean_output(hist: dict[str, list[float]]) -> float:
    """E[L^2] / E[L] of an output-length histogram (bin midpoints)."""
    edges, counts = hist["bins"], hist["counts"]
    mids = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
    m1 = sum(x * n for x, n in zip(mids, counts, strict=True))
    m2 = sum(x * x * n for x, n in zip(mids, counts, strict=True))
    return m2 / m1


def _stable(c: dict) -> bool:
    return (c["gpu_model"] == "H100" and c["num_gpus"] == 1 and c["max_num_seqs"] in MAX_SEQS
            and c["avg_batch_size"] >= STABLE_BATCH_FRACTION * c["max_num_seqs"])


def rows(git_dir: Path) -> dict[str, list[dict[str, object]]]:
    by_role: dict[str, list[dict[str, object]]] = {"fit": [], "heldout": []}
    for task, models in TASKS.items():
        for model in models:
            by_role[MODELS[model][0]].extend(_rows(git_dir, task, model))
    return by_role


def _rows(git_dir: Path, task: str, model: str) -> list[dict[str, object]]:
    _, layers, d, h, kv, ff, vocab, shape_src = MODELS[model]
    path = f"public/data/models/{model.replace('/', '__')}__{task}.json"
    out: list[dict[str, object]] = []
    for c in _show(git_dir, path)["configurations"]:
        if _stable(c):
            out.append({
                "preset": "h100-sxm", "gpu": "H100 SXM 80GB", "model": model,
                "task": task, "max_num_seqs": c["max_num_seqs"],
                "avg_batch": round(c["avg_batch_size"], 3),
                "avg_output_tokens": round(c["avg_output_len"], 1),
                "step_mean_output_tokens": round(step_mean_output(
                    c["output_length_distribution"]), 1), "layers": layers,
                "d_model": d, "heads": h, "kv_heads": kv, "d_ff": ff, "vocab": vocab,
                "dtype": "bf16", "avg_power_w": round(c["avg_power_watts"], 2),
                "energy_per_token_j": round(c["energy_per_token_joules"], 5),
                "median_itl_ms": round(c["median_itl_ms"], 3),
                "output_tokens_per_s": round(c["output_throughput_tokens_per_sec"], 1),
                "shape_source": shape_src, "source": f"{REPO}@{COMMIT}:{path}"})
    return out


def main(git_dir: str) -> None:
    here = Path(__file__).parent
    for role, members in rows(Path(git_dir)).items():
        members.sort(key=lambda r: (str(r["task"]), str(r["model"]), int(r["max_num_seqs"])))  # type: ignore[call-overload]
        with open(here / f"mlenergy_h100_decode_{role}.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
            w.writeheader()
            w.writerows(members)


if __name__ == "__main__":
    main(sys.argv[1])
