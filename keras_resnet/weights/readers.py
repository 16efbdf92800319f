"""Weight files read whole and checked before anything is assigned: safetensors,
keras.applications' Keras 2 HDF5 and Keras' own .weights.h5/.keras. Nothing here unpickles."""

import os
import warnings
from collections.abc import Mapping

import h5py
import keras
import numpy as np
import safetensors
import safetensors.numpy

from keras_resnet.preprocessing import ImagePreprocessing
from keras_resnet.weights.assign import FIRST_CONVS, assign


class DamagedFileError(ValueError):
    """A weights file that cannot be read at all: truncated, corrupt, or not the format its
    name says."""


def read_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file, or DamagedFileError.

    Example:
        >>> read_safetensors("resnet18.safetensors")["conv1.weight"].shape  # doctest: +SKIP
        (64, 3, 7, 7)
    """
    try:
        return safetensors.numpy.load_file(path)
    except (safetensors.SafetensorError, OSError, ValueError) as error:
        raise DamagedFileError(
            f"Cannot read {path} as safetensors (corrupt or truncated?): {error}"
        ) from error


def check_floats(arrays: Mapping[str, np.ndarray], source: str) -> None:
    """Refuses integer or boolean tensors, which would load as nonsense weights.

    Example:
        >>> check_floats({"fc.bias": np.zeros(3, np.int64)}, "ints.safetensors")
        Traceback (most recent call last):
        ...
        ValueError: ints.safetensors: tensor 'fc.bias' has dtype int64; weight files must ...
    """
    for name, array in arrays.items():
        dtype = np.asarray(array).dtype
        if not np.issubdtype(dtype, np.floating):
            raise ValueError(
                f"{source}: tensor {name!r} has dtype {dtype}; weight files must hold "
                "floating-point tensors (float16, float32 or float64)."
            )


def _text(name: str | bytes) -> str:
    return name.decode() if isinstance(name, bytes) else name


def read_legacy_h5(path: str | os.PathLike) -> dict[str, list[np.ndarray]]:
    """keras.applications' weight files: Keras 2 HDF5, a group per layer with `weight_names`.

    Example:
        >>> path = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
        >>> arrays = read_legacy_h5(path)  # doctest: +SKIP
        >>> [a.shape for a in arrays["conv1_conv"]]  # doctest: +SKIP
        [(7, 7, 3, 64), (64,)]
    """
    try:
        with h5py.File(path, "r") as file:
            group = file["model_weights"] if "model_weights" in file else file
            if "layer_names" not in group.attrs:
                raise ValueError(f"{path} is not a Keras HDF5 weights file (no 'layer_names').")
            arrays = {}
            for layer_name in map(_text, group.attrs["layer_names"]):
                names = [_text(n) for n in group[layer_name].attrs["weight_names"]]
                if names:
                    arrays[layer_name] = [np.asarray(group[layer_name][n]) for n in names]
            return arrays
    except OSError as error:
        raise DamagedFileError(
            f"Cannot read {path} as HDF5 (corrupt or truncated?): {error}"
        ) from error


def _keras_load(model: keras.Model, path: str) -> str | None:
    """Keras' `load_weights`, made strict: None, or what went wrong, with the model's old weights
    back. Keras matches variables by layer type and order and only warns about what it skips,
    so a warning counts as a failure."""
    before = [w.numpy() for w in model.weights]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.load_weights(path)
            problem = next((str(w.message) for w in caught if "saving" in w.filename), None)
        except Exception as error:  # Keras raises ValueError, KeyError, OSError...
            problem = f"{type(error).__name__}: {error}"
    if problem:
        for variable, value in zip(model.weights, before, strict=True):
            variable.assign(value)
    return problem


def _rgb_twin(model: keras.Model) -> keras.Model | None:
    """A copy of `model` that takes 3 channels where it takes another count, with fresh weights:
    what a Keras file of the RGB model loads into (Keras' loader cannot adapt a kernel). Its
    `ImagePreprocessing`, which has no weights, becomes an RGB one. None where `model` takes 3
    channels, or is not a one-input model whose first convolution `FIRST_CONVS` names."""
    first = next((layer for layer in model.layers if layer.name in FIRST_CONVS), None)
    if first is None or len(model.inputs) != 1 or first.kernel.shape[2] == 3:
        return None
    shape = list(model.input_shape[1:])
    shape[0 if first.data_format == "channels_first" else -1] = 3
    input_layer = model.layers[0]
    name = input_layer.name if isinstance(input_layer, keras.layers.InputLayer) else None
    inputs = keras.Input(shape, dtype=model.inputs[0].dtype, name=name)

    def clone(layer):
        if isinstance(layer, ImagePreprocessing):
            return ImagePreprocessing(
                "torch", data_format=layer.data_format, dtype=layer.dtype_policy, name=layer.name
            )
        return layer.__class__.from_config(layer.get_config())

    # Imported here: keras_resnet.models imports this package. The deepest nets need it.
    from keras_resnet.models.resnet import recursion_limit

    with recursion_limit():
        return keras.models.clone_model(model, input_tensors=inputs, clone_function=clone)


def load_keras_file(model: keras.Model, path: str) -> None:
    """Keras' own .weights.h5/.keras loading, made strict: a file that does not fit leaves the
    model's old weights in place and raises.

    A model that takes other than 3 channels loads a file of its RGB twin too: into a 3-channel
    copy first, then through `assign`, which adapts the stem's kernel (timm's rule).

    Example:
        >>> load_keras_file(keras_resnet.ResNet18(), "resnet18.weights.h5")  # doctest: +SKIP
    """
    problem = _keras_load(model, path)
    if problem is None:
        return
    twin = _rgb_twin(model)
    if twin is not None and _keras_load(twin, path) is None:
        arrays = {layer.name: layer.get_weights() for layer in twin.layers if layer.weights}
        assign(model, arrays, source=path)
        return
    raise ValueError(f"Cannot load {path} into model {model.name!r}: {problem}")
