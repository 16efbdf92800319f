"""The package's layers compute what Keras' own layers compute: our BatchNormalization, whose
training path takes TensorFlow's fused kernel, and our Conv2D, whose 1x1 kernel gradient is a
matrix product while training."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import images

from keras_resnet import ResNet

TINY = dict(stage_sizes=(1, 1, 1, 1), filters=8, input_shape=(32, 32, 3), classes=5)


def tiny(block="basic", **kwargs):
    return ResNet(block, **{**TINY, **kwargs})


@pytest.mark.parametrize("policy, tolerance", [("float32", 2e-5), ("mixed_bfloat16", 2e-2)])
def test_fused_batch_norm_trains_like_keras_batch_norm(monkeypatch, policy, tolerance):
    """TensorFlow's fused kernel (our BatchNormalization in training) computes what Keras' own
    layer computes: one SGD step from the same weights on the same batch gives the same loss,
    weights and moving statistics (the moving variance is the biased one, as in Keras)."""
    from keras_resnet.layers import BatchNormalization

    calls = []

    def one_step(fused):
        if fused:
            kernel = tf.raw_ops.FusedBatchNormV3
            monkeypatch.setattr(
                tf.raw_ops,
                "FusedBatchNormV3",
                lambda **kwargs: (
                    calls.append((kwargs["scale"].path, kwargs["is_training"])) or kernel(**kwargs)
                ),
            )
        else:
            monkeypatch.setattr(BatchNormalization, "_fusable", lambda self, inputs, mask: False)
        keras.mixed_precision.set_global_policy(policy)
        try:
            keras.utils.set_random_seed(0)
            model = tiny(classifier_activation=None)
        finally:
            keras.mixed_precision.set_global_policy("float32")
        model.compile(
            keras.optimizers.SGD(0.1, momentum=0.9),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        loss = model.train_on_batch(images(4, seed=1), np.array([0, 1, 2, 3]))
        monkeypatch.undo()
        return loss, model.get_weights()

    fused_loss, fused_weights = one_step(True)
    keras_loss, keras_weights = one_step(False)
    assert fused_loss == pytest.approx(keras_loss, rel=tolerance)
    assert (
        len({path for path, training in calls if training}) == 12
    )  # each BatchNorm took the fused kernel
    assert len(fused_weights) == len(keras_weights) == 62
    for fused, reference in zip(fused_weights, keras_weights, strict=True):
        np.testing.assert_allclose(fused, reference, rtol=tolerance, atol=tolerance)
    assert not np.allclose(
        fused_weights[4], np.ones(8)
    )  # the stem's moving variance moved: the step updated it


def _record_pointwise_strides(monkeypatch):
    """The strides of each `_pointwise_conv` call from now on, in a list."""
    import keras_resnet.layers

    taken, pointwise = [], keras_resnet.layers._pointwise_conv
    monkeypatch.setattr(
        keras_resnet.layers,
        "_pointwise_conv",
        lambda *args: taken.append(args[2]) or pointwise(*args),
    )
    return taken


@pytest.mark.parametrize(
    "strides, size, use_bias, dtype",
    [
        (1, 6, False, "float32"),
        (2, 6, False, "float32"),
        (2, 7, True, "float32"),  # odd size: the strided pixels are ceil(7 / 2) = 4 per side
        ((1, 2), 5, True, "float32"),
        (2, 6, False, "bfloat16"),
    ],
)
def test_pointwise_conv_trains_like_keras_conv(monkeypatch, strides, size, use_bias, dtype):
    """A 1x1 conv of ours in training (its kernel gradient one matmul) gives Keras' Conv2D's
    outputs and gradients for the inputs, kernel and bias; in inference it is Keras' own call."""
    import keras_resnet.layers

    taken = _record_pointwise_strides(monkeypatch)
    options = dict(strides=strides, use_bias=use_bias, bias_initializer="random_normal")
    keras.utils.set_random_seed(0)
    ours = keras_resnet.layers.Conv2D(5, 1, dtype=dtype, **options)
    theirs = keras.layers.Conv2D(5, 1, dtype=dtype, **options)
    x = tf.constant(np.random.default_rng(2).standard_normal((3, size, size, 4)), dtype)
    ours.build(x.shape), theirs.build(x.shape)
    theirs.set_weights(ours.get_weights())
    upstream = None
    results = []
    for layer in (ours, theirs):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            if upstream is None:  # a gradient with no symmetry for a wrong transpose to hide in
                upstream = tf.constant(np.random.default_rng(3).standard_normal(y.shape), dtype)
            loss = tf.reduce_sum(y * upstream)
        results.append([y, *tape.gradient(loss, [x, *layer.trainable_variables])])
    assert taken == [tuple(ours.strides)]  # the matmul gradient ran, once
    assert len(results[0]) == 3 + use_bias
    tolerance = 1e-5 if dtype == "float32" else 2e-2
    for mine, reference in zip(*results, strict=True):
        assert mine.shape == reference.shape
        np.testing.assert_allclose(
            np.float32(mine), np.float32(reference), rtol=tolerance, atol=tolerance
        )
    np.testing.assert_array_equal(ours(x), theirs(x))  # inference: Keras' own call
    assert len(taken) == 1


def test_pointwise_conv_is_used_by_the_models_in_training_only(monkeypatch):
    """Every 1x1 conv of a bottleneck net takes the matmul gradient under `fit`, none under
    `predict`; 3x3 and 7x7 convs never do."""

    taken = _record_pointwise_strides(monkeypatch)
    model = tiny("bottleneck", classifier_activation=None)
    model.predict(images(2), verbose=0)
    assert taken == []
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.train_on_batch(images(2), np.array([0, 1]))
    # 4 blocks of two 1x1 convs, and 4 projection shortcuts (3 of them strided)
    assert sorted(taken) == [(1, 1)] * 9 + [(2, 2)] * 3
