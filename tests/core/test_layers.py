"""The package's layers: our BatchNormalization, whose training path takes TensorFlow's fused
kernel on the TensorFlow backend, computes what Keras' own layer computes."""

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
