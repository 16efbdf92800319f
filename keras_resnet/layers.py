"""The two layers ResNets here need beyond Keras' own."""

import keras
import tensorflow as tf
from keras import ops


@keras.saving.register_keras_serializable(package="keras_resnet")
class ZeroPadChannels(keras.layers.Layer):
    """Appends zero channels: the parameter-free shortcut of He et al. 2015, option A.

    Args:
        before: number of zero channels put before the input's channels.
        after: number of zero channels put after them.

    Example:
        >>> x = keras.ops.ones((1, 2, 2, 16))
        >>> ZeroPadChannels(8, 8)(x).shape
        (1, 2, 2, 32)
    """

    def __init__(self, before: int, after: int, **kwargs):
        super().__init__(**kwargs)
        self.before = before
        self.after = after

    def call(self, inputs):
        return ops.pad(inputs, [[0, 0], [0, 0], [0, 0], [self.before, self.after]])

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1]
        if channels is not None:
            channels += self.before + self.after
        return (*input_shape[:-1], channels)

    def get_config(self):
        return {**super().get_config(), "before": self.before, "after": self.after}


@keras.saving.register_keras_serializable(package="keras_resnet")
class BatchNormalization(keras.layers.BatchNormalization):
    """Keras' BatchNormalization, with TensorFlow's fused kernel at inference.

    Keras 3 normalises with separate multiply and add ops; TensorFlow's grappler fuses a
    conv followed by `FusedBatchNormV3` (and its ReLU) into one `_FusedConv2D` on CPU. That
    makes our ResNet-50 forward pass about 8% faster (benchmarks/forward_speed.py: 0.94x
    keras.applications' ResNet50 before, 1.03x after), more than v1.5's 6% more
    multiply-adds than keras.applications' v1 cost. Training, other
    ranks, dtypes and backends take Keras' own path; the weights and outputs are the same.
    """

    def call(self, inputs, training=None, mask=None):
        fusable = (
            not (training and self.trainable)
            and mask is None
            and keras.backend.backend() == "tensorflow"
            and len(inputs.shape) == 4
            and self.axis in (-1, 3, [3])
            and inputs.dtype == "float32"
            and self.scale
            and self.center
        )
        if not fusable:
            return super().call(inputs, training=training, mask=mask)
        outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
            inputs, self.gamma, self.beta, self.moving_mean, self.moving_variance,
            epsilon=self.epsilon, is_training=False,
        )
        return outputs
