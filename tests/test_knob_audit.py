"""Every knob acts: each numeric, boolean and choice field of every chip kind's schema, and each
model-builder parameter, changes latency, energy, area or memory fit on some preset of its kind
and a workload where it should matter, or is marked informational with a reason.

The knobs come from the schemas (hwsim.config.knobs walks the pydantic models), not from a
list here, so a new field is audited the day it is added. PENDING names the fields known to do
nothing and the branch fixing each; a PENDING field that starts acting fails the test, so the
list only shrinks.
"""

from __future__ import annotations

import contextlib
from functools import cache
from typing import Any

import pytest

import hwsim
from hwsim.config.chip import HOST_DEFAULTS, HOST_REQUIRED
from hwsim.config.knobs import Knob, chip_knobs, get_path, knobs
from hwsim.config.model import LiquidBuilder, TransformerBuilder
from hwsim.engine.backend import backend_for
from hwsim.errors import HwsimError
from hwsim.presets import list_presets
from hwsim.workload.load import model_from_doc

# kind:path -> the issue/branch that makes the field act. Keep it short; it may only shrink.
# Empty since the issue-15 branches (attn, gpuknobs, mcuknobs) landed: every field acts or is
# marked informational.
PENDING: dict[str, str] = {}

KINDS = ("accelerator", "gpu", "mcu")
GROUP = {"accelerator": "accelerators", "gpu": "gpus", "mcu": "mcus"}


def _model(name: str, **builder: Any) -> Any:
    return hwsim.load_model(name, overrides={f"builder.{k}": v for k, v in builder.items()})


@cache
def workloads(kind: str) -> list[tuple[str, Any, list[str] | None]]:
    """(label, model, sparsity overrides): small workloads that exercise each kind's paths."""
    # fp8 is a GPU tensor dtype only (Hopper/Ada; an input error on other chips, skipped here).
    gpu_only = ("fp8",) if kind == "gpu" else ()
    # int4 weight-only (W4A16) GEMMs are a GPU kernel too (int4_weight_only_kernel).
    int4 = ("int4",) if kind == "gpu" else ()
    gemms = [(f"gemm-{dt}", hwsim.gemm(256, 512, 512, dtype=dt), None)
             for dt in ("int8", "int16", "fp16", "bf16", "fp32", *gpu_only, *int4)]
    two_four = ("gemm-2:4", hwsim.gemm(256, 512, 512, dtype="fp16" if kind == "gpu" else "int8"),
                ["*:nm:n=2,m=4"])
    # GPUs list a 2:4 rate per dtype: each needs a 2:4 GEMM in that dtype
    two_four_dtypes = [(f"gemm-2:4-{dt}", hwsim.gemm(256, 512, 512, dtype=dt), ["*:nm:n=2,m=4"])
                       for dt in ("int8", "int16", "bf16", "fp32", *gpu_only)
                       ] if kind == "gpu" else []
    conv = ("conv", hwsim.conv2d(14, 14, 32, 64, 3, 3, padding=1), None)
    norm = ("norm", model_from_doc({
        "schema_version": 1, "name": "long-row-norm", "source": "knob audit",
        "ops": [{"kind": "vector", "name": "ln", "function": "norm", "elements": 64 * 32768,
                 "row_elements": 32768, "ops_per_element": 8.0,
                 "dtype": "fp16" if kind == "gpu" else "int8"}]}, "knob audit"), None)
    # A standalone softmax over 4096-wide rows (softmax_smem: one DRAM read or three).
    softmax = ("softmax", model_from_doc({
        "schema_version": 1, "name": "long-row-softmax", "source": "knob audit",
        "ops": [{"kind": "vector", "name": "sm", "function": "softmax", "elements": 64 * 4096,
                 "row_elements": 4096, "ops_per_element": 8.0,
                 "dtype": "fp16" if kind == "gpu" else "int8"}]}, "knob audit"), None)
    # torch.bmm in fp32: a batched SIMT sgemm (batched_sgemm_tile pins its tile).
    bmm = ("bmm-fp32", model_from_doc({
        "schema_version": 1, "name": "bmm-fp32", "source": "knob audit",
        "ops": [{"kind": "matmul", "name": "bmm", "m": 196, "n": 128, "k": 196, "batch": 64,
                 "b_is_weight": False, "dtype": "fp32"}]}, "knob audit"), None)
    if kind == "mcu":
        return [(n, hwsim.load_model(n), None) for n in
                ("mlperf-tiny-kws", "mlperf-tiny-ad", "mlperf-tiny-vww", "digits-mlp")] + [
            conv, norm, gemms[0], two_four, *gemms[1:]]
    llm = "llama2-7b" if kind == "gpu" else "gpt2-small"
    sparse = "selective-llama2-7b" if kind == "gpu" else "selective-gpt2-small"
    return [
        ("decode", _model(llm, layers=1, seq=256, phase="decode"), None),
        ("decode-int8", _model(llm, layers=1, seq=256, phase="decode", dtype="int8"), None),
        ("prefill", _model(llm, layers=1, seq=128, phase="prefill"), None),
        ("sparse-decode", _model(sparse, layers=1, seq=256, phase="decode"), None),
        ("sparse-prefill", _model(sparse, layers=1, seq=64, phase="prefill"), None),
        ("relu", _model(llm, layers=1, seq=64), ["*ffn_down:relu:density=0.3"]),
        # pruned weights and ReLU activations (two-sided skipping: weight_skipping, pe_join)
        ("relu-pruned-conv", hwsim.conv2d(28, 28, 128, 128, 3, 3, padding=1),
         ["*:relu:density=0.4,weight_density=0.35"]),
        two_four, *two_four_dtypes, conv, norm, softmax, *gemms,
        *([bmm] if kind == "gpu" else []),
        ("decode-batch16", _model(llm, layers=1, seq=256, phase="decode"), "batch16"),
    ]


@cache
def presets(kind: str) -> list[Any]:
    """The kind's presets, each also with every on/off feature switched on (a field that only
    acts under a feature, gather_efficiency under gather, is exercised there)."""
    out = []
    for p in list_presets("chips"):
        if p.group != GROUP[kind]:
            continue
        chip = hwsim.load_chip(p.path)
        out.append(chip)
        flags = {k.path: True for k in chip_knobs(kind) if k.type == "bool" and
                 get_path(chip, k.path.rsplit(".", 1)[0] if "." in k.path else "kind")
                 is not None}
        # a switch this preset cannot take (e.g. npu_only without an NPU) leaves it out
        with contextlib.suppress(HwsimError):
            out.append(hwsim.load_chip(chip, flags))
    return out


def signature(chip: Any, model: Any, extra: list[str] | str | None) -> tuple[Any, ...]:
    batch = 16 if extra == "batch16" else 1
    sparsity = extra if isinstance(extra, list) else None
    r = hwsim.simulate(model, chip, batch=batch, sparsity=sparsity)
    fit = backend_for(chip).memory_fit(r_model(model, sparsity), chip, batch, result=r)
    t = r.total
    return (round(t.latency_s, 15), round(t.energy_j, 15), round(t.area_mm2, 9), fit.fits,
            fit.devices_needed)


def r_model(model: Any, sparsity: list[str] | None) -> Any:
    if not sparsity:
        return model
    from hwsim.sparsity.overrides import apply_sparsity

    return apply_sparsity(model, sparsity)


def _bound_candidates(knob: Knob, value: Any, kind: str) -> list[Any]:
    """Values to try for ``knob``: halves and doubles of the preset's value, every other choice,
    and the values other presets of the kind use (for fields unset on this one)."""
    if knob.type == "bool":
        return [not value]
    if knob.type == "choice":
        return [c for c in knob.choices if c != value]
    if knob.type == "pair":
        return [None] if value is not None else [[2, 4], [4, 8]]
    others = {get_path(p, knob.path) for p in presets(kind)} - {None, value}
    if value is None or value == 0:
        # unset may mean a fitted default (e.g. dvfs_voltage_slope's 1): zero is a value too
        base = ([0] if value is None else []) + [1, 8, 64, 1e3, 1e9, 1e12]
    else:
        # x/1024 reaches a capacity the small workloads fill (offchip.size_bytes)
        base = [value / 16, value / 2, value * 2, value * 16, value / 1024]
    out = list(others) + base
    out = [round(v) if knob.type == "int" else float(v) for v in out]
    return list(dict.fromkeys(v for v in out if v != value))


def _overrides(chip: Any, knob: Knob, cand: Any) -> dict[str, Any]:
    """The overrides that set ``knob`` to ``cand``. ``npu_only`` is structural: the same NPU
    without its host core drops the core's fields and runs at the NPU's clock. ``npu.product``
    brings its product's defaults."""
    if knob.path == "npu_only" and cand and getattr(chip, "npu", None) is not None:
        return {"npu_only": True, "clock_hz": chip.npu.clock_hz,
                **{f: None for f in (*HOST_REQUIRED, *HOST_DEFAULTS)}}
    if knob.path == "npu.product":
        # the product acts through what it fixes (AXI width, default memory mode): a chip of
        # the other product takes that product's defaults, as its YAML would without them
        return {"npu.product": cand, "npu.axi_bytes_per_cycle": None, "npu.memory_mode": None,
                "npu.weight_memory": None}
    return {knob.path: cand}


def responds(kind: str, knob: Knob) -> str | None:
    """Where the knob changes a result ("preset / workload: field=value"), or None."""
    for chip in presets(kind):
        value = get_path(chip, knob.path)
        variants = []
        for cand in _bound_candidates(knob, value, kind):
            try:
                variants.append((cand, hwsim.load_chip(chip, _overrides(chip, knob, cand))))
            except HwsimError:
                continue  # not a valid chip (a bound, a cross-field rule): try the next value
        if not variants:
            continue
        for label, model, extra in workloads(kind):
            try:
                base = signature(chip, model, extra)
            except HwsimError:
                continue
            for cand, changed in variants:
                try:
                    moved = signature(changed, model, extra)
                except HwsimError:
                    return f"{chip.name} / {label}: {knob.path}={cand!r} makes it invalid"
                if moved != base:
                    return f"{chip.name} / {label}: {knob.path}={cand!r}"
    return None


CHIP_KNOBS = [(kind, k) for kind in KINDS for k in chip_knobs(kind)]


@pytest.mark.parametrize("kind,knob", CHIP_KNOBS, ids=[f"{k}:{kn.path}" for k, kn in CHIP_KNOBS])
def test_every_chip_knob_acts_or_is_informational(kind: str, knob: Knob) -> None:
    key = f"{kind}:{knob.path}"
    where = responds(kind, knob)
    if knob.informational:
        assert where is None, f"{key} is marked informational ({knob.informational}) but " \
            f"changes results at {where}: remove the marker"
    elif key in PENDING:
        assert where is None, f"{key} now acts ({where}): remove it from PENDING " \
            f"({PENDING[key]})"
    else:
        assert where is not None, (
            f"{key} changes no latency, energy, area or memory fit on any {kind} preset and "
            "workload of this audit: make it act, or mark it Field(..., json_schema_extra="
            "{'informational': '<reason>'}) if it cannot change results")


def test_pending_names_real_fields() -> None:
    every = {f"{kind}:{k.path}" for kind, k in CHIP_KNOBS}
    assert set(PENDING) <= every, set(PENDING) - every


# ------------------------------------------------------------------ model builder parameters

SPARSITY_FIELDS = ("ffn_sparsity", "attention_sparsity", "moe.routing", "sparsity", "dtype")


def builder_knobs(builder: type) -> list[Knob]:
    """Builder parameters; sparsity specs and dtype are their own schemas (tests/
    test_sparse_engine.py, test_properties.py)."""
    return [k for k in knobs(builder) if not k.path.startswith(SPARSITY_FIELDS)]


BUILDER_KNOBS = [("transformer", k) for k in builder_knobs(TransformerBuilder)] + [
    ("liquid", k) for k in builder_knobs(LiquidBuilder) if k.path != "kind"]
AUDIT_CHIPS = ("systolic-32x32", "a100-sxm-80gb", "stm32h7a3-m7")


@cache
def builder_presets(kind: str) -> list[tuple[str, dict[str, Any]]]:
    from hwsim.config.loading import read_yaml_file

    out = []
    for p in list_presets("models"):
        doc = read_yaml_file(p.path)
        b = doc.get("builder")
        if isinstance(b, dict) and b.get("kind", "transformer") == kind:
            out.append((p.name, b))
    return out


def _builder_candidates(knob: Knob, value: Any) -> list[Any]:
    if knob.type in ("bool", "choice"):
        return [not value] if knob.type == "bool" else [c for c in knob.choices if c != value]
    if value is None or value == 0:
        return [2, 8, 64]
    return [max(1, round(value / 2)), int(value * 2)] if knob.type == "int" else [
        value / 2, value * 2]


@pytest.mark.parametrize("kind,knob", BUILDER_KNOBS,
                         ids=[f"{k}:{kn.path}" for k, kn in BUILDER_KNOBS])
def test_every_builder_parameter_acts(kind: str, knob: Knob) -> None:
    parent = knob.path.rsplit(".", 1)[0] if "." in knob.path else None
    tried = []
    for name, b in builder_presets(kind):
        if parent is not None and get_path(b, parent) is None:
            continue  # the preset has no MoE block / patch embedding to change
        small = {} if knob.path in ("layers", "seq") or kind != "transformer" else {
            "builder.layers": 1, "builder.seq": min(int(b.get("seq", 64)), 128)}
        for cand in _builder_candidates(knob, get_path(b, knob.path)):
            try:
                base = hwsim.load_model(name, overrides=small)
                moved = hwsim.load_model(name, overrides=small | {f"builder.{knob.path}": cand})
            except HwsimError:
                continue
            for chip in AUDIT_CHIPS:
                try:
                    if signature(hwsim.load_chip(chip), base, None) != signature(
                            hwsim.load_chip(chip), moved, None):
                        return
                except HwsimError:
                    continue
            tried.append(f"{name}:{cand!r}")
    pytest.fail(f"builder.{knob.path} changes nothing on {', '.join(AUDIT_CHIPS)} "
                f"(tried {', '.join(tried[:6]) or 'no preset that has it'})")
