"""`output_stride`: the last stages dilated instead of strided, as torchvision's
`replace_stride_with_dilation` and timm's `output_stride`; `feature_extractor`'s real strides
and keras-hub's P2..P5 names."""

from pathlib import Path

import keras
import numpy as np
import pytest

import keras_resnet
from benchmarks.make_fixtures import numpy_state
from keras_resnet import weights as weights_lib

DILATED = Path(__file__).resolve().parents[1] / "data" / "dilated"  # benchmarks/make_fixtures.py


def torch_shapes(model):
    """{torchvision name: PyTorch shape} of every weight of `model`."""
    layouts = {
        "conv": lambda shape: (shape[3], shape[2], shape[0], shape[1]),  # HWIO -> OIHW
        "linear": lambda shape: shape[::-1],
        "vector": lambda shape: shape,
    }
    return {
        name: layouts[layout](tuple(layer.weights[index].shape))
        for name, (layer, index, layout) in weights_lib.torchvision_arrays(model).items()
    }


@pytest.mark.parametrize("output_stride", [8, 16])
@pytest.mark.parametrize(
    "name", ["resnet50", "resnet50d", pytest.param("resnet101", marks=pytest.mark.slow)]
)
def test_dilated_nets_equal_torchvision_given_the_same_weights(name, output_stride):
    """torchvision's resnet50/101(replace_stride_with_dilation=...) and timm's
    resnet50d(output_stride=...) at an odd input size, with weights drawn by NumPy that
    make_fixtures drew too (so no weights file is stored)."""
    fixture = np.load(DILATED / f"{name}_os{output_stride}.npz")
    x = fixture["x"]
    assert x.shape == (2, 57, 57, 3)  # odd: PyTorch's symmetric padding must be matched
    model = keras_resnet.build(
        name.removesuffix("d"),
        classes=10,
        input_shape=x.shape[1:],
        classifier_activation=None,
        output_stride=output_stride,
        variant="v1d" if name.endswith("d") else "v1.5",
    )
    weights_lib.load_torchvision_state(
        model, numpy_state(torch_shapes(model), int(fixture["seed"]))
    )
    logits = model(x, training=False).numpy()
    expected = fixture["logits"]
    assert np.abs(logits - expected).max() / np.abs(expected).max() < 1e-4
    features = keras_resnet.feature_extractor(model)
    # C5 stays at 1/8 (1/16) of the input: ceil(57 / 8) = 8, ceil(57 / 16) = 4.
    assert features.output["C5"].shape[1:3] == ((8, 8) if output_stride == 8 else (4, 4))


@pytest.mark.parametrize("variant", ["v1.5", "v1", "v1d", "v2"])
@pytest.mark.parametrize(
    "output_stride, strides",
    [(8, [4, 8, 8, 8]), (16, [4, 8, 16, 16]), (32, [4, 8, 16, 32]), (None, [4, 8, 16, 32])],
)
def test_every_variant_reports_its_real_strides(variant, output_stride, strides):
    tiny = dict(include_top=False, input_shape=(64, 64, 3), variant=variant, filters=8)
    model = keras_resnet.ResNet("basic", (1, 1, 1, 1), output_stride=output_stride, **tiny)
    backbone = keras_resnet.feature_extractor(model)
    assert backbone.strides == dict(zip(["C2", "C3", "C4", "C5"], strides, strict=True))
    assert {key: tensor.shape[1] for key, tensor in backbone.output.items()} == {
        key: 64 // stride for key, stride in backbone.strides.items()
    }
    # Dilation changes no weight.
    undilated = keras_resnet.ResNet("basic", (1, 1, 1, 1), **tiny)
    assert model.count_params() == undilated.count_params()


def test_keras_hub_names_and_keras_applications_models():
    model = keras_resnet.ResNet18(include_top=False, input_shape=(64, 64, 3), output_stride=8)
    backbone = keras_resnet.feature_extractor(model, names="P")
    assert list(backbone.output) == ["P2", "P3", "P4", "P5"]
    assert backbone.strides == {"P2": 4, "P3": 8, "P4": 8, "P5": 8}
    theirs = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(64, 64, 3))
    assert keras_resnet.feature_extractor(theirs).strides == {"C2": 4, "C3": 8, "C4": 16, "C5": 32}
    with pytest.raises(ValueError) as error:
        keras_resnet.feature_extractor(model, names="F")
    assert "`names`" in str(error.value) and "names='F'" in str(error.value)


@pytest.mark.parametrize("output_stride", [4, 64, "16"])
def test_other_output_strides_are_refused(output_stride):
    with pytest.raises(ValueError) as error:
        keras_resnet.ResNet50(output_stride=output_stride)
    assert f"output_stride={output_stride!r}" in str(error.value) and "8, 16 or 32" in str(
        error.value
    )


def test_cifar_nets_take_no_output_stride():
    with pytest.raises(ValueError) as error:
        keras_resnet.ResNet("basic", (1, 1, 1), stem="cifar", filters=8, output_stride=8)
    assert "`output_stride`" in str(error.value) and "CIFAR" in str(error.value)
