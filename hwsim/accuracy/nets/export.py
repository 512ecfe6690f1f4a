"""hwsim's own digits MLP as an ONNX graph, built from the stored numpy weights with the
``onnx`` helper API: the model ``hwsim capture`` is tested on, and an example of a user model.

Nodes are named after the digits-mlp preset's ops (fc1, relu1, fc2, relu2, fc3), so the
importer gives the same op names and a captured trace applies to either.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from hwsim.accuracy.nets.mlp import WIDTHS
from hwsim.accuracy.nets.weights import load_weights

OPSET = 17


def mlp_onnx(variant: str = "base") -> onnx.ModelProto:
    """The digits MLP (``variant`` weights of digits-mlp.npz): input ``pixels`` (1, 64) in
    [0, 1], output ``logits`` (1, 10); batch 1, float32."""
    weights, digest = load_weights("digits-mlp")
    inits, nodes = [], []
    x = "pixels"
    for i in (1, 2, 3):
        w = np.asarray(weights[f"{variant}/w{i}"], dtype=np.float32)
        b = np.asarray(weights[f"{variant}/b{i}"], dtype=np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        out = "logits" if i == 3 else f"z{i}"
        nodes.append(helper.make_node("Gemm", [x, f"w{i}", f"b{i}"], [out], name=f"fc{i}"))
        if i < 3:
            nodes.append(helper.make_node("Relu", [out], [f"h{i}"], name=f"relu{i}"))
            x = f"h{i}"
    graph = helper.make_graph(
        nodes, "digits-mlp",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, WIDTHS[0]])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, WIDTHS[-1]])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="hwsim", doc_string=(
                                  f"digits-mlp {variant} weights, digits-mlp.npz sha256 "
                                  f"{digest[:16]}"))
    model.ir_version = 8  # readable by onnxruntime >= 1.17
    onnx.checker.check_model(model)
    return model
