"""The GPU model against published measurements: one row per measured figure.

Reference data (with sources) lives in ``tests/reference/gpu``. :func:`validation_rows` returns
the comparison table that ``tests/test_gpu.py`` holds to its bounds and that a ``hwsim validate
gpu`` command can print.

Measurement harness overheads are properties of the measurement, not of the GPU: LLMCompass's
PyTorch wall-clock figures include host dispatch, so each operator kind is simulated with the
launch overhead LLMCompass's own simulator scripts add for that kind (21 us matmul, 12 us
softmax, 45 us layernorm and GELU; LLMCompass@2e015fd ae/figure5 scripts, see
``llmcompass_README.md``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hwsim.config.sparsity import NmSpec, TopKSpec
from hwsim.engine.simulate import simulate
from hwsim.sparsity.overrides import apply_sparsity
from hwsim.workload.builders import GELU_OPS, LAYERNORM_OPS, SOFTMAX_OPS
from hwsim.workload.load import load_model
from hwsim.workload.model import Model
from hwsim.workload.ops import MatmulOp, OpBase, VectorOp

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "tests" / "reference" / "gpu"
A100 = "a100-sxm-80gb"
# LLMCompass's per-kind harness overheads (seconds), from its ae/figure5 simulator scripts.
HARNESS_OVERHEAD_S = {"matmul": 21e-6, "softmax": 12e-6, "layernorm": 45e-6, "gelu": 45e-6}
# gpt-fast's A100 runs were power-limited to 330 W (its README), and generate 200 tokens after a
# 5-token prompt: the KV cache averages ~105 tokens over the run.
GPT_FAST_TDP_W = 330.0
GPT_FAST_KV_TOKENS = 105
# Llama-3.1-8B: Llama-2-7B's layout with d_ff 14336, 8 KV heads, vocab 128256 (Meta's released
# config.json for Llama-3.1-8B).
LLAMA31_8B = {"builder.d_ff": 14336, "builder.kv_heads": 8, "builder.vocab": 128256}
# TEAL sparsifies the input of every projection in each block (Liu et al., ICLR 2025, Sec. 4).
TEAL_OPS = ("*.qkv", "*.attn_out", "*.ffn_up", "*.ffn_down")
# torch.ao 2:4 tutorial: every nn.Linear of the BERT encoder is made 2:4 sparse.
BERT_LINEARS = ("*.qkv", "*.attn_out", "*.ffn_up", "*.ffn_down")


def _rows(name: str, ref_dir: Path) -> Iterator[dict[str, str]]:
    with open(ref_dir / name, newline="") as fh:
        yield from csv.DictReader(fh)


def _one(op: OpBase) -> Model:
    return Model(name=op.name, ops=(op,), origin="validation")


def _op_latency_s(op: OpBase, kind: str) -> float:
    r = simulate(_one(op), A100, chip_overrides={"launch_overhead_s": HARNESS_OVERHEAD_S[kind]})
    return r.total.latency_s


def _row(group: str, case: str, measured: float, model: float, unit: str,
         source: str) -> dict[str, Any]:
    return {"group": group, "case": case, "measured": measured, "model": model, "unit": unit,
            "error": (model - measured) / measured, "source": source}


def operator_rows(ref_dir: Path = REFERENCE_DIR) -> list[dict[str, Any]]:
    """LLMCompass A100 operator latencies (matmul, softmax, layernorm, GELU) vs the model."""
    out: list[dict[str, Any]] = []
    for r in _rows("llmcompass_matmul_real.csv", ref_dir):
        m, n, k = int(r["M"]), int(r["N"]), int(r["K"])
        op = MatmulOp(name="mm", m=m, n=n, k=k, dtype="fp16")
        out.append(_row("matmul", f"{m}x{n}x{k}", float(r["latency_ms"]) * 1e-3,
                        _op_latency_s(op, "matmul"), "s", r["source"]))
    for kind, fn, ops in (("softmax", "softmax", SOFTMAX_OPS), ("layernorm", "norm",
                                                                 LAYERNORM_OPS)):
        for r in _rows(f"llmcompass_{kind}_real.csv", ref_dir):
            m, n = int(r["M"]), int(r["N"])
            op = VectorOp(name=kind, function=fn, elements=m * n, ops_per_element=ops,
                          dtype="fp16")
            out.append(_row(kind, f"{m}x{n}", float(r["latency_us_derived_or_orig"]) * 1e-6,
                            _op_latency_s(op, kind), "s", r["source"]))
    for r in _rows("llmcompass_gelu_real.csv", ref_dir):
        e = int(r["num_elements"])
        op = VectorOp(name="gelu", function="activation", elements=e, ops_per_element=GELU_OPS,
                      dtype="fp16")
        out.append(_row("gelu", str(e), float(r["latency_us_derived_or_orig"]) * 1e-6,
                        _op_latency_s(op, "gelu"), "s", r["source"]))
    return out


def decode_tokens_per_s(model: Model, chip: str = A100, **overrides: Any) -> float:
    """Batch-1 decode tokens/s of ``model`` (already in decode phase)."""
    return 1.0 / simulate(model, chip, chip_overrides=overrides or None).total.latency_s


def decode_model(name: str = "llama2-7b", dtype: str = "bf16",
                 extra: dict[str, Any] | None = None) -> Model:
    return load_model(name, seq=GPT_FAST_KV_TOKENS, phase="decode",
                      overrides={"builder.dtype": dtype} | (extra or {}))


def decode_rows(ref_dir: Path = REFERENCE_DIR) -> list[dict[str, Any]]:
    """gpt-fast batch-1 decode tokens/s on one A100 (bf16 and int8 rows of the models hwsim
    builds) vs the model, at gpt-fast's 330 W power limit."""
    builds = {("Llama-2-7B", "bf16"): ("llama2-7b", "bf16", None),
              ("Llama-2-7B", "int8"): ("llama2-7b", "int8", None),
              ("Llama-3.1-8B", "bf16"): ("llama2-7b", "bf16", LLAMA31_8B),
              ("Llama-3.1-8B", "int8"): ("llama2-7b", "int8", LLAMA31_8B),
              ("Mixtral 8x7B", "int8"): ("mixtral-8x7b", "int8", None)}
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for r in _rows("gpt_fast_decode.csv", ref_dir):
        if not r["gpu"].startswith("NVIDIA A100") or r["num_gpus"] != "1":
            continue
        if r["metric"] != "decode tokens/s (batch 1)":
            continue
        dt = r["dtype"].lower()
        dtype = "bf16" if dt.startswith("base") else "int8" if dt in ("int8", "8-bit") else ""
        key = (r["op_or_model"], dtype)
        if key not in builds or key in seen:
            continue
        seen.add(key)
        name, mdtype, extra = builds[key]
        tok_s = decode_tokens_per_s(decode_model(name, mdtype, extra), tdp_w=GPT_FAST_TDP_W)
        out.append(_row("decode", f"{key[0]} {dtype}", float(r["value"]), tok_s, "tokens/s",
                        r["source"]))
    return out


def teal_speedup(sparsity: float, chip: str = A100) -> float:
    """Llama-2-7B batch-1 decode speedup of TEAL-style gather kernels at ``sparsity``."""
    dense = decode_model()
    spec = TopKSpec(density=1.0 - sparsity)
    sparse = apply_sparsity(dense, [(glob, spec) for glob in TEAL_OPS])
    gather = {"sparse_features.gather": True}
    return decode_tokens_per_s(sparse, chip, **gather) / decode_tokens_per_s(dense, chip,
                                                                               **gather)


def nm_speedup(model: Model, globs: tuple[str, ...], chip: str = A100, batch: int = 1) -> float:
    """End-to-end speedup of 2:4 weights on ``globs`` over the dense model."""
    sparse = apply_sparsity(model, [(g, NmSpec(n=2, m=4)) for g in globs])
    dense_s = simulate(model, chip, batch=batch).total.latency_s
    return dense_s / simulate(sparse, chip, batch=batch).total.latency_s


def sparse_rows(ref_dir: Path = REFERENCE_DIR) -> list[dict[str, Any]]:
    """TEAL decode speedups and the measured 2:4 speedups (torch.ao tutorial, A100)."""
    teal = "TEAL (Liu et al., ICLR 2025): Llama-2-7B decode 1.53x at 40 %, 1.8x at 50 % sparsity"
    out = [_row("teal", f"{int(s * 100)} % sparsity", v, teal_speedup(s), "x", teal)
           for s, v in ((0.4, 1.53), (0.5, 1.8))]
    rows = list(_rows("sparsity_2of4_measured.csv", ref_dir))
    dense: dict[int, float] = {}
    for r in rows:
        if r["op_or_model"].startswith("bert-base") and "80GB" in r["gpu"]:
            bs = int(r["batch"])
            if r["dtype"] == "fp16 dense":
                dense[bs] = float(r["value"])
            elif bs in dense:
                bert = load_model("bert-base", seq=384, overrides={"builder.dtype": "fp16"})
                out.append(_row("2:4", f"BERT-base fp16 seq 384 batch {bs}",
                                dense[bs] / float(r["value"]),
                                nm_speedup(bert, BERT_LINEARS, batch=bs), "x", r["source"]))
    linear = [r for r in rows if r["op_or_model"].startswith("linear")]
    if len(linear) == 2:
        lin = _one(MatmulOp(name="linear", m=3072, n=3072, k=10240, dtype="fp16"))
        out.append(_row("2:4", "linear 3072x3072x10240 fp16 (calibration point)",
                        float(linear[0]["value"]) / float(linear[1]["value"]),
                        nm_speedup(lin, ("linear",)), "x", linear[0]["source"]))
    return out


def validation_rows(ref_dir: Path = REFERENCE_DIR) -> list[dict[str, Any]]:
    """Every comparison: group, case, measured, model, unit, relative error, source."""
    return operator_rows(ref_dir) + decode_rows(ref_dir) + sparse_rows(ref_dir)
