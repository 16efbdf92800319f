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
# keras.applications' steps for each mode, (divisor, mean, std) applied in this order, so
# that `preprocess_input` gives its numbers to the last bit.
_STEPS = {
    "torch": (255.0, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "caffe": (None, tuple(_CAFFE_MEAN_BGR), None),
    "tf": (127.5, 1.0, None),
}


def _check_mode(mode):
    if mode not in MODES:
        raise ValueError(f"`mode` must be one of {list(MODES)}; received mode={mode!r}.")


def _check_data_format(data_format):
    data_format = data_format or keras.config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        hint = (
            f" ({data_format!r} is a mode: pass mode={data_format!r}; the second positional "
            "argument is `data_format`, as in keras.applications)"
            if data_format in MODES
            else ""
        )
        raise ValueError(
            "`data_format` must be 'channels_last', 'channels_first' or None; "
            f"received data_format={data_format!r}{hint}."
        )
    return data_format


def _channels(x, mode, data_format) -> tuple[int, list[int]]:
    """keras.applications' channel axis, and the shape a per-channel constant broadcasts in.

    The axis is the last, or channels first the first of one image (3 dimensions) and the
    second of a batch. "tf" is the same for every channel and takes any shape; the other
    modes need 3 channels there.
    """
    ndim = len(x.shape)
    axis = -1 if data_format == "channels_last" else (0 if ndim == 3 else 1)
    if mode == "tf":
        return axis, []
    if ndim < 3 or x.shape[axis] not in (3, None):
        raise ValueError(
            f"`x` must have 3 (RGB) channels {data_format.replace('_', ' ')} for mode={mode!r}; "
            f"received shape {tuple(x.shape)}."
        )
    shape = [1] * ndim
    shape[axis] = 3
    return axis, shape


def _preprocess_numpy(x: np.ndarray, mode: str, data_format: str) -> np.ndarray:
    # keras.applications' rules: a float array is written over and keeps its dtype; others
    # become a new floatx array.
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(keras.config.floatx())
    elif not x.flags.writeable:
        x = x.copy()
    axis, shape = _channels(x, mode, data_format)
    divisor, mean, std = _STEPS[mode]
    if mode == "caffe":
        x = np.flip(x, axis)  # RGB to BGR: a view, so the writes below still reach `x`
    if divisor is not None:
        x /= divisor
    x -= np.reshape(mean, shape).astype(x.dtype)
    if std is not None:
        x /= np.reshape(std, shape).astype(x.dtype)
    return x


def _preprocess_tensor(x, mode: str, data_format: str):
    if not keras.backend.is_keras_tensor(x):
        x = ops.convert_to_tensor(x)
    if not keras.backend.is_float_dtype(x.dtype):
        x = ops.cast(x, keras.config.floatx())
    axis, shape = _channels(x, mode, data_format)
    divisor, mean, std = _STEPS[mode]
    if mode == "caffe":
        x = ops.flip(x, axis=axis)  # RGB to BGR
    if divisor is not None:
        x = ops.divide(x, ops.convert_to_tensor(divisor, x.dtype))
    x = ops.subtract(x, ops.convert_to_tensor(np.reshape(mean, shape), x.dtype))
    if std is not None:
        x = ops.divide(x, ops.convert_to_tensor(np.reshape(std, shape), x.dtype))
    return x


def _affine(x, mode: str, data_format: str):
    """`ImagePreprocessing`'s float32 steps: `affine_form`'s one subtraction and one division
    per channel, which exports fold into the first convolution. Rounding in another order than
    keras.applications' (x / 255 first), they differ from `preprocess_input` by up to 4.8e-7
    in mode "torch"."""
    x = ops.cast(x, "float32")
    if mode == "tf":
        return x / 127.5 - 1.0
    axis, shape = _channels(x, mode, data_format)
    mean, std, order = affine_form(mode)
    x = (x - mean.reshape(shape).astype("float32")) / std.reshape(shape).astype("float32")
    return x if order == (0, 1, 2) else ops.flip(x, axis=axis)


def preprocess_input(x, data_format: str | None = None, mode: str = "torch"):
    """Turns RGB pixels in [0, 255] into what the weights were trained on: keras.applications'
    `preprocess_input`, with its signature, numbers and types, and a mode per source of weights.

    `mode` defaults to "torch", what the default weights (torchvision's) take; a builder's
    `include_preprocessing=True` applies its weights' own mode instead.

    As keras.applications': a NumPy array gives a NumPy array; one of a float dtype is written
    over and keeps its dtype (pass `x.copy()` to keep `x`), others give a new array of
    `keras.config.floatx()`. A backend tensor, or a symbolic `keras.KerasTensor` such as a
    `keras.Input`, gives one of the same kind, float dtypes kept, others cast to floatx. Unlike
    keras.applications', a read-only array is copied rather than refused, and modes "torch"
    and "caffe" refuse other than 3 channels (keras' change the first 3 and leave the rest).

    Args:
        x: images of shape (..., height, width, channels), or channels first
            (channels, height, width) or (batch, channels, height, width); RGB in [0, 255];
            any int or float dtype.
        data_format: "channels_last", "channels_first", or None for
            `keras.config.image_data_format()`.
        mode: "torch" (torchvision and timm weights: x / 255, minus ImageNet's mean, divided
            by its std), "caffe" (keras.applications ResNet50/101/152: BGR, minus the mean
            pixel) or "tf" (keras.applications ResNetV2: x / 127.5 - 1).

    Returns:
        The preprocessed images, of the same shape.

    Example:
        >>> preprocess_input(np.full((1, 1, 3), 255.0), mode="tf")
        array([[[1., 1., 1.]]])
        >>> preprocess_input(np.zeros((1, 1, 3), "uint8"), "channels_last", mode="caffe")[0, 0]
        array([-103.939, -116.779, -123.68 ], dtype=float32)
    """
    _check_mode(mode)
    data_format = _check_data_format(data_format)
    if isinstance(x, np.ndarray):
        return _preprocess_numpy(x, mode, data_format)
    return _preprocess_tensor(x, mode, data_format)


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
        >>> np.allclose(((x - mean) / std)[..., order], preprocess_input(x.copy(), mode="caffe"))
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

    It computes in float32 in `affine_form`'s order, within 4.8e-7 of `preprocess_input`.

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
            x = _affine(inputs, self.mode, self.data_format)
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
