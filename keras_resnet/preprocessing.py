"""Input preprocessing that matches each source of weights, and ImageNet's class names."""

import functools
import json
from importlib import resources

import keras
import numpy as np
from keras import ops

# Each mode takes RGB pixels in [0, 255]; the weights were trained on its output.
MODES = {
    # torchvision and timm: [0, 1], then ImageNet's per-channel mean and std.
    "torch": "x / 255, minus mean (0.485, 0.456, 0.406), divided by std (0.229, 0.224, 0.225)",
    # keras.applications' ResNet50/101/152 (the Caffe model): BGR, minus the mean pixel.
    "caffe": "RGB to BGR, minus mean (103.939, 116.779, 123.68)",
    # keras.applications' ResNetV2: [-1, 1].
    "tf": "x / 127.5 - 1",
}
_TORCH_MEAN = np.array([0.485, 0.456, 0.406]) * 255
_TORCH_STD = np.array([0.229, 0.224, 0.225]) * 255
_CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68])


def _check_mode(mode):
    if mode not in MODES:
        raise ValueError(f"`mode` must be one of {list(MODES)}; received mode={mode!r}.")


def _check_data_format(data_format):
    data_format = data_format or keras.config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            "`data_format` must be 'channels_last', 'channels_first' or None; "
            f"received data_format={data_format!r}."
        )
    return data_format


def preprocess_input(x, mode: str = "torch", data_format: str | None = None):
    """Turns RGB pixels in [0, 255] into what the weights were trained on.

    Args:
        x: images, shape (..., height, width, 3) or, channels first, (..., 3, height, width);
            RGB in [0, 255]; any int or float dtype.
        mode: "torch" (torchvision and timm weights), "caffe" (keras.applications
            ResNet50/101/152) or "tf" (keras.applications ResNetV2).
        data_format: "channels_last", "channels_first", or None for
            `keras.config.image_data_format()`, as keras.applications' `preprocess_input`.

    Returns:
        A float32 tensor of the same shape.

    Example:
        >>> preprocess_input(np.full((1, 1, 3), 255.0), mode="tf")  # -> all ones
    """
    _check_mode(mode)
    data_format = _check_data_format(data_format)
    x = ops.cast(x, "float32")
    axis = -3 if data_format == "channels_first" else -1
    if len(x.shape) < 3 or x.shape[axis] != 3:
        raise ValueError(
            f"`x` must have 3 (RGB) channels {data_format.replace('_', ' ')}; "
            f"received shape {tuple(x.shape)}."
        )
    shape = (3, 1, 1) if data_format == "channels_first" else (3,)
    if mode == "torch":
        return (x - _TORCH_MEAN.reshape(shape).astype("float32")) / _TORCH_STD.reshape(
            shape
        ).astype("float32")
    if mode == "caffe":
        return ops.flip(x, axis=axis) - _CAFFE_MEAN_BGR.reshape(shape).astype("float32")
    return x / 127.5 - 1.0


def affine_form(mode: str) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
    """`preprocess_input(x, mode)` (channels last) as `((x - mean) / std)[..., order]`, with
    `mean` and `std` per RGB channel: the form a convolution that follows can absorb, all but
    the mean (exports move `std` and `order` into the first convolution's kernel).

    Example:
        >>> mean, std, order = affine_form("caffe")
        >>> x = np.random.default_rng(0).uniform(0, 255, (1, 2, 3))
        >>> np.allclose(((x - mean) / std)[..., order], preprocess_input(x, "caffe"))
        True
    """
    _check_mode(mode)
    if mode == "torch":
        return _TORCH_MEAN.copy(), _TORCH_STD.copy(), (0, 1, 2)
    if mode == "caffe":  # BGR: output channel i is input channel 2 - i minus its mean
        return _CAFFE_MEAN_BGR[::-1].copy(), np.ones(3), (2, 1, 0)
    return np.full(3, 127.5), np.full(3, 127.5), (0, 1, 2)


@keras.saving.register_keras_serializable(package="keras_resnet")
class ImagePreprocessing(keras.layers.Layer):
    """`preprocess_input` as a layer, so that a model takes raw 0-255 pixels (and exports do).

    Example:
        >>> layer = ImagePreprocessing("torch")
    """

    def __init__(self, mode: str = "torch", data_format: str = "channels_last", **kwargs):
        super().__init__(**kwargs)
        _check_mode(mode)
        self.mode = mode
        self.data_format = _check_data_format(data_format)

    def call(self, inputs):
        return ops.cast(preprocess_input(inputs, self.mode, self.data_format), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "data_format": self.data_format}


@functools.cache
def imagenet_classes() -> list[tuple[str, str]]:
    """ImageNet-1k's (WordNet id, name) pairs in class-index order, shipped with the package.

    The ids are tensorflow-datasets' imagenet2012 labels; the names torchvision's.
    """
    text = resources.files("keras_resnet").joinpath("imagenet_classes.json").read_text()
    return [tuple(pair) for pair in json.loads(text)]


def decode_predictions(preds, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """The `top` classes of each row of ImageNet predictions, like keras.applications'.

    Args:
        preds: scores of shape (batch, 1000), probabilities or logits.
        top: how many classes per image.

    Returns:
        For each image, a list of (WordNet id, class name, score), best first.

    Example:
        >>> decode_predictions(np.eye(1000)[[1]], top=1)
        [[('n01443537', 'goldfish', 1.0)]]
    """
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError(
            "`preds` must have shape (batch, 1000) (ImageNet classes); "
            f"received shape {preds.shape}."
        )
    classes = imagenet_classes()
    best = np.argsort(-preds, axis=1, kind="stable")[:, :top]
    return [
        [(*classes[i], float(row[i])) for i in indices]
        for row, indices in zip(preds, best, strict=True)
    ]
