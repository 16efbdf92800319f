"""Input preprocessing that matches each source of weights, and ImageNet's class names."""

import functools
import json
from collections.abc import Mapping, Sequence
from importlib import resources

import keras
import numpy as np
from keras import ops

from keras_resnet._checks import is_number

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


_CUSTOM = "{'mean': [...], 'std': [...]} (one value per input channel, for pixels in [0, 255])"


def _custom_form(mode) -> dict[str, list[float]]:
    """A per-channel `{"mean": [...], "std": [...]}` as plain lists of floats, checked."""
    accepted = f"one of {list(MODES)} (RGB) or {_CUSTOM}"
    if not isinstance(mode, Mapping) or set(mode) != {"mean", "std"}:
        raise ValueError(f"`preprocessing` must be {accepted}; received preprocessing={mode!r}.")
    values = {}
    for key in ("mean", "std"):
        value = mode[key]
        if (
            isinstance(value, str | bytes)
            or not isinstance(value, Sequence | np.ndarray)
            or not len(value)
            or not all(is_number(v) or isinstance(v, np.number) for v in value)
            or not np.all(np.isfinite(np.asarray(value, "float64")))
        ):
            raise ValueError(
                f"`preprocessing` {key!r} must be a non-empty list of finite numbers, one per "
                f"input channel; received preprocessing={mode!r}."
            )
        values[key] = [float(v) for v in value]
    if len(values["mean"]) != len(values["std"]) or min(values["std"]) <= 0:
        raise ValueError(
            "`preprocessing` must hold as many means as stds, every std > 0; received "
            f"preprocessing={mode!r}."
        )
    return values


def _check_preprocessing(mode, channels: int | None):
    """`mode` as `ImagePreprocessing` keeps it (a name of MODES, or a checked per-channel dict),
    refused where it cannot preprocess images of `channels` channels (None: not known yet)."""
    if isinstance(mode, str):
        if mode not in MODES:
            raise ValueError(
                f"`preprocessing` must be one of {list(MODES)} or {_CUSTOM}; received "
                f"preprocessing={mode!r}."
            )
        if channels not in (None, 3):
            values = f"{channels} value{'s' if channels > 1 else ''}"
            raise ValueError(
                f"`preprocessing` must be a per-channel {{'mean': [...], 'std': [...]}} with "
                f"{values} each (pixels in [0, 255]) for {channels}-channel images: the modes "
                f"{list(MODES)} take RGB (3 channels); received preprocessing={mode!r}."
            )
        return mode
    custom = _custom_form(mode)
    if channels not in (None, len(custom["mean"])):
        plural = "s" if channels > 1 else ""
        raise ValueError(
            f"`preprocessing` must have {channels} mean{plural} and {channels} std{plural}, one "
            f"per channel of the {channels}-channel images; received preprocessing={mode!r} "
            f"({len(custom['mean'])} each)."
        )
    return custom


def affine_form(mode) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """`preprocess_input(x, mode=mode)` (channels last) as `((x - mean) / std)[..., order]`, with
    `mean` and `std` per input channel: the form a convolution that follows can absorb, all but
    the mean (exports move `std` and `order` into the first convolution's kernel).

    Args:
        mode: "torch", "caffe" or "tf" (RGB), or a per-channel `{"mean": [...], "std": [...]}`
            (any channel count; `order` keeps the channels in place).

    Example:
        >>> mean, std, order = affine_form("caffe")
        >>> x = np.random.default_rng(0).uniform(0, 255, (1, 2, 3))
        >>> np.allclose(((x - mean) / std)[..., order], preprocess_input(x, mode="caffe"))
        True
        >>> affine_form({"mean": [127.5], "std": [64.0]})
        (array([127.5]), array([64.]), (0,))
    """
    mode = _check_preprocessing(mode, None)
    if isinstance(mode, dict):
        mean, std = np.array(mode["mean"]), np.array(mode["std"])
        return mean, std, tuple(range(len(mean)))
    if mode == "torch":
        return _TORCH_MEAN.copy(), _TORCH_STD.copy(), (0, 1, 2)
    if mode == "caffe":  # BGR: output channel i is input channel 2 - i minus its mean
        return _CAFFE_MEAN_BGR[::-1].copy(), np.ones(3), (2, 1, 0)
    return np.full(3, 127.5), np.full(3, 127.5), (0, 1, 2)


@keras.saving.register_keras_serializable(package="keras_resnet")
class ImagePreprocessing(keras.layers.Layer):
    """`preprocess_input` as a layer, so that a model takes raw 0-255 pixels (and exports do).

    Args:
        mode: what the builders' `preprocessing=` takes: "torch", "caffe" or "tf" (RGB images),
            or `{"mean": [...], "std": [...]}`, one value per input channel, for pixels in
            [0, 255]: `(x - mean) / std`, the form images of other than 3 channels (grey,
            multispectral) need. Kept in the layer's config, so `.keras` files keep it.
        data_format: "channels_last" or "channels_first".

    Example:
        >>> layer = ImagePreprocessing("torch")
        >>> grey = ImagePreprocessing({"mean": [0.449 * 255], "std": [0.226 * 255]})
    """

    def __init__(self, mode="torch", data_format: str = "channels_last", **kwargs):
        super().__init__(**kwargs)
        self.mode = _check_preprocessing(mode, None)
        self.data_format = _check_data_format(data_format)

    def build(self, input_shape):
        axis = -3 if self.data_format == "channels_first" else -1
        _check_preprocessing(self.mode, input_shape[axis] if len(input_shape) >= 3 else None)

    def call(self, inputs):
        if isinstance(self.mode, str):
            x = preprocess_input(inputs, mode=self.mode, data_format=self.data_format)
        else:
            mean, std, _ = affine_form(self.mode)
            shape = (-1, 1, 1) if self.data_format == "channels_first" else (-1,)
            x = (ops.cast(inputs, "float32") - mean.reshape(shape).astype("float32")) / (
                std.reshape(shape).astype("float32")
            )
        return ops.cast(x, self.compute_dtype)

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
