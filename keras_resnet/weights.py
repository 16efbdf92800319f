"""Weights in torchvision's naming: our layer names <-> torchvision/timm state-dict names."""

import re
from collections.abc import Mapping

import keras
import numpy as np

_BN_PARTS = ("weight", "bias", "running_mean", "running_var")  # gamma, beta, mean, variance


def _torch_prefix(layer_name: str, avg_down: bool) -> str | None:
    """torchvision's module path for one of our conv/bn/dense layers, or None if it has none."""
    stem = {
        "conv1_conv": "conv1", "conv1_bn": "bn1", "predictions": "fc",
        # timm's deep stem (ResNet-D): Sequential(conv, bn, relu, conv, bn, relu, conv).
        "conv1_1_conv": "conv1.0", "conv1_1_bn": "conv1.1",
        "conv1_2_conv": "conv1.3", "conv1_2_bn": "conv1.4", "conv1_3_conv": "conv1.6",
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
    avg_pools = {layer.name for layer in model.layers if isinstance(layer, keras.layers.AveragePooling2D)}
    mapping = {}
    for layer in model.layers:
        if not layer.weights:
            continue
        block = re.match(r"conv\d+_block\d+", layer.name)
        avg_down = bool(block) and f"{block.group()}_0_pool" in avg_pools
        prefix = _torch_prefix(layer.name, avg_down)
        if prefix is None:
            raise ValueError(f"Layer {layer.name!r} has weights but no torchvision counterpart.")
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


def load_torchvision_state(model: keras.Model, state: Mapping[str, np.ndarray]) -> None:
    """Loads a torchvision/timm ResNet state dict (names -> arrays) into `model`.

    Every tensor the model needs must be there with the right shape, and every tensor
    there must be used (`num_batches_tracked` aside): nothing is half-loaded.

    Args:
        model: a model built by keras_resnet (variant v1.5 for torchvision, v1d for timm's
            `resnet*d`).
        state: tensor name -> array in PyTorch layout (e.g. `safetensors.numpy.load_file`).

    Example:
        >>> from safetensors.numpy import load_file
        >>> model = keras_resnet.ResNet18(classes=10)
        >>> load_torchvision_state(model, load_file("resnet18.safetensors"))
    """
    mapping = torchvision_arrays(model)
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    missing = sorted(set(mapping) - set(state))
    unexpected = sorted(set(state) - set(mapping))
    if missing or unexpected:
        raise ValueError(
            f"The state dict does not fit model {model.name!r}: missing tensors {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''}, unexpected tensors {unexpected[:5]}"
            f"{' ...' if len(unexpected) > 5 else ''}."
        )
    values = {}
    for key, (layer, index, layout) in mapping.items():
        array = _to_keras(np.asarray(state[key], dtype=np.float32), layout)
        expected = tuple(layer.weights[index].shape)
        if array.shape != expected:
            raise ValueError(
                f"Tensor {key!r} has shape {array.shape} in Keras layout; layer "
                f"{layer.name!r} expects {expected}."
            )
        values.setdefault(layer.name, [None] * len(layer.weights))[index] = array
    for layer_name, arrays in values.items():
        model.get_layer(layer_name).set_weights(arrays)
