"""hwsim capture: masks from hwsim's own digits MLP exported to ONNX, run by ONNX Runtime, match
what the measured-accuracy code computes on the same images and drive simulate; bad inputs are
one clear exit-2 error each."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

import hwsim
from hwsim.accuracy.measured import measured_curve
from hwsim.accuracy.nets.data import digits_split
from hwsim.accuracy.nets.export import mlp_onnx
from hwsim.capture import MaskRule, capture, parse_rule
from hwsim.errors import HwsimError
from hwsim.sparsity.traces import load_trace, load_trace_meta, save_trace

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("capture")
    onnx.save(mlp_onnx(), d / "digits-mlp.onnx")
    np.savez(d / "test.npz", pixels=digits_split().x_test[:, None, :])
    return d


def test_captured_relu_density_equals_the_measured_one(files):
    cap = capture(files / "digits-mlp.onnx", files / "test.npz")
    dense = measured_curve("digits-mlp", "oracle", [1.0], n_boot=10)[0]
    n = digits_split().y_test.size
    assert cap.n_inputs == n
    # fc2 reads relu1's output (hidden layer 1), fc3 reads relu2's (hidden layer 2)
    assert cap.masks["fc2"].shape == (n, 256)
    assert cap.masks["fc2"].mean() == pytest.approx(dense["h1_nonzero"], abs=1e-12)
    assert cap.masks["fc3"].mean() == pytest.approx(dense["h2_nonzero"], abs=1e-12)
    per_input = {c.op: c.densities for c in cap.ops}
    assert len(per_input["fc2"]) == n and min(per_input["fc2"]) < max(per_input["fc2"])


def test_cli_writes_a_trace_simulate_uses(files, tmp_path, run_cli):
    out = tmp_path / "trace.npz"
    code, text, _ = run_cli("capture", str(files / "digits-mlp.onnx"), "--inputs",
                            str(files / "test.npz"), "-o", str(out))
    assert code == 0, text
    assert "fc2" in text and "0.69" in text
    masks = load_trace(out)
    assert set(masks) == {"fc1", "fc2", "fc3"} and masks["fc2"].k_dim == 256
    stats = json.loads(load_trace_meta(out)["density_stats"])
    assert stats["fc2"]["inputs"] == 450 and 0.6 < stats["fc2"]["density_mean"] < 0.8
    model = str(files / "digits-mlp.onnx")
    dense = hwsim.simulate(model, "eyeriss-v2-like")
    traced = hwsim.simulate(model, "eyeriss-v2-like",
                            sparsity=[f"fc*:trace:path={out}"])
    assert traced.total.compute_cycles < dense.total.compute_cycles


def test_mask_rules(files):
    topk = capture(files / "digits-mlp.onnx", files / "test.npz", parse_rule("topk:16"),
                   max_inputs=20)
    assert topk.n_inputs == 20
    assert (topk.masks["fc2"].sum(axis=1) == 16).all()
    thr = capture(files / "digits-mlp.onnx", files / "test.npz", MaskRule("threshold", 0.5),
                  max_inputs=20)
    zero = capture(files / "digits-mlp.onnx", files / "test.npz", max_inputs=20)
    assert thr.masks["fc2"].mean() < zero.masks["fc2"].mean()
    assert not (thr.masks["fc2"] & ~zero.masks["fc2"]).any()


def _error(r, *words: str) -> None:
    code, out, err = r
    assert code == 2, (out, err)
    assert "Traceback" not in err and err.count("error:") == 1
    for w in words:
        assert w in err, err


def test_bad_inputs_are_one_clear_error_each(files, tmp_path, run_cli):
    _cli = run_cli
    model = str(files / "digits-mlp.onnx")
    np.savez(tmp_path / "shape.npz", pixels=np.zeros((3, 1, 63), np.float32))
    _error(_cli("capture", model, "--inputs", str(tmp_path / "shape.npz"), "-o",
                str(tmp_path / "t.npz")), "shape", "(1, 64)")
    np.savez(tmp_path / "name.npz", image=np.zeros((3, 1, 64), np.float32))
    _error(_cli("capture", model, "--inputs", str(tmp_path / "name.npz"), "-o",
                str(tmp_path / "t.npz")), "pixels", "image")
    _error(_cli("capture", model, "--inputs", str(files / "test.npz"), "-o",
                str(tmp_path / "t.npz"), "--mask", "top:3"), "mask rule")
    # a model ONNX parses and hwsim imports, but ONNX Runtime cannot run (unknown opset)
    future = mlp_onnx()
    future.opset_import[0].version = 99
    onnx.save(future, tmp_path / "future.onnx")
    _error(_cli("capture", str(tmp_path / "future.onnx"), "--inputs", str(files / "test.npz"),
                "-o", str(tmp_path / "t.npz")), "ONNX Runtime cannot run")
    # traces whose op names or K do not match the model simulated
    save_trace(tmp_path / "k.npz", {"fc2": np.ones((4, 100), bool)})
    _error(_cli("simulate", "--chip", "eyeriss-v2-like", "--model", model, "--sparsity",
                f"fc2:trace:path={tmp_path / 'k.npz'}"), "K=100", "256")
    _error(_cli("simulate", "--chip", "eyeriss-v2-like", "--model", model, "--sparsity",
                f"fc1:trace:path={tmp_path / 'k.npz'}"), "no mask for op 'fc1'")


def test_missing_onnxruntime_names_the_extra(files, monkeypatch, run_cli):
    _cli = run_cli
    import builtins

    real = builtins.__import__

    def no_ort(name, *args, **kwargs):
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ort)
    with pytest.raises(HwsimError, match="onnxruntime"):
        capture(files / "digits-mlp.onnx", files / "test.npz")
    r = _cli("capture", str(files / "digits-mlp.onnx"), "--inputs", str(files / "test.npz"),
             "-o", "never.npz")
    _error(r, "hwsim[capture]")
