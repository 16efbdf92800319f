"""The float32 network that exports run and verification compares against: input "images",
output logits (or features), built from any Keras model of the family without touching it.

Both `keras_resnet.tools.export` (what it converts) and `keras_resnet.tools.runtimes` (the Keras
predictor) build it; neither imports the other for it.
"""

import keras
import numpy as np

from keras_resnet.models import recursion_limit
from keras_resnet.preprocessing import MODES, ImagePreprocessing, affine_form

INPUT_NAME = "images"  # the serving signature's input: stable, documented


class _SubtractMean(keras.layers.Layer):
    """x - mean, per channel: what is left of an `ImagePreprocessing` folded into a convolution
    (exports only; never saved)."""

    def __init__(self, mean, **kwargs):
        super().__init__(**kwargs)
        self.mean = np.asarray(mean, "float32")

    def call(self, inputs):
        # As a 1x1 depthwise convolution of ones with minus the mean as its bias: the int8
        # converter gives a plain subtraction of a constant its own input scale, requantising the
        # pixels through float32 (DEQUANTIZE, QUANTIZE); a convolution requantises inside. An
        # addition, not a subtraction, so that onnxruntime's pre-processing fuses it into the
        # convolution's bias too (a Sub stays a float op between two quantisers there).
        ones = np.ones((1, 1, self.mean.shape[-1], 1), "float32")
        return keras.ops.depthwise_conv(inputs, ones, strides=1, padding="valid") + (-self.mean)


def _consumers(model) -> dict:
    """{layer name: the layers of `model` that take that layer's output}, read from each layer's
    `input` and `output` KerasTensors (those of its first call: the family calls each layer
    once)."""
    producers = {
        id(tensor): layer.name
        for layer in model.layers
        for tensor in keras.tree.flatten(layer.output)
    }
    consumers = {layer.name: [] for layer in model.layers}
    for layer in model.layers:
        for tensor in keras.tree.flatten(layer.input):
            if id(tensor) in producers:
                consumers[producers[id(tensor)]].append(layer)
    return consumers


def _foldable_preprocessing(model):
    """(the `ImagePreprocessing` layer, the Conv2D it feeds through zero padding only), when the
    preprocessing's scale and channel order can move into that convolution's kernel; else None.
    Zero padding commutes with the scale, not with the mean, so the mean stays in front."""
    preprocessing = [
        layer
        for layer in model.layers
        if isinstance(layer, ImagePreprocessing) and layer.data_format == "channels_last"
    ]
    if not preprocessing:
        return None
    consumers = _consumers(model)
    for layer in preprocessing:
        consumer = layer
        while len(consumers[consumer.name]) == 1:
            (consumer,) = consumers[consumer.name]
            if isinstance(consumer, keras.layers.Conv2D) and consumer.groups == 1:
                return layer, consumer
            if type(consumer) is not keras.layers.ZeroPadding2D:
                break
    return None


def _scaled_kernel(kernel, mode):
    """The first convolution's kernel with the preprocessing's std and channel order inside:
    conv((z / std)[..., order], K) = conv(z, K'), where K'[:, :, order] = K / std[order]."""
    _, std, order = affine_form(mode)
    moved = np.empty_like(kernel)
    moved[:, :, list(order)] = kernel / std[list(order)][:, None]
    return moved


def _export_copy(model, fold_preprocessing=False):
    """`model` as the exports run it, sharing no state with the original: float32 layers (LiteRT
    and onnxruntime have no bfloat16), and the option-A shortcut's 1x1 stride-2 max pooling as
    the equal 1x1 depthwise convolution of ones (XNNPACK rejects 1x1 pooling, which would split
    the graph between XNNPACK and LiteRT's reference kernels).

    With `fold_preprocessing`, an `ImagePreprocessing` that feeds the first convolution becomes a
    mean subtraction, its division by the std (and caffe's channel flip) moved into the kernel:
    the same function, in one elementwise op instead of two. In int8 ResNet-50 the two ops and
    the requantisation between them cost 0.8 ms of 13.0 at batch 1 (LiteRT, 2 cores)."""
    folded = _foldable_preprocessing(model) if fold_preprocessing else None
    subsampling = {
        layer.name
        for layer in model.layers
        if isinstance(layer, keras.layers.MaxPooling2D) and tuple(layer.pool_size) == (1, 1)
    }
    if (
        not subsampling
        and not folded
        and all(layer.dtype_policy.name == "float32" for layer in model.layers)
    ):
        return model
    preprocessing, first_conv = folded or (None, None)

    def clone(layer):
        if layer.name in subsampling:
            return keras.layers.DepthwiseConv2D(
                1, strides=layer.strides, use_bias=False, dtype="float32", name=layer.name
            )
        if layer is preprocessing:
            return _SubtractMean(affine_form(layer.mode)[0], dtype="float32", name=layer.name)
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    with recursion_limit():
        copy = keras.models.clone_model(model, clone_function=clone)
    for layer in copy.layers:
        if layer.name in subsampling:
            layer.set_weights([np.ones(layer.kernel.shape, "float32")])
        elif first_conv is not None and layer.name == first_conv.name:
            kernel, *rest = first_conv.get_weights()
            layer.set_weights([_scaled_kernel(kernel, preprocessing.mode), *rest])
        else:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    return copy


def has_preprocessing(model) -> bool:
    """Whether `model` takes raw 0-255 pixels (it holds an `ImagePreprocessing` layer).

    Example:
        >>> has_preprocessing(ResNet20(include_preprocessing=True))
        True
    """
    return any(isinstance(layer, ImagePreprocessing) for layer in model.layers)


def _check_exportable(model):
    if any(getattr(layer, "data_format", None) == "channels_first" for layer in model.layers):
        raise ValueError(
            f"`model` {model.name!r} is channels-first; exports take channels-last models. Build "
            "it with data_format='channels_last' and copy the weights (`set_weights`): they are "
            "the same."
        )
    if len(model.inputs) != 1 or None in model.input_shape[1:]:
        raise ValueError(
            "`model` must have one image input of known size; received input shape "
            f"{model.input_shape}. Build it with input_shape=(height, width, 3)."
        )


def logits_model(
    model, preprocessing: str | None = None, *, fold_preprocessing: bool = False
) -> keras.Model:
    """The float32 model that exports run: input "images", output logits.

    A softmax head is replaced by a linear copy of itself: int8 quantisation of a softmax head
    collapses near-uniform probabilities onto a few levels, so the exports quantise logits and
    compute probabilities from them. A model without a Dense head keeps its output (features).

    Args:
        model: a Keras model with one image input of known size.
        preprocessing: put `ImagePreprocessing(preprocessing)` in front, so that the export
            takes raw 0-255 pixels ("torch", "caffe", "tf"); None: the model's own input.
        fold_preprocessing: move the model's own `ImagePreprocessing` scale into its first
            convolution (the int8 exports: one op fewer on the full-size image).

    Example:
        >>> logits_model(ResNet20(classes=10)).output_shape
        (None, 10)
    """
    _check_exportable(model)
    model = _export_copy(model, fold_preprocessing)
    inputs = keras.Input(model.input_shape[1:], name=INPUT_NAME, dtype="float32")
    x = inputs
    if preprocessing is not None:
        if preprocessing not in MODES:
            raise ValueError(
                f"`preprocessing` must be one of {list(MODES)} or None; received "
                f"preprocessing={preprocessing!r}."
            )
        x = ImagePreprocessing(preprocessing, dtype="float32", name="export_preprocessing")(x)
    head = model.layers[-1]
    if not isinstance(head, keras.layers.Dense):
        return keras.Model(inputs, model(x), name=f"{model.name}_export")
    body = keras.Model(model.inputs, head.input, name=f"{model.name}_body")
    linear = keras.layers.Dense(head.units, dtype="float32", name="logits")
    outputs = linear(body(x))
    linear.set_weights(head.get_weights())
    return keras.Model(inputs, outputs, name=f"{model.name}_logits")
