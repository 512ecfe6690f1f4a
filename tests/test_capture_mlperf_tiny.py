"""Capture on MLPerf Tiny models converted to ONNX (scripts/make_mlperf_tiny_onnx.py: tf2onnx
from the .tflite files in models/tflite, node names set to hwsim's TFLite importer's), and the
trace driving the ``mlperf-tiny-*`` presets (the TFLite imports) as they are.

Inputs are seeded random int8 tensors of the models' input shapes: CIFAR-10 and Speech
Commands are not in the repository, so the densities here check the mechanics, not a dataset.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest

import hwsim
from hwsim.capture import capture
from hwsim.workload.load import load_model

pytest.importorskip("onnxruntime")

DATA = Path(__file__).parent / "data" / "mlperf_tiny_onnx"
# preset -> (ONNX file, input name, input shape)
MODELS = {"mlperf-tiny-ic": ("mlperftiny_ic_resnet8.onnx", "input_1_int8", (1, 32, 32, 3)),
          "mlperf-tiny-kws": ("mlperftiny_kws_dscnn.onnx", "input_1", (1, 49, 10, 1))}
N_INPUTS = 4


def test_files_match_their_sources() -> None:
    with (DATA / "SOURCES.csv").open() as f:
        rows = {r["file"]: r for r in csv.DictReader(f)}
    for onnx_file, _, _ in MODELS.values():
        data = (DATA / onnx_file).read_bytes()
        assert hashlib.sha256(data).hexdigest() == rows[onnx_file]["sha256"]
        assert (Path(__file__).parent.parent / "models" / "tflite"
                / rows[onnx_file]["source_tflite"]).is_file()


@pytest.fixture(scope="module", params=sorted(MODELS))
def traced(request, tmp_path_factory):
    preset = request.param
    onnx_file, input_name, shape = MODELS[preset]
    d = tmp_path_factory.mktemp(preset)
    x = np.random.default_rng(7).integers(-128, 128, size=(N_INPUTS, *shape), dtype=np.int8)
    np.savez(d / "inputs.npz", **{input_name: x})
    cap = capture(DATA / onnx_file, d / "inputs.npz")
    from hwsim.capture import write

    return preset, cap, write(cap, d / "trace.npz")


def test_every_conv_and_fc_is_captured_under_the_presets_names(traced) -> None:
    preset, cap, _ = traced
    model = load_model(preset)
    gemm_ops = {op.name: op for op in model.ops if op.kind in ("conv2d", "matmul")}
    assert set(cap.masks) == set(gemm_ops) and not cap.skipped
    for c in cap.ops:
        op = gemm_ops[c.op]
        if op.kind == "conv2d":
            assert c.k == op.r * op.s * op.c // op.groups
            assert c.tokens_per_input == op.out_h * op.out_w * op.groups
    # ReLU outputs feed every conv after the first: far from dense
    inner = [c for c in cap.ops if c.op not in ("conv_0",) and c.op.startswith(("conv", "dw"))]
    assert all(0.05 < np.mean(c.densities) < 0.8 for c in inner)


def test_trace_drives_the_tflite_preset(traced) -> None:
    preset, cap, trace = traced
    spec = [f"*:trace:path={trace}"]
    dense = hwsim.simulate(preset, "eyeriss-v2-like").total.compute_cycles
    assert hwsim.simulate(preset, "eyeriss-v2-like", sparsity=spec).total.compute_cycles < dense
    # An MCU prices each op's measured density (its kernels skip zeros in FC layers only).
    as_relu = [f"{op}:relu:density={float(mask.mean())!r}" for op, mask in cap.masks.items()]
    mcu = hwsim.simulate(preset, "stm32u585-m33", sparsity=spec).total.latency_s
    assert mcu == pytest.approx(
        hwsim.simulate(preset, "stm32u585-m33", sparsity=as_relu).total.latency_s, rel=1e-12)


def test_wrong_input_shape_is_one_error(tmp_path, run_cli) -> None:
    onnx_file, input_name, _ = MODELS["mlperf-tiny-kws"]
    np.savez(tmp_path / "bad.npz", **{input_name: np.zeros((2, 1, 49, 11, 1), np.int8)})
    code, _, err = run_cli("capture", str(DATA / onnx_file), "--inputs",
                           str(tmp_path / "bad.npz"), "-o", str(tmp_path / "t.npz"))
    assert code == 2 and err.count("error:") == 1 and "(1, 49, 10, 1)" in err
