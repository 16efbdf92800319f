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


class DamagedFileError(ValueError):
    """A weights file that cannot be read at all: truncated, corrupt, or not the format its
    name says."""


def read_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file, or DamagedFileError.

    Example:
        >>> read_safetensors("resnet18.safetensors")["conv1.weight"].shape
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
        >>> check_floats({"fc.bias": np.zeros(3, np.int64)}, "ints.safetensors")  # ValueError
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
        >>> arrays = read_legacy_h5("resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5")
        >>> [a.shape for a in arrays["conv1_conv"]]
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


def load_keras_file(model: keras.Model, path: str) -> None:
    """Keras' own .weights.h5/.keras loading, made strict.

    Keras matches variables by layer type and order and only warns about what it skips, so a
    warning counts as a failure and the model gets its old weights back.

    Example:
        >>> load_keras_file(keras_resnet.ResNet18(), "resnet18.weights.h5")
    """
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
        raise ValueError(f"Cannot load {path} into model {model.name!r}: {problem}")
