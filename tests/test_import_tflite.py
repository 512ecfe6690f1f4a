"""TFLite import of the MLPerf Tiny and TFLite Micro reference models shipped in models/tflite/."""

from __future__ import annotations

import collections
import csv
import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("tflite")
import tflite

import hwsim
from hwsim.errors import HwsimError
from hwsim.workload import importers
from hwsim.workload.importers import import_model, model_to_yaml
from hwsim.workload.importers import tflite as tfl
from hwsim.workload.load import model_from_doc
from hwsim.workload.ops import Conv2dOp, MatmulOp, VectorOp

TFLITE = Path(__file__).resolve().parents[1] / "models" / "tflite"
FILES = sorted(TFLITE.glob("*.tflite"))

# MACs of the conv, depthwise and fully connected layers, counted by hand from each file's
# layer shapes (output pixels x filter size x input channels per group, summed).
MLPERF_TINY = {
    "mlperf-tiny-kws": ("mlperftiny_kws_dscnn_int8.tflite", 2_656_768),
    "mlperf-tiny-ic": ("mlperftiny_ic_resnet8_int8.tflite", 12_501_632),
    "mlperf-tiny-vww": ("mlperftiny_vww_mobilenetv1_int8.tflite", 7_489_664),
    "mlperf-tiny-ad": ("mlperftiny_ad_fcautoencoder_int8.tflite", 264_192),
}


def file_op_types(path: Path) -> list[str]:
    """Op types of the main subgraph, read independently of the importer's own reader."""
    m = tflite.Model.GetRootAs(path.read_bytes(), 0)
    g = m.Subgraphs(0)
    codes = [m.OperatorCodes(i) for i in range(m.OperatorCodesLength())]
    return [tflite.utils.opcode2name(max(codes[g.Operators(i).OpcodeIndex()].BuiltinCode(),
                                         codes[g.Operators(i).OpcodeIndex()]
                                         .DeprecatedBuiltinCode()))
            for i in range(g.OperatorsLength())]


def test_the_shipped_files_match_their_recorded_sources():
    with (TFLITE / "SOURCES.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["file"] for r in rows) == [p.name for p in FILES] and len(FILES) == 8
    for row in rows:
        data = (TFLITE / row["file"]).read_bytes()
        assert len(data) == int(row["bytes"])
        assert hashlib.md5(data).hexdigest() == row["md5"]
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        assert blob == row["git_blob_sha1"]


@pytest.mark.parametrize("preset", sorted(MLPERF_TINY))
def test_mlperf_tiny_macs_are_exact(preset):
    file, macs = MLPERF_TINY[preset]
    m = import_model(TFLITE / file)
    costed = [op for op in m.ops if isinstance(op, Conv2dOp | MatmulOp)]
    assert sum(op.macs for op in costed) == macs
    assert m.macs == macs  # vector ops add no MACs
    assert all(op.dtype == "int8" for op in m.ops)


@pytest.mark.parametrize("preset", sorted(MLPERF_TINY))
def test_presets_equal_a_fresh_import(preset):
    file, _ = MLPERF_TINY[preset]
    fresh = import_model(TFLITE / file)
    loaded = hwsim.load_model(preset)
    assert loaded.ops == fresh.ops
    assert fresh.file_sha256 in loaded.source and "mlcommons/tiny" in loaded.source
    assert loaded.description


def test_presets_are_what_the_script_writes():
    spec = importlib.util.spec_from_file_location("make_presets", TFLITE / "make_presets.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    for preset in MLPERF_TINY:
        text = (TFLITE.parent / f"{preset}.yaml").read_text(encoding="utf-8")
        assert text == script.render(preset), f"{preset}: run models/tflite/make_presets.py"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_op_is_mapped_or_skipped_as_layout(path):
    types = collections.Counter(file_op_types(path))
    assert set(types) <= set(tfl.HANDLERS) | tfl.NO_COST
    m = import_model(path)
    skipped = dict(m.skipped)
    assert skipped == {t: n for t, n in types.items() if t in tfl.NO_COST}
    # One op per costed file op: nothing dropped silently.
    assert len(m.ops) == sum(n for t, n in types.items() if t not in tfl.NO_COST)


def test_unsupported_ops_are_listed_in_one_error(monkeypatch):
    monkeypatch.delitem(tfl.HANDLERS, "SOFTMAX")
    monkeypatch.delitem(tfl.HANDLERS, "DEPTHWISE_CONV_2D")
    path = TFLITE / "mlperftiny_kws_dscnn_int8.tflite"
    with pytest.raises(HwsimError) as err:
        import_model(path)
    text = str(err.value)
    assert path.name in text
    assert "DEPTHWISE_CONV_2D x4" in text and "SOFTMAX x1" in text
    assert "5 unsupported op(s)" in text
    assert "#12 Identity" in text  # node index and output tensor, as Netron shows them


def test_depthwise_multiplier_and_asymmetric_same_padding():
    kws = import_model(TFLITE / "mlperftiny_kws_dscnn_int8.tflite")
    stem = kws.ops[0]
    # 49x10 input, 10x4 filter, stride 2, SAME: pads 9 (4+5) and 2 (1+1) - no one symmetric
    # padding gives 25x5, so the op takes the padded 58x12 input.
    assert isinstance(stem, Conv2dOp) and (stem.out_h, stem.out_w) == (25, 5)
    assert (stem.h, stem.w, stem.padding) == (58, 12, 0)
    person = import_model(TFLITE / "tflm_person_detect_int8.tflite")
    first = person.ops[0]  # depthwise on a 1-channel image with depth multiplier 8
    assert isinstance(first, Conv2dOp) and (first.c, first.k, first.groups) == (1, 8, 1)
    assert first.macs == 48 * 48 * 8 * 9


def test_weight_bytes_and_zero_fractions_are_recorded():
    vww = import_model(TFLITE / "mlperftiny_vww_mobilenetv1_int8.tflite")
    assert vww.weight_zero_fraction == pytest.approx(0.828, abs=0.0005)
    stored = sum(w.bytes for w in vww.weights if w.role == "weight")
    assert stored == vww.weight_bytes  # int8 weights: one byte per op weight
    biases = [w for w in vww.weights if w.role == "bias"]
    assert biases and all(w.dtype == "int32" for w in biases)
    pool = next(op for op in vww.ops if isinstance(op, VectorOp) and op.function == "pool")
    assert (pool.elements, pool.ops_per_element) == (256, 9)


def test_yaml_round_trip():
    for path in FILES:
        m = import_model(path)
        again = model_from_doc(yaml.safe_load(model_to_yaml(m)), path.name)
        assert again.ops == m.ops and again.source == m.source
    for preset in ("gpt2-small", "resnet18"):  # any Model, not only imported ones
        m = hwsim.load_model(preset)
        assert model_from_doc(yaml.safe_load(model_to_yaml(m)), preset).ops == m.ops


def test_bad_files_get_errors_naming_them(tmp_path, monkeypatch):
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(HwsimError, match=r"junk\.tflite.*TFL3"):
        import_model(junk)
    good = (TFLITE / "mlperftiny_ic_resnet8_int8.tflite").read_bytes()
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(good[:2000])
    with pytest.raises(HwsimError, match=r"cut\.tflite.*corrupt"):
        import_model(cut)
    with pytest.raises(HwsimError, match="file not found"):
        import_model(tmp_path / "absent.tflite")
    with pytest.raises(HwsimError, match="unsupported model file type"):
        import_model(tmp_path / "model.pb")
    monkeypatch.setattr(importers, "MAX_IMPORT_BYTES", 1000)
    with pytest.raises(HwsimError, match="limited to 1,000"):
        import_model(TFLITE / "tflm_hello_world_int8.tflite")


def build_tflite(tensors: list[tuple[str, list[int], int, bytes | None]],
                 ops: list[tuple[str, list[int], list[int]]]) -> bytes:
    """A minimal .tflite flatbuffer: tensors (name, shape, TensorType, constant data) and ops
    (builtin name or "CUSTOM:code", input and output tensor indices), options at defaults."""
    import flatbuffers

    def mod(name: str):
        return importlib.import_module(f"tflite.{name}")

    def vector(b, items, prepend) -> int:
        b.StartVector(4, len(items), 4)
        for item in reversed(items):
            prepend(item)
        return b.EndVector()

    b = flatbuffers.Builder(1024)
    buffer, tensor, operator = mod("Buffer"), mod("Tensor"), mod("Operator")
    datas = [b.CreateByteVector(d) if d else None for _, _, _, d in tensors]
    buffers = []
    for data in [None, *datas]:  # buffer 0 is the conventional empty buffer
        buffer.Start(b)
        if data is not None:
            buffer.AddData(b, data)
        buffers.append(buffer.End(b))
    names = [b.CreateString(t[0]) for t in tensors]
    shapes = [vector(b, t[1], b.PrependInt32) for t in tensors]
    tensor_offsets = []
    for i, (_, _, ttype, data) in enumerate(tensors):
        tensor.Start(b)
        tensor.AddShape(b, shapes[i])
        tensor.AddType(b, ttype)
        tensor.AddBuffer(b, i + 1 if data else 0)
        tensor.AddName(b, names[i])
        tensor_offsets.append(tensor.End(b))
    kinds = sorted({op[0] for op in ops})
    code_offsets = []
    for kind in kinds:
        custom = b.CreateString(kind.split(":", 1)[1]) if kind.startswith("CUSTOM:") else None
        value = getattr(tflite.BuiltinOperator, "CUSTOM" if custom else kind)
        mod("OperatorCode").Start(b)
        mod("OperatorCode").AddDeprecatedBuiltinCode(b, min(value, 127))
        mod("OperatorCode").AddBuiltinCode(b, value)
        if custom:
            mod("OperatorCode").AddCustomCode(b, custom)
        code_offsets.append(mod("OperatorCode").End(b))
    op_offsets = []
    for kind, ins, outs in ops:
        iv, ov = vector(b, ins, b.PrependInt32), vector(b, outs, b.PrependInt32)
        operator.Start(b)
        operator.AddOpcodeIndex(b, kinds.index(kind))
        operator.AddInputs(b, iv)
        operator.AddOutputs(b, ov)
        op_offsets.append(operator.End(b))
    sub = mod("SubGraph")
    tv = vector(b, tensor_offsets, b.PrependUOffsetTRelative)
    ov = vector(b, op_offsets, b.PrependUOffsetTRelative)
    sub.Start(b)
    sub.AddTensors(b, tv)
    sub.AddOperators(b, ov)
    graph = sub.End(b)
    model = mod("Model")
    cv = vector(b, code_offsets, b.PrependUOffsetTRelative)
    sv = vector(b, [graph], b.PrependUOffsetTRelative)
    bv = vector(b, buffers, b.PrependUOffsetTRelative)
    model.Start(b)
    model.AddVersion(b, 3)
    model.AddOperatorCodes(b, cv)
    model.AddSubgraphs(b, sv)
    model.AddBuffers(b, bv)
    b.Finish(model.End(b), file_identifier=b"TFL3")
    return bytes(b.Output())


FP32, FP16 = tflite.TensorType.FLOAT32, tflite.TensorType.FLOAT16


def fp16_mlp(extra_ops: list[tuple[str, list[int], list[int]]] = ()) -> bytes:
    """x(1,8) -> FULLY_CONNECTED with fp16 weights behind a DEQUANTIZE -> (1,4) -> extras."""
    weights = np.arange(32, dtype=np.float16).reshape(4, 8)  # one zero of 32
    tensors = [("x", [1, 8], FP32, None), ("w16", [4, 8], FP16, weights.tobytes()),
               ("w", [4, 8], FP32, None), ("y", [1, 4], FP32, None), ("z", [1, 4], FP32, None)]
    ops = [("DEQUANTIZE", [1], [2]), ("FULLY_CONNECTED", [0, 2, -1], [3]), *extra_ops]
    return build_tflite(tensors, ops)


def test_fp16_weights_behind_dequantize_are_constant_weights(tmp_path):
    path = tmp_path / "mlp16.tflite"
    path.write_bytes(fp16_mlp())
    m = import_model(path)
    (fc,) = m.ops
    assert isinstance(fc, MatmulOp) and fc.b_is_weight and (fc.m, fc.n, fc.k) == (1, 4, 8)
    assert fc.dtype == "fp32"
    (w,) = m.weights
    assert (w.tensor, w.dtype, w.bytes, w.zero_fraction) == ("w16", "float16", 64, 1 / 32)
    assert dict(m.skipped) == {"DEQUANTIZE (of a constant)": 1}


def test_constructed_unsupported_ops_are_listed_in_one_error(tmp_path):
    path = tmp_path / "odd.tflite"
    path.write_bytes(fp16_mlp([("TOPK_V2", [3], [4]), ("CUSTOM:MyOp", [3], [4]),
                               ("CUSTOM:MyOp", [4], [4]), ("RELU", [3], [4])]))
    with pytest.raises(HwsimError) as err:
        import_model(path)
    text = str(err.value)
    assert "odd.tflite" in text and "3 unsupported op(s): CUSTOM:MyOp x2, TOPK_V2 x1" in text
