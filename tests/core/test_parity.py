"""Our models reproduce torchvision's and keras.applications' outputs given the same weights."""

import re

import keras
import numpy as np
import pytest
from helpers import DEFAULT_FIXTURES, FIXTURES, images, randomise_vectors
from safetensors.numpy import load_file

import keras_resnet
from keras_resnet.weights import load_torchvision_state


def _fixture_names():
    """Every <name>.npz in the fixtures folder; ../shared/fixtures must hold at least resnet18
    and resnet50 (an empty folder fails on them rather than collecting no test)."""
    names = {path.stem for path in FIXTURES.glob("*.npz")}
    if FIXTURES == DEFAULT_FIXTURES or not names:
        names |= {"resnet18", "resnet50"}
    return sorted(names)


@pytest.mark.parametrize("name", _fixture_names())
def test_torchvision_fixture_logits(fixtures_dir, name):
    reference = np.load(fixtures_dir / f"{name}.npz")
    model = keras_resnet.build(
        name,
        weights=str(fixtures_dir / f"{name}.safetensors"),
        classes=10,
        input_shape=reference["x"].shape[1:],
        classifier_activation=None,
    )
    logits = model(reference["x"], training=False).numpy()
    assert logits.shape == reference["logits"].shape
    assert np.abs(logits - reference["logits"]).max() < 1e-4


def test_same_padding_would_not_reproduce_torchvision(fixtures_dir):
    """The fixture can tell symmetric from TensorFlow-'same' padding on strided convs."""
    reference = np.load(fixtures_dir / "resnet18.npz")
    model = keras_resnet.ResNet18(
        classes=10, input_shape=reference["x"].shape[1:], classifier_activation=None
    )
    load_torchvision_state(model, load_file(fixtures_dir / "resnet18.safetensors"))
    # Shift the input by one pixel, as asymmetric padding would: the logits move.
    shifted = np.pad(reference["x"], [(0, 0), (0, 1), (0, 1), (0, 0)])[:, 1:, 1:]
    assert np.abs(model(shifted, training=False).numpy() - reference["logits"]).max() > 1e-3


@pytest.mark.parametrize(
    "reference, builder, variant",
    [
        (keras.applications.ResNet50, keras_resnet.ResNet50, "v1"),
        pytest.param(
            keras.applications.ResNet101, keras_resnet.ResNet101, "v1", marks=pytest.mark.slow
        ),
        pytest.param(
            keras.applications.ResNet152, keras_resnet.ResNet152, "v1", marks=pytest.mark.slow
        ),
        (keras.applications.ResNet50V2, keras_resnet.ResNet50, "v2"),
        pytest.param(
            keras.applications.ResNet101V2, keras_resnet.ResNet101, "v2", marks=pytest.mark.slow
        ),
        pytest.param(
            keras.applications.ResNet152V2, keras_resnet.ResNet152, "v2", marks=pytest.mark.slow
        ),
    ],
)
def test_keras_applications_outputs(reference, builder, variant):
    # Seeded: the figures below depend on the random weights (unseeded, ResNet-152's
    # probabilities differed by 1.5e-5 in one draw of every few, whatever ran before).
    keras.utils.set_random_seed(0)
    theirs = randomise_vectors(reference(weights=None, input_shape=(64, 64, 3)))
    ours = builder(variant=variant, input_shape=(64, 64, 3))
    ours.set_weights(theirs.get_weights())
    x = images(size=64)
    # The outputs users get: softmax probabilities, to 1e-5.
    expected = theirs(x, training=False).numpy()
    assert np.abs(ours(x, training=False).numpy() - expected).max() < 1e-5
    # And the logits before them, to 1e-5 of their scale (float32 rounding over 100+ layers).
    logits = [keras.Model(m.input, m.get_layer("predictions").output) for m in (ours, theirs)]
    for model in logits:
        model.get_layer("predictions").activation = keras.activations.linear
    ours_logits, their_logits = (model(x, training=False).numpy() for model in logits)
    assert np.abs(ours_logits - their_logits).max() < 1e-5 * np.abs(their_logits).max()
    assert [w.shape for w in ours.weights] == [w.shape for w in theirs.weights]
    # Same names for every layer that has weights: the public contract.
    assert [layer.name for layer in ours.layers if layer.weights] == [
        layer.name for layer in theirs.layers if layer.weights
    ]
    # And for every other layer (pads, pools, activations, adds), in the same order, so that
    # get_layer code written against keras.applications runs unchanged. keras.applications
    # leaves two kinds unnamed, which Keras numbers by a process-wide counter: the input
    # (`input_layer_<n>`; ours is "images") and ResNetV2's subsampling shortcut pools
    # (`max_pooling2d_<n>`; ours are `conv<k>_block<n>_0_pool`, one class and position each).
    assert len(ours.layers) == len(theirs.layers)
    for mine, their in zip(ours.layers, theirs.layers, strict=True):
        unnamed = re.fullmatch(r"(input_layer|max_pooling2d)(_\d+)?", their.name)
        assert mine.name == their.name or (unnamed and type(mine) is type(their)), (mine, their)
    named = [
        layer.name for layer in theirs.layers if not re.match(r"input_layer|max_pool", layer.name)
    ]
    counts = {"ResNet50": 176, "ResNet101": 346, "ResNet152": 516}
    counts |= {"ResNet50V2": 188, "ResNet101V2": 375, "ResNet152V2": 562}
    assert len(named) == counts[reference.__name__]  # the names compared, for each network
