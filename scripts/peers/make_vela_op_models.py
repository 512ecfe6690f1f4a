"""Build the synthetic single-op int8 .tflite models of the Vela op sweep with TensorFlow.

TensorFlow is never an hwsim dependency: run this with a separate venv's Python, e.g.

    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu
    /tmp/tfvenv/bin/python scripts/peers/make_vela_op_models.py OUT_DIR

It writes ``OUT_DIR/<op key>.tflite`` for every op of
``hwsim/data/reference/mcu/vela_op_sweep.py`` (loaded by path, so hwsim need not be installed
here): a Keras model of that one layer, full-integer quantised (int8 inputs and outputs, so no
QUANTIZE ops), weights and representative data drawn with the sweep's seed. Then
``.venv/bin/python -m hwsim.data.reference.mcu.make_vela_ops OUT_DIR`` runs Vela on them.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "vela_op_sweep", ROOT / "hwsim/data/reference/mcu/vela_op_sweep.py")
assert _spec is not None and _spec.loader is not None
sweep = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sweep)


def keras_model(op: tuple[str, int, int, int, int, int, int]) -> tf.keras.Model:
    kind, h, w, c, k, kernel, stride = op
    if kind == "fc":
        x = tf.keras.Input((c,), batch_size=1)
        return tf.keras.Model(x, tf.keras.layers.Dense(k)(x))
    x = tf.keras.Input((h, w, c), batch_size=1)
    if kind == "conv":
        y = tf.keras.layers.Conv2D(k, kernel, stride, padding="same")(x)
    elif kind == "depthwise":
        y = tf.keras.layers.DepthwiseConv2D(kernel, stride, padding="same")(x)
    elif kind == "avgpool":
        y = tf.keras.layers.AveragePooling2D(kernel, stride, padding="valid")(x)
    elif kind == "maxpool":
        y = tf.keras.layers.MaxPooling2D(kernel, stride, padding="valid")(x)
    elif kind == "add":
        x2 = tf.keras.Input((h, w, c), batch_size=1)
        return tf.keras.Model([x, x2], tf.keras.layers.Add()([x, x2]))
    elif kind == "mul":
        x2 = tf.keras.Input((h, w, c), batch_size=1)
        return tf.keras.Model([x, x2], tf.keras.layers.Multiply()([x, x2]))
    elif kind == "softmax":
        y = tf.keras.layers.Softmax()(x)
    else:
        raise ValueError(kind)
    return tf.keras.Model(x, y)


def convert(model: tf.keras.Model, rng: np.random.Generator) -> bytes:
    shapes = [tuple(i.shape) for i in model.inputs]

    def representative():  # type: ignore[no-untyped-def]
        for _ in range(8):
            yield [rng.uniform(-1.0, 1.0, s).astype(np.float32) for s in shapes]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return bytes(conv.convert())


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for op in sweep.OPS:
        tf.keras.utils.set_random_seed(sweep.SEED)
        rng = np.random.default_rng(sweep.SEED)
        (out / f"{sweep.op_key(op)}.tflite").write_bytes(convert(keras_model(op), rng))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
