"""hwsim capture on convolutions: a small CNN built with the onnx helper API (asymmetric pads,
stride 2, a depthwise conv, a 1-D conv), its masks checked against windows cut by hand, and the
trace driving simulate on the same file."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import hwsim
from hwsim.capture import capture
from hwsim.sparsity.traces import load_trace

pytest.importorskip("onnxruntime")

C_IN, H, W = 3, 11, 9


def _cnn() -> onnx.ModelProto:
    rng = np.random.default_rng(0)

    def init(name: str, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array(rng.normal(0, 0.5, shape).astype(np.float32), name)

    nodes = [
        # 3x3 stride 2, pads top 1, left 0, bottom 0, right 2: out 5 x 5 (12x11 padded)
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 0, 0, 2],
                         strides=[2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="dw2", group=8, pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("Conv", ["r2", "w3"], ["c3"], name="pw3"),
        helper.make_node("Relu", ["c3"], ["r3"], name="relu3"),
        helper.make_node("Flatten", ["r3"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "w4"], ["y"], name="fc4"),
    ]
    graph = helper.make_graph(
        nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, C_IN, H, W])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        [init("w1", 8, C_IN, 3, 3), init("b1", 8), init("w2", 8, 1, 3, 3),
         init("w3", 4, 8, 1, 1), init("w4", 4 * 5 * 5, 10)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _windows_by_hand(x: np.ndarray, r: int, s: int, stride: int, pads: tuple[int, ...],
                     groups: int) -> np.ndarray:
    """(groups * OH * OW, C/groups * r * s) with explicit loops: the reference layout."""
    c = x.shape[0]
    top, left, bottom, right = pads
    xp = np.zeros((c, x.shape[1] + top + bottom, x.shape[2] + left + right))
    xp[:, top:top + x.shape[1], left:left + x.shape[2]] = x
    oh, ow = (xp.shape[1] - r) // stride + 1, (xp.shape[2] - s) // stride + 1
    rows = []
    for g in range(groups):
        chans = range(g * c // groups, (g + 1) * c // groups)
        for i in range(oh):
            for j in range(ow):
                rows.append([xp[ch, i * stride + a, j * stride + b]
                             for ch in chans for a in range(r) for b in range(s)])
    return np.asarray(rows)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("capture-conv")
    onnx.save(_cnn(), d / "cnn.onnx")
    x = np.random.default_rng(1).normal(size=(5, 1, C_IN, H, W)).astype(np.float32)
    np.savez(d / "inputs.npz", x=x)
    return d


def test_conv_masks_are_the_im2col_windows(files):
    import onnxruntime as ort

    cap = capture(files / "cnn.onnx", files / "inputs.npz")
    assert set(cap.masks) == {"conv1", "dw2", "pw3", "fc4"} and not cap.skipped
    proto = _cnn()
    proto.graph.output.extend([helper.make_tensor_value_info(t, TensorProto.FLOAT, None)
                               for t in ("r1", "r2")])
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    xs = np.load(files / "inputs.npz")["x"]
    want: dict[str, list[np.ndarray]] = {"conv1": [], "dw2": []}
    for x in xs:
        r1, _ = sess.run(["r1", "r2"], {"x": x})
        want["conv1"].append(_windows_by_hand(x[0], 3, 3, 2, (1, 0, 0, 2), 1) != 0)
        want["dw2"].append(_windows_by_hand(r1[0], 3, 3, 1, (1, 1, 1, 1), 8) != 0)
    for op in want:
        np.testing.assert_array_equal(cap.masks[op], np.concatenate(want[op]))
    assert cap.masks["conv1"].shape == (5 * 5 * 5, 27)
    assert cap.masks["dw2"].shape == (5 * 8 * 5 * 5, 9)  # 8 groups of one channel
    assert cap.masks["pw3"].shape == (5 * 5 * 5, 8)
    # ReLU zeros and the padding make the depthwise input sparse; the input image is dense
    # except for its padding.
    assert 0.2 < cap.masks["dw2"].mean() < 0.6
    assert cap.masks["conv1"].mean() == pytest.approx(
        np.concatenate(want["conv1"]).mean(), abs=0) and cap.masks["conv1"].mean() < 1.0


def test_conv_trace_drives_simulate(files, tmp_path, run_cli):
    out = tmp_path / "cnn-trace.npz"
    code, text, err = run_cli("capture", str(files / "cnn.onnx"), "--inputs",
                              str(files / "inputs.npz"), "-o", str(out))
    assert code == 0, err
    assert "dw2" in text and "conv1" in text
    assert load_trace(out)["dw2"].k_dim == 9
    model = str(files / "cnn.onnx")
    dense = hwsim.simulate(model, "eyeriss-v2-like")
    traced = hwsim.simulate(model, "eyeriss-v2-like", sparsity=[f"*:trace:path={out}"])
    assert traced.total.compute_cycles < dense.total.compute_cycles
    # The density-only engines take the trace too (here an MCU that skips zeros in software).
    mcu_dense = hwsim.simulate(model, "stm32u585-m33")
    mcu = hwsim.simulate(model, "stm32u585-m33", sparsity=[f"*:trace:path={out}"])
    assert mcu.total.latency_s < mcu_dense.total.latency_s


def test_one_d_conv_is_captured(tmp_path):
    rng = np.random.default_rng(2)
    w = numpy_helper.from_array(rng.normal(size=(4, 2, 3)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"], name="relu0"),
         helper.make_node("Conv", ["r", "w"], ["y"], name="conv1d", pads=[2, 0], strides=[2])],
        "c1d", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 5])], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
              tmp_path / "c1d.onnx")
    x = rng.normal(size=(2, 1, 2, 10)).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    cap = capture(tmp_path / "c1d.onnx", tmp_path / "in.npz")
    want = np.concatenate([_windows_by_hand(np.maximum(xi[0], 0)[..., None], 3, 1, 2,
                                            (2, 0, 0, 0), 1) != 0 for xi in x])
    np.testing.assert_array_equal(cap.masks["conv1d"], want)
