"""The main job's command, the residual-block example and the torchvision name mapping's errors."""

import subprocess
import sys

import numpy as np
import pytest

import keras_resnet
from examples import residual_block
from keras_resnet.weights import load_torchvision_state, torchvision_arrays


def test_models_command_prints_counts_and_macs():
    result = subprocess.run(
        [sys.executable, "-m", "keras_resnet.cli", "models", "resnet18", "resnet20"],
        capture_output=True, text=True, check=True,
    )
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert rows["resnet18"][2:] == ["224x224", "1000", "11,689,512", "1.81", "74"]
    assert rows["resnet20"][2:] == ["32x32", "10", "269,722", "0.04", "75"]


def test_models_command_rejects_unknown_names():
    result = subprocess.run([sys.executable, "-m", "keras_resnet.cli", "models", "resnet51"], capture_output=True, text=True)
    assert result.returncode == 2 and "unknown model names ['resnet51']" in result.stderr


def test_residual_block_example_equals_its_formula():
    differences = residual_block.main(verbose=False)
    assert differences["seed_block"] < 1e-6 and differences["basic_block"] < 1e-6


def test_torchvision_names_cover_every_weight():
    model = keras_resnet.ResNet50(variant="v1d", se_ratio=0.25, input_shape=(64, 64, 3))
    mapping = torchvision_arrays(model)
    assert {"conv1.0.weight", "conv1.6.weight", "layer1.0.downsample.1.weight", "layer1.0.se.fc1.bias", "fc.weight"} <= set(mapping)
    assert len(mapping) == sum(len(layer.weights) for layer in model.layers)


def _state(model):
    return {name: np.zeros(layer.weights[i].shape[::-1] if layout != "vector" else layer.weights[i].shape, "float32")
            for name, (layer, i, layout) in torchvision_arrays(model).items()}


def test_torchvision_state_errors_name_the_tensors():
    model = keras_resnet.ResNet18(classes=10, input_shape=(32, 32, 3))
    state = _state(model)
    with pytest.raises(ValueError, match=r"missing tensors \['fc.bias'\], unexpected tensors \['fc.biass'\]"):
        load_torchvision_state(model, {**{k: v for k, v in state.items() if k != "fc.bias"}, "fc.biass": state["fc.bias"]})
    with pytest.raises(ValueError, match=r"Tensor 'fc.weight' has shape \(512, 5\) in Keras layout; layer 'predictions' expects \(512, 10\)"):
        load_torchvision_state(model, {**state, "fc.weight": np.zeros((5, 512), "float32")})
