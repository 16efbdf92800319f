"""The two layers ResNets here need beyond Keras' own."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_resnet")
class ZeroPadChannels(keras.layers.Layer):
    """Appends zero channels: the parameter-free shortcut of He et al. 2015, option A.

    Args:
        before: number of zero channels put before the input's channels.
        after: number of zero channels put after them.
        data_format: "channels_last" (default) or "channels_first".

    Example:
        >>> x = keras.ops.ones((1, 2, 2, 16))
        >>> tuple(ZeroPadChannels(8, 8)(x).shape)
        (1, 2, 2, 32)
    """

    def __init__(self, before: int, after: int, data_format: str = "channels_last", **kwargs):
        super().__init__(**kwargs)
        self.before = before
        self.after = after
        self.data_format = data_format
        self._axis = 1 if data_format == "channels_first" else 3

    def call(self, inputs):
        padding = [[0, 0]] * 4
        padding[self._axis] = [self.before, self.after]
        return ops.pad(inputs, padding)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        if shape[self._axis] is not None:
            shape[self._axis] += self.before + self.after
        return tuple(shape)

    def get_config(self):
        return {
            **super().get_config(),
            "before": self.before,
            "after": self.after,
            "data_format": self.data_format,
        }


@keras.saving.register_keras_serializable(package="keras_resnet")
class BatchNormalization(keras.layers.BatchNormalization):
    """Keras' BatchNormalization, computed by TensorFlow's fused kernel on that backend.

    Keras 3 normalises with separate ops: moments (mean, then squared differences) and a
    multiply-add, each a pass over the activations and each with its own gradient ops.
    TensorFlow's `FusedBatchNormV3` does the same in one kernel forward and one backward:

    - Training: ResNet-20 `fit` on CIFAR-sized batches ran 1.27x faster in float32 and 1.69x
      in mixed bfloat16 (benchmarks/train_speed.py), which put it ahead of the same network in
      PyTorch (benchmarks/train_vs_torch.py; both in the README).
    - Inference: grappler fuses a conv followed by `FusedBatchNormV3` (and its ReLU) into one
      `_FusedConv2D` on CPU, which makes our ResNet-50 forward pass about 8% faster
      (benchmarks/forward_speed.py: 0.94x keras.applications' ResNet50 before, 1.03x after).

    The arithmetic is Keras': float32 statistics whatever the input dtype, and moving averages
    of the biased batch variance (the kernel returns the unbiased one, which is rescaled). The
    weights and outputs are the same; cross-replica (`synchronized`) statistics, masks, renorm,
    other ranks, channels-first inputs and the other backends take Keras' own path. TensorFlow
    is imported only on its own backend.
    """

    def _fusable(self, inputs, mask):
        return (
            mask is None
            and keras.backend.backend() == "tensorflow"
            and not self.synchronized
            and not self.renorm
            and len(inputs.shape) == 4
            and self.axis in (-1, 3, [3])
            and inputs.dtype in ("float32", "bfloat16", "float16")
            and self.scale
            and self.center
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf  # the backend is TensorFlow: it is loaded already

        # The raw op takes epsilon as given; tf.nn.fused_batch_norm raises it to at least
        # 1.001e-5 (cuDNN's floor), which is not torchvision's 1e-5.
        training = bool(training and self.trainable)
        # The CPU kernel takes scale, offset and statistics in float32 only (its U type), whatever
        # the input's dtype (T): under the plain "bfloat16" and "float16" policies the variables
        # are cast for it, as Keras' own computation casts them, and the averages cast back.
        gamma, beta, moving_mean, moving_variance = (
            variable if variable.dtype == "float32" else tf.cast(variable, "float32")
            for variable in (self.gamma, self.beta, self.moving_mean, self.moving_variance)
        )
        empty = tf.zeros([0], "float32")
        outputs, mean, variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
            x=inputs,
            scale=gamma,
            offset=beta,
            mean=empty if training else moving_mean,
            variance=empty if training else moving_variance,
            epsilon=self.epsilon,
            is_training=training,
        )
        if training:
            count = tf.reduce_prod(tf.cast(tf.shape(inputs)[:-1], "float32"))  # values per channel
            # Bessel's correction undone: Keras averages the biased variance.
            variance *= (count - 1.0) / count
            for variable, average, batch in (
                (self.moving_mean, moving_mean, mean),
                (self.moving_variance, moving_variance, variance),
            ):
                updated = average * self.momentum + batch * (1.0 - self.momentum)
                variable.assign(
                    updated if variable.dtype == "float32" else tf.cast(updated, variable.dtype)
                )
        return outputs


def _pointwise_conv(inputs, kernel, strides):
    """A 1x1 convolution (channels-last, no dilation or groups) whose kernel gradient is one
    matrix product, on TensorFlow: x^T dy over the (strided) pixels.

    TensorFlow 2.21's oneDNN 3.7 computes a 1x1 conv's kernel gradient (`Conv2DBackpropFilter`,
    brgconv_bwd_w) about 3x slower than PyTorch's oneDNN on the same CPU; as a `MatMul` the same
    sum runs on oneDNN's matmul kernels (AMX in bfloat16). The output and the input's gradient
    are the convolution's own ops.
    """
    import tensorflow as tf  # the backend is TensorFlow: it is loaded already

    stride = [1, strides[0], strides[1], 1]

    @tf.custom_gradient
    def convolve(x, w):
        def gradient(dy):
            dx = tf.raw_ops.Conv2DBackpropInput(
                input_sizes=tf.shape(x), filter=w, out_backprop=dy, strides=stride, padding="VALID"
            )
            pixels = x[:, :: strides[0], :: strides[1], :] if strides != (1, 1) else x
            dw = tf.matmul(
                tf.reshape(pixels, [-1, w.shape[2]]),
                tf.reshape(dy, [-1, w.shape[3]]),
                transpose_a=True,
            )
            return dx, tf.reshape(dw, tf.shape(w))

        return tf.nn.conv2d(x, w, stride, "VALID"), gradient

    # A tensor, not a variable: custom_gradient would want the variable's gradient separately.
    return convolve(inputs, tf.convert_to_tensor(kernel))


@keras.saving.register_keras_serializable(package="keras_resnet")
class Conv2D(keras.layers.Conv2D):
    """Keras' Conv2D, with two changes on TensorFlow that leave its weights and outputs alone.

    - **Channels-first biases on the channel axis.** Keras 3.15's `ops.add(outputs, bias)`
      turns a (1, C, 1, 1) bias into `tf.nn.bias_add(..., "NHWC")` whenever the width equals the
      channel count, adding it along the width: a channels-first ResNet-50 v1 (biased convs) at
      32x32 was 10% off its channels-last twin (tests/core/test_backends.py). Here the bias is
      added with the backend's own broadcasting add.
    - **1x1 kernel gradients as one matrix product** while training channels-last
      (`_pointwise_conv`): the same sum, computed by a faster kernel. A bfloat16 ResNet-50
      training step spent a third of its op time in `Conv2DBackpropFilter`, two thirds of that
      in the 1x1 convs (benchmarks/train_profile.py).

    The other backends, inference and every other conv run Keras' own code.
    """

    def _pointwise(self, training):
        return (
            training
            and self.trainable
            and keras.backend.backend() == "tensorflow"
            and self.data_format == "channels_last"
            and tuple(self.kernel_size) == (1, 1)
            and tuple(self.dilation_rate) == (1, 1)
            and self.groups == 1
        )

    def call(self, inputs, training=None):
        if self._pointwise(training):
            kernel = ops.convert_to_tensor(self.kernel)  # autocast
            outputs = _pointwise_conv(inputs, kernel, tuple(self.strides))
        elif self.use_bias and self.data_format == "channels_first":
            outputs = self.convolution_op(inputs, self.kernel)
        else:
            return super().call(inputs)
        if self.use_bias:
            shape = (1, self.filters, 1, 1) if self.data_format == "channels_first" else (-1,)
            outputs = outputs + ops.reshape(self.bias, shape)  # the backend's own add
        return outputs if self.activation is None else self.activation(outputs)
