"""One assignment for every weights source: {layer name: arrays} checked against the model as a
whole, then set, so that a model is never half-loaded. A model whose input has other than 3
channels gets the file's RGB stem kernel adapted by timm's rule (`adapt_input_conv`)."""

import math
import warnings

import keras
import numpy as np

from keras_resnet._checks import is_int

HEAD = "predictions"  # the classifier layer, loaded only when its shape fits
# The convolution that sees the image: the ImageNet and CIFAR stems' conv1, the deep stem's
# (v1d) first 3x3.
FIRST_CONVS = ("conv1_conv", "conv1_1_conv")


def some(names: list[str], limit: int = 6) -> str:
    """The first `limit` names for an error message, e.g. "['a', 'b', ...]", or "none"."""
    if not names:
        return "none"
    return f"[{', '.join(map(repr, names[:limit]))}{', ...' if len(names) > limit else ''}]"


def adapt_input_conv(kernel: np.ndarray, channels: int) -> np.ndarray:
    """An RGB convolution kernel (Keras' HWIO layout) adapted to `channels` input channels by
    timm's `adapt_input_conv` (timm/models/_manipulate.py), in float32: one channel sums the
    kernel over RGB (a grey image's response is the RGB kernel's on that grey); more repeat it
    ceil(channels / 3) times along the input channels, keep the first `channels` and scale by
    3 / channels, so that the first layer's activations keep their scale.

    Example:
        >>> kernel = np.ones((7, 7, 3, 64), "float32")
        >>> adapt_input_conv(kernel, 1)[0, 0, :, 0], adapt_input_conv(kernel, 4)[0, 0, :, 0]
        (array([3.], dtype=float32), array([0.75, 0.75, 0.75, 0.75], dtype=float32))
    """
    kernel = np.asarray(kernel, np.float32)
    if not is_int(channels) or channels < 1:
        raise ValueError(f"`channels` must be an integer >= 1; received channels={channels!r}.")
    if kernel.ndim != 4 or kernel.shape[2] != 3:
        raise ValueError(
            "`kernel` must be an RGB convolution kernel (height, width, 3, filters); received "
            f"shape {kernel.shape}."
        )
    if channels == 3:
        return kernel
    if channels == 1:
        return kernel.sum(axis=2, keepdims=True)
    repeats = math.ceil(channels / 3)
    return np.tile(kernel, (1, 1, repeats, 1))[:, :, :channels] * np.float32(3 / channels)


def _adaptation_rule(channels: int) -> str:
    if channels == 1:
        return "summed over RGB"
    return f"RGB repeated to {channels} channels and scaled by 3/{channels}"


def _adapt_first_conv(layers, arrays) -> str | None:
    """Adapts, in `arrays`, an RGB kernel for a first convolution that takes another channel
    count; returns that layer's name, or None when nothing needed it."""
    for name in FIRST_CONVS:
        if name not in arrays or name not in layers or not arrays[name]:
            continue
        wanted = tuple(layers[name].weights[0].shape)
        kernel, *rest = arrays[name]
        got = tuple(np.shape(kernel))
        if (
            len(got) == len(wanted) == 4
            and got[2] == 3
            and wanted[2] != 3
            and (got[:2], got[3]) == (wanted[:2], wanted[3])
        ):
            arrays[name] = [adapt_input_conv(kernel, wanted[2]), *rest]
            return name
    return None


def assign(
    model: keras.Model,
    arrays: dict[str, list[np.ndarray]],
    source: str,
    labels: dict[str, list[str]] | None = None,
) -> None:
    """Checks {layer name: arrays} against the model, then sets them all, or raises.

    The classifier (`predictions`) is loaded only when its shape matches; otherwise, or when
    the model has no top, the backbone is loaded, the head starts fresh, and a warning says so.
    A model whose first convolution takes C != 3 channels, given an RGB kernel for it, gets
    that kernel through `adapt_input_conv` (timm's rule), with a warning that says so.

    Args:
        model: the model to load into.
        arrays: layer name -> that layer's weights, in Keras layouts.
        source: how error messages name the file.
        labels: layer name -> the file's names for its tensors, for error messages.

    Example:
        >>> assign(model, {"conv1_conv": [kernel]}, source="resnet18.safetensors")  # doctest: +SKIP
    """
    labels = labels or {}
    layers = {layer.name: layer for layer in model.layers if layer.weights}
    arrays = dict(arrays)
    head_note = None
    if HEAD in arrays and HEAD not in layers:
        head_note = "the model has no classifier (include_top=False)"
        del arrays[HEAD]
    elif HEAD in layers and HEAD not in arrays:
        head_note = "the file has no classifier"
    elif HEAD in arrays:
        kernel, theirs = layers[HEAD].weights[0], arrays[HEAD][0]
        if theirs.shape[0] == kernel.shape[0] and theirs.shape[1] != kernel.shape[1]:
            head_note = (
                f"the file's classifier has {theirs.shape[1]} classes and the model's "
                f"{kernel.shape[1]}"
            )
            del arrays[HEAD]
    expected = set(layers) - ({HEAD} if head_note and HEAD in layers else set())
    missing, unexpected = sorted(expected - set(arrays)), sorted(set(arrays) - set(layers))
    if missing or unexpected:
        raise ValueError(
            f"{source} does not fit model {model.name!r}: layers missing from the file "
            f"{some(missing)}, layers in the file that the model lacks {some(unexpected)}. "
            "Is it a file of another depth or variant?"
        )
    adapted = _adapt_first_conv(layers, arrays)
    for name, values in arrays.items():
        wanted = [tuple(w.shape) for w in layers[name].weights]
        got = [tuple(np.shape(v)) for v in values]
        if wanted != got:
            what = f"tensors {labels[name]}" if name in labels else "weights"
            raise ValueError(
                f"{source}: {what} for layer {name!r} have shapes {got}; the layer expects "
                f"{wanted}."
            )
    for name, values in arrays.items():
        layers[name].set_weights(values)
    if adapted:
        channels = layers[adapted].weights[0].shape[2]
        plural = "s" if channels > 1 else ""
        warnings.warn(
            f"Model {model.name!r} takes {channels} input channel{plural}; loading {source}, "
            f"{adapted}: the file's 3-channel kernel adapted to {channels} channel{plural} "
            f"({_adaptation_rule(channels)}, timm's adapt_input_conv); fine-tune before use.",
            stacklevel=3,
        )
    if head_note:
        warnings.warn(
            f"Loaded the backbone from {source}; the classifier {HEAD!r} starts fresh because "
            f"{head_note}. Train it before use (fine-tuning).",
            stacklevel=3,
        )
