"""One assignment for every weights source: {layer name: arrays} checked against the model as a
whole, then set, so that a model is never half-loaded."""

import warnings

import keras
import numpy as np

HEAD = "predictions"  # the classifier layer, loaded only when its shape fits


def some(names: list[str], limit: int = 6) -> str:
    """The first `limit` names for an error message, e.g. "['a', 'b', ...]", or "none"."""
    if not names:
        return "none"
    return f"[{', '.join(map(repr, names[:limit]))}{', ...' if len(names) > limit else ''}]"


def assign(
    model: keras.Model,
    arrays: dict[str, list[np.ndarray]],
    source: str,
    labels: dict[str, list[str]] | None = None,
) -> None:
    """Checks {layer name: arrays} against the model, then sets them all, or raises.

    The classifier (`predictions`) is loaded only when its shape matches; otherwise, or when
    the model has no top, the backbone is loaded, the head starts fresh, and a warning says so.

    Args:
        model: the model to load into.
        arrays: layer name -> that layer's weights, in Keras layouts.
        source: how error messages name the file.
        labels: layer name -> the file's names for its tensors, for error messages.

    Example:
        >>> assign(model, {"conv1_conv": [kernel], ...}, source="resnet18.safetensors")
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
    if head_note:
        warnings.warn(
            f"Loaded the backbone from {source}; the classifier {HEAD!r} starts fresh because "
            f"{head_note}. Train it before use (fine-tuning).",
            stacklevel=3,
        )
