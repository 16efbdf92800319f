"""torchvision's (and timm's) tensor names for our layers: load their state dicts, save ours
back under their names."""

import os
import re
from collections.abc import Mapping

import keras
import numpy as np
import safetensors.numpy

from keras_resnet.files import atomic_write
from keras_resnet.weights.assign import HEAD, assign, some
from keras_resnet.weights.readers import check_floats

_BN_PARTS = ("weight", "bias", "running_mean", "running_var")  # gamma, beta, mean, variance


def _torch_prefix(layer_name: str, avg_down: bool) -> str | None:
    """torchvision's module path for one of our conv/bn/dense layers, or None if it has none."""
    stem = {
        "conv1_conv": "conv1",
        "conv1_bn": "bn1",
        HEAD: "fc",
        # timm's deep stem (ResNet-D): Sequential(conv, bn, relu, conv, bn, relu, conv).
        "conv1_1_conv": "conv1.0",
        "conv1_1_bn": "conv1.1",
        "conv1_2_conv": "conv1.3",
        "conv1_2_bn": "conv1.4",
        "conv1_3_conv": "conv1.6",
    }
    if layer_name in stem:
        return stem[layer_name]
    match = re.fullmatch(r"conv(\d+)_block(\d+)_(\d)_(conv|bn)", layer_name)
    if match:
        stage, block, index, kind = match.groups()
        prefix = f"layer{int(stage) - 1}.{int(block) - 1}"
        if index == "0":  # downsample = Sequential([AvgPool2d,] conv, bn)
            return f"{prefix}.downsample.{int(kind == 'bn') + int(avg_down)}"
        return f"{prefix}.{kind}{index}"
    match = re.fullmatch(r"conv(\d+)_block(\d+)_se_(reduce|expand)", layer_name)
    if match:
        stage, block, part = match.groups()
        return f"layer{int(stage) - 1}.{int(block) - 1}.se.{'fc1' if part == 'reduce' else 'fc2'}"
    return None


def torchvision_arrays(model: keras.Model) -> dict[str, tuple[keras.layers.Layer, int, str]]:
    """Maps every torchvision tensor name to (our layer, index of its weight, layout).

    Example:
        >>> mapping = torchvision_arrays(keras_resnet.ResNet18())
        >>> mapping["layer2.0.downsample.0.weight"][0].name
        'conv3_block1_0_conv'
    """
    # timm's ResNet-D puts an average pool (an Identity where the stride is 1) before every
    # downsample conv, which shifts their indices: downsample.1 (conv) and .2 (bn).
    avg_down = any(
        layer.name == "conv1_1_conv"
        or (isinstance(layer, keras.layers.AveragePooling2D) and layer.name.endswith("_0_pool"))
        for layer in model.layers
    )
    mapping = {}
    for layer in model.layers:
        if not layer.weights:
            continue
        prefix = _torch_prefix(layer.name, avg_down)
        if prefix is None:
            raise ValueError(
                f"Layer {layer.name!r} of model {model.name!r} has weights but no torchvision "
                "counterpart."
            )
        if isinstance(layer, keras.layers.BatchNormalization):
            parts = [(p, "vector") for p in _BN_PARTS]
        elif isinstance(layer, keras.layers.Dense):
            parts = [("weight", "linear"), ("bias", "vector")]
        else:
            parts = [("weight", "conv"), ("bias", "vector")][: len(layer.weights)]
        for index, (part, layout) in enumerate(parts):
            mapping[f"{prefix}.{part}"] = (layer, index, layout)
    return mapping


def _to_keras(array: np.ndarray, layout: str) -> np.ndarray:
    if layout == "conv":  # PyTorch OIHW -> Keras HWIO
        return array.transpose(2, 3, 1, 0)
    if layout == "linear":  # PyTorch (out, in) -> Keras (in, out)
        return array.T
    return array


def _to_torch(array: np.ndarray, layout: str) -> np.ndarray:
    if layout == "conv":
        return np.ascontiguousarray(array.transpose(3, 2, 0, 1))
    if layout == "linear":
        return np.ascontiguousarray(array.T)
    return array


def _from_torchvision(model, state: Mapping[str, np.ndarray], source: str):
    """torchvision-named tensors -> {layer name: arrays}, after checking every name."""
    mapping = torchvision_arrays(model)
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    check_floats(state, source)
    head_keys = {"fc.weight", "fc.bias"}  # the classifier follows the head rule in `assign`
    missing = sorted(set(mapping) - set(state) - head_keys)
    unexpected = sorted(set(state) - set(mapping) - head_keys)
    if missing or unexpected:
        raise ValueError(
            f"{source} does not fit model {model.name!r}: "
            f"missing tensors {some(missing)}, unexpected tensors {some(unexpected)}. "
            "Is it a checkpoint of another depth or variant (timm's resnet*d need variant='v1d')?"
        )
    layouts = {
        "fc.weight": "linear",
        "fc.bias": "vector",
        **{k: layout for k, (_, _, layout) in mapping.items()},
    }
    arrays, labels = {}, {}
    for key, value in state.items():
        layer, index = (
            (mapping[key][0].name, mapping[key][1])
            if key in mapping
            else (HEAD, int(key == "fc.bias"))
        )
        arrays.setdefault(layer, {})[index] = _to_keras(
            np.asarray(value, dtype=np.float32), layouts[key]
        )
        labels.setdefault(layer, {})[index] = key
    if HEAD in arrays and len(arrays[HEAD]) != 2:
        raise ValueError(f"{source} has only one of 'fc.weight' and 'fc.bias'.")
    return (
        {layer: [parts[i] for i in sorted(parts)] for layer, parts in arrays.items()},
        {layer: [parts[i] for i in sorted(parts)] for layer, parts in labels.items()},
    )


def load_torchvision_state(
    model: keras.Model, state: Mapping[str, np.ndarray], source: str = "the state dict"
) -> None:
    """Loads a torchvision/timm ResNet state dict (names -> arrays) into `model`.

    Args:
        model: a model built by keras_resnet (variant v1.5 for torchvision and timm's
            resnet*, v1d for timm's resnet*d).
        state: tensor name -> array in PyTorch layout (e.g. `safetensors.numpy.load_file`).
        source: how error messages name the state dict.

    Example:
        >>> model = keras_resnet.ResNet18(classes=10, input_shape=(32, 32, 3))
        >>> save_torchvision(model, "resnet18.safetensors")
        >>> load_torchvision_state(model, safetensors.numpy.load_file("resnet18.safetensors"))
    """
    arrays, labels = _from_torchvision(model, state, source)
    assign(model, arrays, source, labels)


def save_torchvision(model: keras.Model, path: str | os.PathLike) -> None:
    """Saves the model's weights as a torchvision-named safetensors file (float32, PyTorch layouts).

    torchvision and timm load it with `model.load_state_dict(safetensors.torch.load_file(path))`;
    so does `weights=path` here. The file is written beside `path` and renamed into place, so
    an interrupted save never leaves a half-written file.

    Example:
        >>> save_torchvision(keras_resnet.ResNet18(classes=10), "resnet18.safetensors")
        >>> state = safetensors.numpy.load_file("resnet18.safetensors")
        >>> len(state), state["conv1.weight"].shape, state["fc.weight"].shape
        (122, (64, 3, 7, 7), (10, 512))
    """
    state = {
        name: _to_torch(np.asarray(layer.weights[index].numpy(), dtype=np.float32), layout)
        for name, (layer, index, layout) in torchvision_arrays(model).items()
    }
    for name in [k for k in state if k.endswith(".running_var")]:
        state[name.replace("running_var", "num_batches_tracked")] = np.zeros((), np.int64)
    atomic_write(
        path,
        lambda partial: safetensors.numpy.save_file(
            state, partial, metadata={"format": "pt", "producer": "keras_resnet"}
        ),
    )
