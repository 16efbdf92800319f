"""Runtimes (keras_resnet.tools.runtimes): each export of the session's model, opened in its own
runtime, computes the Keras model's probabilities at another batch size than it was verified at,
and knows its class names."""

import os

import numpy as np
import pytest
import tensorflow as tf
from helpers import NAMES, pixels

from keras_resnet.tools import runtimes


@pytest.mark.parametrize(
    "runtime", ["saved_model", "saved_model_tf1", "tflite_float32", "tflite_float16", "onnx"]
)
def test_each_runtime_matches_keras_at_another_batch_size(exported, runtime):
    model, _, path = exported
    images = pixels(3, seed=7)
    probabilities = model.predict(images, verbose=0)
    file = {
        "tflite_float32": "model_float32.tflite",
        "tflite_float16": "model_float16.tflite",
        "onnx": "model.onnx",
    }
    predictor = runtimes.open_model(
        os.path.join(path, file.get(runtime, "")), runtime if "saved" in runtime else None
    )
    logits = predictor(images)
    tolerance = {"tflite_float16": 2e-2}.get(runtime, 1e-4 if runtime in file else 1e-5)
    np.testing.assert_allclose(tf.nn.softmax(logits).numpy(), probabilities, atol=tolerance)
    assert predictor.class_names == NAMES
