"""The optimizers: decoupled-from-1-D weight decay that survives a checkpoint, and SGD's decay
as PyTorch applies it."""

import keras
import numpy as np
import pytest

import keras_resnet


@pytest.mark.parametrize("name", ["SGD", "AdamW"])
def test_weight_decay_skips_1d_variables_and_survives_a_checkpoint(tmp_path, name):
    inputs = keras.Input((3,))
    model = keras.Model(
        inputs,
        keras.layers.BatchNormalization(name="bn")(keras.layers.Dense(2, name="dense")(inputs)),
    )
    model.compile(getattr(keras_resnet.optimizers, name)(0.1, weight_decay=0.5), "mse")
    model.save(tmp_path / "m.keras")
    model.optimizer.exclude_from_weight_decay(
        var_names=["kernel"]
    )  # a user's exclusion still counts
    assert not model.optimizer._use_weight_decay(model.get_layer("dense").kernel)
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is getattr(keras_resnet.optimizers, name)
    decays = {v.path: loaded.optimizer._use_weight_decay(v) for v in loaded.trainable_variables}
    assert decays == {
        "dense/kernel": True,
        "dense/bias": False,
        "bn/gamma": False,
        "bn/beta": False,
    }


def test_sgd_weight_decay_is_l2_on_the_gradient_before_momentum():
    kernel, bias = (
        keras.Variable(np.full((2, 2), 2.0, "float32")),
        keras.Variable(np.full((2,), 2.0, "float32")),
    )
    optimizer = keras_resnet.optimizers.SGD(0.1, momentum=0.9, weight_decay=0.01)
    gradient = np.full((2, 2), 1.0, "float32")
    for _ in range(2):
        optimizer.apply_gradients([(gradient, kernel), (gradient[0], bias)])
    # PyTorch's SGD: g = 1 + 0.01 w; b = 0.9 b + g; w -= 0.1 b.
    # Step 1: g = 1.02, w = 2 - 0.102 = 1.898.
    # Step 2: g = 1.01898, b = 0.918 + 1.01898, w = 1.898 - 0.193698.
    np.testing.assert_allclose(kernel.numpy(), 1.704302, rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        bias.numpy(), 2 - 0.1 - 0.19, rtol=0, atol=1e-6
    )  # no decay on 1-D variables
