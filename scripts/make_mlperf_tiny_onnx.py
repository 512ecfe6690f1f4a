"""Convert MLPerf Tiny .tflite models to ONNX whose op names are hwsim's TFLite importer's.

    python scripts/make_mlperf_tiny_onnx.py --tf-python /path/to/venv/bin/python

The conversion itself needs TensorFlow and tf2onnx, which hwsim never depends on (1.6 GB): make
a separate venv with ``pip install tensorflow-cpu==2.21.0 tf2onnx==1.17.0`` and pass its python.
This script (run with hwsim's python) then:

1. converts ``models/tflite/<file>.tflite`` with ``tf2onnx.convert --tflite --dequantize
   --opset 17`` (int8 weights become float initialisers; the int8 input is dequantised inside
   the graph, and the fused ReLUs come out as Relu nodes, so ReLU zeros are exact zeros);
2. fixes the symbolic batch dimension to 1 (hwsim applies the batch at simulation time);
3. names internal tensors canonically (tf2onnx's helper names vary between runs) and
   renames every Conv / MatMul node to the name hwsim's TFLite importer gives the same layer
   (``conv_0``, ``dwconv_1``, ...: matched by the TFLite output tensor each node writes,
   filters, kernel and groups checked), so a
   trace captured from the ONNX file drives the ``mlperf-tiny-*`` presets as they are.

The outputs go to tests/data/mlperf_tiny_onnx/ (test data, not package data) with a
SOURCES.csv (sha256, the .tflite they came from).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import tempfile
from pathlib import Path

import onnx

from hwsim.workload.importers import import_model
from hwsim.workload.importers.tflite import SHORT, _read_nodes

REPO = Path(__file__).resolve().parent.parent
TFLITE = REPO / "models" / "tflite"
HERE = REPO / "tests" / "data" / "mlperf_tiny_onnx"
# output file -> source .tflite (models/tflite/SOURCES.csv names its origin)
MODELS = {"mlperftiny_kws_dscnn.onnx": "mlperftiny_kws_dscnn_int8.tflite",
          "mlperftiny_ic_resnet8.onnx": "mlperftiny_ic_resnet8_int8.tflite"}
TOOLS = "tf2onnx 1.17.0 --dequantize --opset 17 (tensorflow-cpu 2.21.0)"


def convert(tf_python: str, tflite: Path, out: Path) -> None:
    subprocess.run([tf_python, "-m", "tf2onnx.convert", "--tflite", str(tflite), "--output",
                    str(out), "--opset", "17", "--dequantize"], check=True,
                   capture_output=True, text=True)


def fix_batch(proto: onnx.ModelProto) -> None:
    for value in [*proto.graph.input, *proto.graph.output]:
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].dim_value:
            dims[0].dim_value = 1


def rename_to_tflite(proto: onnx.ModelProto, tflite: Path) -> int:
    """Rename Conv/MatMul nodes to the TFLite importer's op names; returns how many.

    tf2onnx names a layer's output after the TFLite output tensor (+ "_prequant" when the
    layer is followed by a requantisation); the importer names a layer by its operator type and
    index. Filters, kernel and groups are checked on every match."""
    data = tflite.read_bytes()
    by_tensor = {n.outputs[0].name: f"{SHORT.get(n.type, n.type.lower())}_{n.index}"
                 for n in _read_nodes(data) if n.outputs}
    ops = {op.name: op for op in import_model(tflite).ops}
    weights = {t.name: tuple(t.dims) for t in proto.graph.initializer}
    renamed = 0
    for node in proto.graph.node:
        if node.op_type not in ("Conv", "MatMul"):
            continue
        tensor = node.output[0].removesuffix("_prequant")
        op = ops.get(by_tensor.get(tensor, ""))
        if op is None:
            raise SystemExit(f"{tflite.name}: no TFLite layer writes {tensor!r}")
        w = weights.get(node.input[1])
        if node.op_type == "Conv":
            group = next((a.i for a in node.attribute if a.name == "group"), 1)
            got = (w[0], w[2], w[3], group) if w else None
            expect = (op.k, op.r, op.s, op.groups)  # type: ignore[attr-defined]
        else:
            got, expect = (w[-1] if w else None), op.n  # type: ignore[attr-defined]
        if got != expect:
            raise SystemExit(f"{tflite.name}: node {node.name!r} has {got}, the TFLite op "
                             f"{op.name} has {expect}")
        node.name = op.name
        renamed += 1
    want = sum(op.kind in ("conv2d", "matmul") for op in ops.values())
    if renamed != want:
        raise SystemExit(f"{tflite.name}: renamed {renamed} nodes of {want} conv/matmul ops")
    return renamed


def canonical_names(proto: onnx.ModelProto) -> None:
    """Name every internal tensor by first use and every other node by type and position:
    tf2onnx numbers its helper tensors from a counter that differs between runs, so without
    this two conversions of one file differ byte for byte."""
    g = proto.graph
    keep = {v.name for v in [*g.input, *g.output]}
    names: dict[str, str] = {}

    def canon(name: str) -> str:
        if not name or name in keep:
            return name
        return names.setdefault(name, f"t{len(names)}")

    for i, node in enumerate(g.node):
        node.input[:] = [canon(x) for x in node.input]
        node.output[:] = [canon(x) for x in node.output]
        if node.op_type not in ("Conv", "MatMul"):
            node.name = f"{node.op_type}_{i}"
    for init in g.initializer:
        init.name = canon(init.name)
    for info in g.value_info:
        info.name = canon(info.name)
    inits = sorted(g.initializer, key=lambda t: int(t.name[1:]) if t.name[1:].isdigit() else -1)
    del g.initializer[:]
    g.initializer.extend(inits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tf-python", required=True,
                        help="python of a venv with tensorflow-cpu and tf2onnx")
    args = parser.parse_args()
    rows = ["file,source_tflite,tools,sha256,bytes,note"]
    for name, src in MODELS.items():
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / name
            convert(args.tf_python, TFLITE / src, raw)
            proto = onnx.load(raw)
        fix_batch(proto)
        renamed = rename_to_tflite(proto, TFLITE / src)
        canonical_names(proto)
        onnx.checker.check_model(proto)
        data = proto.SerializeToString()
        (HERE / name).write_bytes(data)
        rows.append(f"{name},{src},{TOOLS},{hashlib.sha256(data).hexdigest()},{len(data)},"
                    f"\"made by make_mlperf_tiny_onnx.py: batch 1, {renamed} Conv/MatMul nodes "
                    "named as hwsim's TFLite import\"")
        print(f"{name}: {len(data)} bytes, {renamed} nodes renamed")
    (HERE / "SOURCES.csv").write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
