"""ONNX import: graphs built here with onnx.helper; MACs follow from shapes by hand."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper

from hwsim.errors import HwsimError
from hwsim.workload.importers import import_model, model_to_yaml
from hwsim.workload.importers.onnx import read_onnx
from hwsim.workload.load import model_from_doc
from hwsim.workload.ops import (
    AttentionOp,
    Conv2dOp,
    EmbeddingOp,
    MatmulOp,
    RecurrentOp,
    VectorOp,
)

F = TensorProto.FLOAT
RNG = np.random.default_rng(0)


def weight(name: str, *shape: int, zeros: float = 0.0) -> TensorProto:
    w = RNG.standard_normal(shape).astype(np.float32)
    w[RNG.random(shape) < zeros] = 0.0
    return numpy_helper.from_array(w, name)


def const(name: str, values: list[int] | list[float], dtype: type = np.int64) -> TensorProto:
    return numpy_helper.from_array(np.array(values, dtype=dtype), name)


def save(tmp_path: Path, nodes: list, inputs: list, outputs: list, inits: list,
         name: str = "net", opset: int = 20) -> Path:
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def conv_net(tmp_path: Path) -> Path:
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="stem", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2"], ["c2"], name="dw", group=16, strides=[2, 2],
                         auto_pad="SAME_UPPER"),
        helper.make_node("BatchNormalization", ["c2", "g", "bb", "m", "v"], ["n2"], name="bn"),
        helper.make_node("GlobalAveragePool", ["n2"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "wf", "bf"], ["y"], name="fc", transB=1),
    ]
    inits = [weight("w1", 16, 3, 3, 3), weight("b1", 16), weight("w2", 16, 1, 3, 3, zeros=0.5),
             weight("g", 16), weight("bb", 16), weight("m", 16), weight("v", 16),
             weight("wf", 10, 16), weight("bf", 10)]
    return save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, [1, 3, 32, 32])],
                [helper.make_tensor_value_info("y", F, [1, 10])], inits, "convnet")


def test_conv_net_shapes_and_macs(tmp_path):
    m = import_model(conv_net(tmp_path))
    stem, dw, fc = (op for op in m.ops if op.macs)
    assert isinstance(stem, Conv2dOp) and (stem.out_h, stem.out_w, stem.padding) == (32, 32, 1)
    assert stem.macs == 32 * 32 * 16 * 3 * 3 * 3
    # 16x16 input, 3x3/2 SAME_UPPER: 8x8 out, total pad 1 (after) -> symmetric 1 gives 8x8.
    assert isinstance(dw, Conv2dOp) and dw.groups == 16 and (dw.out_h, dw.out_w) == (8, 8)
    assert dw.macs == 8 * 8 * 16 * 9
    assert isinstance(fc, MatmulOp) and (fc.m, fc.n, fc.k, fc.b_is_weight) == (1, 10, 16, True)
    kinds = {op.name: op.function for op in m.ops if isinstance(op, VectorOp)}
    assert kinds == {"relu": "activation", "pool": "pool", "bn": "norm", "gap": "pool"}
    assert dict(m.skipped) == {"Flatten": 1}
    dw_weight = next(w for w in m.weights if w.op == "dw" and w.role == "weight")
    assert dw_weight.bytes == 16 * 9 * 4 and 0.2 < dw_weight.zero_fraction < 0.8
    assert all(op.dtype == "fp32" for op in m.ops)


def test_mlp_with_gemm(tmp_path):
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1"),
             helper.make_node("Relu", ["h"], ["a"], name="act"),
             helper.make_node("Gemm", ["a", "w2", "b2"], ["y"], name="fc2", transB=1)]
    inits = [weight("w1", 64, 128), weight("b1", 128), weight("w2", 10, 128), weight("b2", 10)]
    path = save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, [4, 64])],
                [helper.make_tensor_value_info("y", F, [4, 10])], inits, "mlp")
    m = import_model(path)
    fc1, _, fc2 = m.ops
    assert (fc1.m, fc1.n, fc1.k) == (4, 128, 64) and (fc2.m, fc2.n, fc2.k) == (4, 10, 128)
    assert m.macs == 4 * 64 * 128 + 4 * 128 * 10
    assert m.weight_bytes == (64 * 128 + 128 * 10) * 4


def transformer_block(tmp_path: Path, seq: int = 16, d: int = 32, heads: int = 4,
                      mask: bool = False, causal: str = "") -> Path:
    """One post-LN encoder block; ``mask`` adds an additive attention mask graph input;
    ``causal`` makes that mask a constant ("additive": 0 on and below the diagonal, -1e9
    above) or computes it with Trilu ("trilu": Where(tril(ones), scores, -1e9))."""
    mask = mask or bool(causal)
    hd = d // heads
    n = helper.make_node
    scores = "s2" if mask else "s1"
    nodes = [
        n("MatMul", ["x", "wq"], ["q0"], name="q_proj"),
        n("MatMul", ["x", "wk"], ["k0"], name="k_proj"),
        n("MatMul", ["x", "wv"], ["v0"], name="v_proj"),
        n("Reshape", ["q0", "heads_shape"], ["q1"], name="q_split"),
        n("Transpose", ["q1"], ["q"], name="q_t", perm=[0, 2, 1, 3]),
        n("Reshape", ["k0", "heads_shape"], ["k1"], name="k_split"),
        n("Transpose", ["k1"], ["kt"], name="k_t", perm=[0, 2, 3, 1]),
        n("Reshape", ["v0", "heads_shape"], ["v1"], name="v_split"),
        n("Transpose", ["v1"], ["v"], name="v_t", perm=[0, 2, 1, 3]),
        n("MatMul", ["q", "kt"], ["s0"], name="qk"),
        n("Div", ["s0", "scale"], ["s1"], name="scale"),
        *([n("Trilu", ["ones"], ["keep"], name="tril", upper=0),
           n("Where", ["keep", "s1", "neg"], ["s2"], name="mask_where")]
          if causal == "trilu" else
          [n("Add", ["s1", "mask"], ["s2"], name="mask_add")] if mask else []),
        n("Softmax", [scores], ["p"], name="softmax", axis=-1),
        n("MatMul", ["p", "v"], ["o0"], name="av"),
        n("Transpose", ["o0"], ["o1"], name="o_t", perm=[0, 2, 1, 3]),
        n("Reshape", ["o1", "model_shape"], ["o2"], name="o_merge"),
        n("MatMul", ["o2", "wo"], ["o3"], name="o_proj"),
        n("Add", ["o3", "x"], ["r1"], name="residual1"),
        n("LayerNormalization", ["r1", "ln_g", "ln_b"], ["h1"], name="ln1", axis=-1),
        n("MatMul", ["h1", "w_up"], ["u0"], name="ffn_up"),
        n("Add", ["u0", "b_up"], ["u1"], name="ffn_up_bias"),
        n("Gelu", ["u1"], ["u2"], name="gelu"),
        n("MatMul", ["u2", "w_down"], ["y0"], name="ffn_down"),
        n("Add", ["y0", "h1"], ["y"], name="residual2"),
    ]
    inits = [weight("wq", d, d), weight("wk", d, d), weight("wv", d, d), weight("wo", d, d),
             weight("w_up", d, 4 * d), weight("b_up", 4 * d), weight("w_down", 4 * d, d),
             weight("ln_g", d), weight("ln_b", d),
             const("heads_shape", [1, seq, heads, hd]), const("model_shape", [1, seq, d]),
             const("scale", [float(np.sqrt(hd))], np.float32)]
    inputs = [helper.make_tensor_value_info("x", F, [1, seq, d])]
    if causal == "additive":
        upper = np.triu(np.full((seq, seq), -1e9, dtype=np.float32), k=1)
        inits.append(numpy_helper.from_array(upper.reshape(1, 1, seq, seq), "mask"))
    elif causal == "trilu":
        inits += [numpy_helper.from_array(np.ones((seq, seq), dtype=bool), "ones"),
                  const("neg", [-1e9], np.float32)]
    elif mask:
        inputs.append(helper.make_tensor_value_info("mask", F, [1, 1, 1, seq]))
    return save(tmp_path, nodes, inputs, [helper.make_tensor_value_info("y", F, [1, seq, d])],
                inits, "block")


def test_transformer_block_fuses_attention(tmp_path):
    seq, d, heads = 16, 32, 4
    m = import_model(transformer_block(tmp_path, seq, d, heads))
    (attn,) = [op for op in m.ops if isinstance(op, AttentionOp)]
    assert (attn.heads, attn.seq_q, attn.seq_kv, attn.head_dim) == (heads, seq, seq, d // heads)
    names = [op.name for op in m.ops]
    assert "qk" not in names and "av" not in names and "softmax" not in names
    weights = [op for op in m.ops if isinstance(op, MatmulOp)]
    assert all(op.b_is_weight and (op.m, op.batch) == (seq, 1) for op in weights)
    assert m.macs == 4 * seq * d * d + 2 * seq * d * 4 * d + 2 * seq * seq * d
    ln = next(op for op in m.ops if op.name == "ln1")
    assert isinstance(ln, VectorOp) and ln.function == "norm"
    assert dict(m.skipped) == {"Reshape": 4, "Transpose": 4}


def test_attention_mask_is_absorbed_into_the_fused_op(tmp_path):
    plain = import_model(transformer_block(tmp_path))
    masked = import_model(transformer_block(tmp_path, mask=True))
    assert [op.name for op in masked.ops] == [op.name for op in plain.ops]
    assert masked.macs == plain.macs


@pytest.mark.parametrize("causal", ["additive", "trilu"])
def test_a_causal_mask_imports_as_causal_attention(tmp_path, causal):
    seq = 16
    (attn,) = [op for op in import_model(transformer_block(tmp_path, seq, causal=causal)).ops
               if op.kind == "attention"]
    assert attn.causal
    # 4 heads x 8 head_dim, query i sees i + 1 keys: 2 x 4 x 8 x (16 x 17 / 2) MACs.
    assert attn.macs == 2 * 4 * 8 * (16 * 17 // 2)


def test_a_runtime_mask_imports_as_full_attention(tmp_path):
    (attn,) = [op for op in import_model(transformer_block(tmp_path, mask=True)).ops
               if op.kind == "attention"]
    assert not attn.causal  # a padding mask fed at run time: nothing says it is causal


def test_shape_arithmetic_folds_and_activation_gathers_are_layout(tmp_path):
    n = helper.make_node
    nodes = [
        n("Shape", ["x"], ["shape"], name="shape"),
        n("Gather", ["shape", "zero"], ["batch"], name="pick_batch", axis=0),
        n("Unsqueeze", ["batch", "zero_axis"], ["batch1"], name="unsq"),
        n("Concat", ["batch1", "minus_one"], ["flat_shape"], name="cat", axis=0),
        n("Reshape", ["x", "flat_shape"], ["flat"], name="flatten"),
        n("Gather", ["flat", "first"], ["picked"], name="pick_cols", axis=1),
        n("MatMul", ["picked", "w"], ["y"], name="head"),
    ]
    inits = [numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"),
             const("zero_axis", [0]), const("minus_one", [-1]),
             const("first", [0, 1, 2, 3]), weight("w", 4, 2)]
    path = save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, [1, 2, 3, 3])],
                [helper.make_tensor_value_info("y", F, None)], inits, "shapes")
    m = import_model(path)
    (head,) = m.ops
    assert isinstance(head, MatmulOp) and (head.m, head.n, head.k) == (1, 2, 4)
    assert dict(m.skipped) == {"(constant folded)": 4, "Reshape": 1, "Gather": 1}


def test_transformer_block_unfused_keeps_matmuls_and_softmax(tmp_path):
    path = transformer_block(tmp_path)
    fused = import_model(path)
    graph = read_onnx(path.read_bytes(), str(path), fuse_attention=False)
    by_name = {op.name: op for op in graph.ops}
    qk, av = by_name["qk"], by_name["av"]
    assert isinstance(qk, MatmulOp) and not qk.b_is_weight
    assert (qk.m, qk.n, qk.k, qk.batch) == (16, 16, 8, 4)
    assert isinstance(av, MatmulOp) and (av.m, av.n, av.k, av.batch) == (16, 8, 16, 4)
    assert by_name["softmax"].function == "softmax"
    assert sum(op.macs for op in graph.ops) == fused.macs


def test_unsupported_ops_are_listed_together(tmp_path):
    nodes = [
        helper.make_node("Relu", ["boxes"], ["b2"], name="relu"),
        helper.make_node("NonMaxSuppression", ["b2", "scores"], ["sel"], name="nms"),
        helper.make_node("TopK", ["scores", "k"], ["tv", "ti"], name="topk_a", axis=-1),
        helper.make_node("TopK", ["scores", "k"], ["tv2", "ti2"], name="topk_b", axis=-1),
    ]
    inputs = [helper.make_tensor_value_info("boxes", F, [1, 20, 4]),
              helper.make_tensor_value_info("scores", F, [1, 1, 20])]
    outputs = [helper.make_tensor_value_info("sel", TensorProto.INT64, None)]
    path = save(tmp_path, nodes, inputs, outputs, [const("k", [3])], "detector")
    with pytest.raises(HwsimError) as err:
        import_model(path)
    text = str(err.value)
    assert "NonMaxSuppression x1" in text and "TopK x2" in text
    assert "nms" in text and "topk_a, topk_b" in text and "detector.onnx" in text


def test_dilation_and_dynamic_shapes_are_clear_errors(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="atrous", dilations=[2, 2])]
    path = save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, [1, 3, 16, 16])],
                [helper.make_tensor_value_info("y", F, None)], [weight("w", 4, 3, 3, 3)], "dil")
    with pytest.raises(HwsimError, match="dilations"):
        import_model(path)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")]
    path = save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, ["batch", 8])],
                [helper.make_tensor_value_info("y", F, None)], [weight("w", 8, 4)], "dyn")
    with pytest.raises(HwsimError, match=r"no static shape for tensor 'x': \(\?, 8\)"):
        import_model(path)


def test_embedding_batched_weights_and_lstm(tmp_path):
    nodes = [
        helper.make_node("Gather", ["table", "ids"], ["e"], name="embed"),
        helper.make_node("MatMul", ["e", "w"], ["h"], name="proj"),  # (1,6,16) @ (16,8)
        helper.make_node("Transpose", ["h"], ["ht"], name="to_tbc", perm=[1, 0, 2]),
        helper.make_node("LSTM", ["ht", "W", "R"], ["ys"], name="lstm", hidden_size=5,
                         direction="bidirectional"),
    ]
    inits = [weight("table", 100, 16), weight("w", 16, 8), weight("W", 2, 20, 8),
             weight("R", 2, 20, 5)]
    path = save(tmp_path, nodes, [helper.make_tensor_value_info("ids", TensorProto.INT64,
                                                                [1, 6])],
                [helper.make_tensor_value_info("ys", F, None)], inits, "seq")
    m = import_model(path)
    embed, proj, fwd, bwd = m.ops
    assert isinstance(embed, EmbeddingOp)
    assert (embed.tokens, embed.dim, embed.vocab) == (6, 16, 100)
    assert isinstance(proj, MatmulOp) and (proj.m, proj.n, proj.k, proj.batch) == (6, 8, 16, 1)
    assert isinstance(fwd, RecurrentOp) and (fwd.steps, fwd.inputs, fwd.hidden) == (6, 8, 5)
    assert (fwd.name, bwd.name) == ("lstm.forward", "lstm.backward")


def test_yaml_round_trip(tmp_path):
    m = import_model(transformer_block(tmp_path))
    text = model_to_yaml(m)
    assert "sha256:" + m.file_sha256 in text
    again = model_from_doc(yaml.safe_load(text), "round-trip")
    assert again.ops == m.ops and again.name == m.name and again.source == m.source


def test_corrupt_and_missing_files_name_the_file(tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x08\x07\x12\x04not a model\xff\xff\xff")
    with pytest.raises(HwsimError, match=r"broken\.onnx"):
        import_model(bad)
    good = conv_net(tmp_path).read_bytes()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(HwsimError, match=r"cut\.onnx"):
        import_model(cut)
    with pytest.raises(HwsimError, match="file not found"):
        import_model(tmp_path / "absent.onnx")


def test_quantized_convs_cost_as_int8(tmp_path):
    def i8(name: str, values) -> TensorProto:
        return numpy_helper.from_array(np.asarray(values, dtype=np.int8), name)

    def f32(name: str, value: float) -> TensorProto:
        return numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)

    w = np.zeros((8, 3, 3, 3), np.int8)
    w[::2] = 3  # half the filters zero
    n = helper.make_node
    nodes = [
        n("QLinearConv", ["x", "s", "zp", "w", "s", "zp", "s", "zp"], ["y"], name="qconv",
          pads=[1, 1, 1, 1]),
        n("ConvInteger", ["y", "w2", "zp", "zp"], ["y2"], name="iconv"),
        n("Cast", ["y2"], ["y3"], name="to_float", to=F),
        n("DequantizeLinear", ["w3q", "s", "zp"], ["w3"], name="dq_weight"),
        n("Conv", ["y3", "w3"], ["z"], name="qdq_conv"),
    ]
    inits = [f32("s", 0.1), i8("zp", 0), numpy_helper.from_array(w, "w"),
             i8("w2", np.ones((4, 8, 1, 1))), i8("w3q", np.ones((2, 4, 1, 1)))]
    path = save(tmp_path, nodes, [helper.make_tensor_value_info("x", TensorProto.INT8,
                                                                [1, 3, 8, 8])],
                [helper.make_tensor_value_info("z", F, None)], inits, "quant")
    m = import_model(path)
    qconv, iconv, cast, qdq = m.ops
    assert (qconv.dtype, qconv.macs) == ("int8", 8 * 8 * 8 * 27)
    assert (iconv.dtype, iconv.macs) == ("int8", 8 * 8 * 4 * 8)
    assert isinstance(cast, VectorOp) and qdq.dtype == "fp32"  # a float input: costed as float
    stats = {w.op: w for w in m.weights}
    assert stats["qconv"].zero_fraction == 0.5 and stats["qconv"].bytes == 216
    assert stats["qdq_conv"].tensor == "w3q" and stats["qdq_conv"].dtype == "int8"
    assert dict(m.skipped) == {"(constant folded)": 1}


def lrn_net(tmp_path: Path, size: int) -> Path:
    nodes = [helper.make_node("LRN", ["x"], ["y"], name="norm", size=size, alpha=1e-4,
                              beta=0.75, bias=1.0)]
    return save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, [1, 8, 6, 6])],
                [helper.make_tensor_value_info("y", F, [1, 8, 6, 6])], [], f"lrn{size}")


@pytest.mark.parametrize(("size", "ops"), [(1, 13.0), (3, 15.0), (5, 17.0)])
def test_lrn_is_a_norm_costed_per_element(tmp_path, size, ops):
    # square 1 + window sum (size - 1) + scale and bias 2 + pow as exp(b*log) 9 + divide 1
    (norm,) = import_model(lrn_net(tmp_path, size)).ops
    assert isinstance(norm, VectorOp) and norm.function == "norm"
    assert (norm.elements, norm.ops_per_element, norm.inputs_per_element) == (8 * 36, ops, 1.0)


def test_lrn_without_a_window_is_a_clear_error(tmp_path):
    with pytest.raises(HwsimError, match=r"LRN norm.*size 0"):
        import_model(lrn_net(tmp_path, 0))


ONNX_DIR = Path(__file__).resolve().parents[1] / "models" / "onnx"


def test_zigzags_alexnet_imports_with_exact_macs():
    """ZigZag's model-zoo AlexNet (224x224 input, grouped CONV2/4/5, LRN after CONV1/2)."""
    path = ONNX_DIR / "alexnet.onnx"
    with (ONNX_DIR / "SOURCES.csv").open(newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["file"] == "alexnet.onnx")
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == row["sha256"] and len(data) == int(row["bytes"])
    m = import_model(path)
    convs = [op for op in m.ops if isinstance(op, Conv2dOp)]
    fcs = [op for op in m.ops if isinstance(op, MatmulOp)]
    assert [c.groups for c in convs] == [1, 2, 1, 2, 2]
    assert [(c.out_h, c.k) for c in convs] == [(54, 96), (26, 256), (12, 384), (12, 384),
                                              (12, 256)]
    conv_macs = (54 * 54 * 96 * 3 * 121 + 26 * 26 * 256 * 48 * 25 + 12 * 12 * 384 * 256 * 9
                 + 12 * 12 * 384 * 192 * 9 + 12 * 12 * 256 * 192 * 9)
    fc_macs = 9216 * 4096 + 4096 * 4096 + 4096 * 1000
    assert sum(c.macs for c in convs) == conv_macs and sum(f.macs for f in fcs) == fc_macs
    assert m.macs == conv_macs + fc_macs == 654_560_384
    norms = [op for op in m.ops if isinstance(op, VectorOp) and op.function == "norm"]
    assert [(n.elements, n.ops_per_element) for n in norms] == [(96 * 54 * 54, 17.0),
                                                                (256 * 26 * 26, 17.0)]
    assert sum(op.function == "pool" for op in m.ops if isinstance(op, VectorOp)) == 3
    assert dict(m.skipped) == {"Dropout": 2, "Reshape": 1}
