"""The private APIs the tools use (keras_resnet.tools._compat), checked against the libraries
themselves: these tests fail the day Keras or LiteRT changes them, before a run does."""

import random

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert import interpreter as litert
from keras.src.backend.common import global_state
from keras.src.random.seed_generator import global_seed_generator

from keras_resnet.tools._compat import (
    keras_seed_state,
    litert_op_names,
    restore_keras_seed_state,
)


@pytest.fixture
def process_seeds():
    """Puts Keras' global seed state (read here without `_compat`) and Python's, NumPy's and
    TensorFlow's seeds back after the test, which sets them."""
    keys = ("global_random_seed", "global_seed_generator")
    saved = {key: global_state.get_global_attribute(key) for key in keys}
    python, numpy = random.getstate(), np.random.get_state()
    tf_seed = tf.compat.v1.get_default_graph().seed
    yield
    for key, value in saved.items():
        global_state.set_global_attribute(key, value)
    random.setstate(python)
    np.random.set_state(numpy)
    tf.random.set_seed(tf_seed)


def test_keras_seed_state_reads_the_seed_and_generator_keras_uses(process_seeds):
    keras.utils.set_random_seed(3)
    # Keras drops its generator when seeded, and makes one at the next unseeded random op.
    assert keras_seed_state() == {"global_random_seed": 3, "global_seed_generator": None}
    keras.random.uniform((1,))
    state = keras_seed_state()
    assert list(state) == ["global_random_seed", "global_seed_generator"]
    assert state["global_random_seed"] == 3
    assert isinstance(state["global_seed_generator"], keras.random.SeedGenerator)
    assert state["global_seed_generator"] is global_seed_generator()


def test_restore_keras_seed_state_puts_the_previous_state_back_exactly(process_seeds):
    keras.utils.set_random_seed(5)
    keras.random.uniform((1,))
    before = keras_seed_state()
    generator = before["global_seed_generator"]
    keras.utils.set_random_seed(3)
    keras.random.uniform((1,))
    assert keras_seed_state()["global_seed_generator"] is not generator
    restore_keras_seed_state(before)
    after = keras_seed_state()
    assert after == before and after["global_seed_generator"] is generator
    assert global_state.get_global_attribute("global_random_seed") == 5
    # Unseeded random ops draw from the generator put back: its state moves.
    drawn = generator.state.numpy().copy()
    keras.random.uniform((1,))
    assert global_seed_generator() is generator
    assert not np.array_equal(generator.state.numpy(), drawn)


def tiny_tflite():
    """A one-convolution Keras model, converted by TensorFlow's converter."""
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 3, name="conv")(inputs))
    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def test_litert_op_names_lists_the_ops_run_and_xnnpacks_delegate():
    content = tiny_tflite()
    interpreter = litert.Interpreter(model_content=content, num_threads=1)  # XNNPACK by default
    interpreter.allocate_tensors()
    assert litert_op_names(interpreter) == ["CONV_2D", "DELEGATE"]
    # Without the default delegate, nothing is delegated: the "DELEGATE" was XNNPACK's.
    plain = litert.Interpreter(
        model_content=content,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    plain.allocate_tensors()
    assert litert_op_names(plain) == ["CONV_2D"]
