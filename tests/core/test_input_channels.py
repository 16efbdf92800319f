"""Input channels other than 3 with pretrained weights (issue 18): every source's RGB stem kernel
adapted by timm's rule (`adapt_input_conv`), the rest loaded unchanged, a warning that says so;
`include_preprocessing` with a per-channel mean and std; a grayscale fine-tune from a file."""

import hashlib
import os
import warnings
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from helpers import local_weights, randomise_vectors
from keras.src.legacy.saving import legacy_h5_format
from safetensors.numpy import load_file, save_file

import keras_resnet
from keras_resnet import weights as weights_lib
from keras_resnet.preprocessing import ImagePreprocessing, affine_form
from keras_resnet.tools import export_network
from keras_resnet.weights.assign import adapt_input_conv

# timm 1.0.31's adapt_input_conv of ../shared/fixtures/resnet18.safetensors' conv1 for 1 and 4
# channels (benchmarks/make_fixtures.py --adapt-input-conv 1 4), OIHW.
TIMM = np.load(Path(__file__).resolve().parents[1] / "data" / "resnet18_adapt_input_conv.npz")
SIZE = 32  # the least an ImageNet stem and four stages stride over
GREY = {"mean": [0.449 * 255], "std": [0.226 * 255]}


def timm_kernel(channels):
    """timm's adapted conv1 in Keras' layout: PyTorch's OIHW -> HWIO."""
    return TIMM[f"in_chans_{channels}"].transpose(2, 3, 1, 0)


@pytest.fixture(scope="module")
def fixture_file(fixtures_dir):
    """../shared/fixtures/resnet18.safetensors, checked to be the file TIMM was made from."""
    path = fixtures_dir / "resnet18.safetensors"
    conv1 = load_file(path)["conv1.weight"]
    if hashlib.sha256(conv1.tobytes()).hexdigest() != str(TIMM["conv1_sha256"]):
        message = (
            f"{path}'s conv1 is not the one tests/data/resnet18_adapt_input_conv.npz was made "
            "from: rerun benchmarks/make_fixtures.py --out tests/data resnet18 "
            "--adapt-input-conv 1 4"
        )
        if os.environ.get("KERAS_RESNET_FIXTURES"):
            pytest.skip(message)  # another fixtures folder, which the reference does not cover
        pytest.fail(message)
    return str(path)


@pytest.fixture(scope="module")
def rgb(fixture_file):
    """The 3-channel ResNet-18 loaded from the fixture: what every other weight must equal."""
    return keras_resnet.ResNet18(weights=fixture_file, classes=10, input_shape=(SIZE, SIZE, 3))


def load_adapted(build, weights, channels, **kwargs):
    """The model `build` makes with `channels` input channels from `weights`, and the one
    warning about its stem."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = build(weights=str(weights), input_shape=(SIZE, SIZE, channels), **kwargs)
    notes = [str(w.message) for w in caught if "adapt_input_conv" in str(w.message)]
    assert len(notes) == 1, notes
    return model, notes[0]


def assert_the_rest_equal(model, reference, first="conv1_conv"):
    """Every weight but the first convolution's kernel is the reference model's, exactly."""
    for layer in reference.layers:
        ours = model.get_layer(layer.name).get_weights()
        theirs = layer.get_weights()
        if layer.name == first:
            ours, theirs = ours[1:], theirs[1:]  # a bias (v1, v2) stays as it is
        assert len(ours) == len(theirs), layer.name
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=layer.name)


@pytest.mark.parametrize("channels", [1, 4])
def test_a_torchvision_file_gives_timms_adapted_stem(fixture_file, rgb, channels):
    model, note = load_adapted(keras_resnet.ResNet18, fixture_file, channels, classes=10)
    rule = "summed over RGB" if channels == 1 else "RGB repeated to 4 channels and scaled by 3/4"
    plural = "" if channels == 1 else "s"
    assert note == (
        f"Model 'resnet18' takes {channels} input channel{plural}; loading {fixture_file}, "
        f"conv1_conv: the file's 3-channel kernel adapted to {channels} channel{plural} "
        f"({rule}, timm's adapt_input_conv); fine-tune before use."
    )
    kernel = model.get_layer("conv1_conv").kernel.numpy()
    assert kernel.shape == (7, 7, channels, 64)
    np.testing.assert_allclose(kernel, timm_kernel(channels), rtol=0, atol=1e-6)
    assert_the_rest_equal(model, rgb)


def write_legacy_h5(path, model):
    """keras.applications' Keras 2 HDF5 layout (a group per layer), as its published files."""
    with h5py.File(path, "w") as file:
        legacy_h5_format.save_weights_to_hdf5_group(file, model)


@pytest.fixture
def publish(fixture_file, tmp_path, monkeypatch):
    """The fixture as published weights ("test:local"), served through the real download code."""
    sha256 = hashlib.sha256(Path(fixture_file).read_bytes()).hexdigest()
    spec = local_weights(fixture_file, sha256)
    monkeypatch.setitem(weights_lib.PUBLISHED, ("resnet18", "test:local"), spec)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    return "test:local"


@pytest.mark.parametrize("channels", [1, 4])
@pytest.mark.parametrize("source", ["published", "legacy.h5", "weights.h5", "keras"])
def test_every_source_gives_the_same_adapted_stem(
    request, tmp_path, rgb, source, channels, monkeypatch
):
    """The fixture as a published name, a keras.applications-style .h5, and our 3-channel
    model's own .weights.h5 and .keras (which Keras' loader reads, into an RGB twin)."""
    if source == "published":
        weights = request.getfixturevalue("publish")
    else:
        weights = tmp_path / f"rgb.{source}"
        if source == "legacy.h5":
            write_legacy_h5(weights, rgb)
        elif source == "weights.h5":
            rgb.save_weights(weights)
        else:
            rgb.save(weights)
    model, note = load_adapted(keras_resnet.ResNet18, weights, channels, classes=10)
    assert "conv1_conv: the file's 3-channel kernel adapted to" in note
    np.testing.assert_allclose(
        model.get_layer("conv1_conv").kernel.numpy(), timm_kernel(channels), rtol=0, atol=1e-6
    )
    assert_the_rest_equal(model, rgb)


def rule(kernel, channels):
    """timm's rule written out for the shapes here, independently of `adapt_input_conv`."""
    if channels == 1:
        return kernel.sum(axis=2, keepdims=True)
    return np.concatenate([kernel, kernel[:, :, :1]], axis=2) * 0.75  # 4 channels


@pytest.mark.parametrize(
    "build, variant, first, source, channels",
    [
        # keras.applications' layouts: biased conv1_conv (v1, and v2 before its first block)
        (keras_resnet.ResNet18, "v1", "conv1_conv", "legacy.h5", 1),
        (keras_resnet.ResNet18, "v2", "conv1_conv", "legacy.h5", 4),
        # timm's deep stem (ResNet-D): the first of its three convolutions sees the image
        (keras_resnet.ResNet18, "v1d", "conv1_1_conv", "safetensors", 1),
        # the CIFAR stem's 3x3 conv1, from a Keras file
        (keras_resnet.ResNet20, "v1.5", "conv1_conv", "weights.h5", 1),
    ],
)
def test_every_stem_and_layout(tmp_path, build, variant, first, source, channels):
    reference = randomise_vectors(build(variant=variant, input_shape=(SIZE, SIZE, 3)))
    path = tmp_path / f"rgb.{source}"
    if source == "legacy.h5":
        write_legacy_h5(path, reference)
    elif source == "safetensors":
        keras_resnet.save_torchvision(reference, path)
    else:
        reference.save_weights(path)
    model, note = load_adapted(build, path, channels, variant=variant)
    assert f"{first}: the file's 3-channel kernel adapted to {channels} channel" in note
    expected = rule(reference.get_layer(first).kernel.numpy(), channels)
    np.testing.assert_allclose(
        model.get_layer(first).kernel.numpy(), expected, rtol=1e-6, atol=1e-7
    )
    assert_the_rest_equal(model, reference, first)


def test_a_file_of_the_same_channel_count_loads_as_it_is(tmp_path):
    """A grayscale model's own files are not adapted (and say nothing)."""
    grey = randomise_vectors(keras_resnet.ResNet18(classes=10, input_shape=(SIZE, SIZE, 1)))
    grey.save_weights(tmp_path / "grey.weights.h5")
    keras_resnet.save_torchvision(grey, tmp_path / "grey.safetensors")
    for name in ("grey.weights.h5", "grey.safetensors"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loaded = keras_resnet.ResNet18(
                weights=str(tmp_path / name), classes=10, input_shape=(SIZE, SIZE, 1)
            )
        for a, b in zip(loaded.get_weights(), grey.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)


def test_a_file_that_does_not_fit_loads_nothing(tmp_path, fixture_file):
    model = keras_resnet.ResNet18(classes=10, input_shape=(SIZE, SIZE, 4))
    before = [w.numpy() for w in model.weights]
    # A 2-channel stem is no RGB kernel to adapt: the shape error names the tensor.
    state = load_file(fixture_file)
    state["conv1.weight"] = state["conv1.weight"][:, :2]
    save_file(state, str(tmp_path / "two.safetensors"))
    with pytest.raises(
        ValueError,
        match=r"tensors \['conv1.weight'\] for layer 'conv1_conv' have shapes "
        r"\[\(7, 7, 2, 64\)\]; the layer expects \[\(7, 7, 4, 64\)\]",
    ):
        weights_lib.load_weights(model, tmp_path / "two.safetensors")
    # A Keras file of another depth fits neither the model nor its RGB twin.
    keras_resnet.ResNet34(classes=10, input_shape=(SIZE, SIZE, 3)).save_weights(
        tmp_path / "resnet34.weights.h5"
    )
    with pytest.raises(
        ValueError, match=r"Cannot load .*resnet34.weights.h5 into model 'resnet18'"
    ):
        weights_lib.load_weights(model, tmp_path / "resnet34.weights.h5")
    for weight, value in zip(model.weights, before, strict=True):
        np.testing.assert_array_equal(weight.numpy(), value)


def test_a_grayscale_fine_tune_starts_from_the_adapted_stem(fixture_file):
    model, _ = load_adapted(keras_resnet.ResNet18, fixture_file, 1, classes=10)
    before = model.get_layer("conv1_conv").kernel.numpy()
    np.testing.assert_allclose(before, timm_kernel(1), rtol=0, atol=1e-6)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (4, SIZE, SIZE, 1)).astype("float32")
    y = np.array([0, 3, 7, 9])
    model.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0)  # two steps
    assert np.isfinite(history.history["loss"][0])
    assert np.abs(model.get_layer("conv1_conv").kernel.numpy() - before).max() > 0


@pytest.mark.parametrize("preprocessing", [None, "torch", "caffe", "tf"])
def test_include_preprocessing_refuses_an_rgb_mode_for_other_channels(preprocessing):
    mode = preprocessing or "torch"  # the default of variant v1.5
    with pytest.raises(
        ValueError,
        match=r"^`preprocessing` must be a per-channel \{'mean': \[\.\.\.\], 'std': \[\.\.\.\]\} "
        r"with 1 value each \(pixels in \[0, 255\]\) for 1-channel images: the modes "
        rf"\['torch', 'caffe', 'tf'\] take RGB \(3 channels\); received preprocessing='{mode}'\.$",
    ):
        keras_resnet.ResNet18(
            input_shape=(SIZE, SIZE, 1), include_preprocessing=True, preprocessing=preprocessing
        )
    with pytest.raises(ValueError, match=r"with 4 values each .* for 4-channel images"):
        keras_resnet.ResNet18(input_shape=(SIZE, SIZE, 4), include_preprocessing=True)


def test_include_preprocessing_with_a_mean_and_std_per_channel(tmp_path, fixture_file):
    """The model takes raw grey pixels, and keeps its mean and std through a .keras file."""
    plain, _ = load_adapted(keras_resnet.ResNet18, fixture_file, 1, classes=10)
    raw, _ = load_adapted(
        keras_resnet.ResNet18,
        fixture_file,
        1,
        classes=10,
        include_preprocessing=True,
        preprocessing=GREY,
    )
    assert raw.get_layer("preprocessing").mode == GREY
    pixels = np.random.default_rng(0).integers(0, 256, (2, SIZE, SIZE, 1)).astype("float32")
    normalised = (pixels - GREY["mean"][0]) / GREY["std"][0]
    expected = plain(normalised, training=False).numpy()
    np.testing.assert_allclose(raw(pixels, training=False).numpy(), expected, atol=1e-6)
    raw.save(tmp_path / "grey.keras")
    loaded = keras_resnet.load_model(tmp_path / "grey.keras")
    assert loaded.get_layer("preprocessing").mode == GREY
    np.testing.assert_array_equal(
        loaded(pixels, training=False).numpy(), raw(pixels, training=False).numpy()
    )


def test_a_per_channel_preprocessing_channels_first_and_its_affine_form():
    mean, std = [10.0, 20.0, 30.0, 40.0], [2.0, 4.0, 5.0, 8.0]
    layer = ImagePreprocessing({"mean": mean, "std": std}, data_format="channels_first")
    x = np.random.default_rng(0).uniform(0, 255, (2, 4, 3, 3)).astype("float32")
    expected = (x - np.reshape(mean, (4, 1, 1))) / np.reshape(std, (4, 1, 1))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), expected, rtol=1e-6)
    form = affine_form({"mean": mean, "std": std})
    np.testing.assert_array_equal(form[0], mean)
    np.testing.assert_array_equal(form[1], std)
    assert form[2] == (0, 1, 2, 3)


def test_the_int8_network_folds_a_per_channel_preprocessing_into_conv1():
    """What the int8 exports convert: the 4-channel std moves into conv1's kernel, the mean
    stays in front, and the function is the same."""
    keras.utils.set_random_seed(0)
    preprocessing = {"mean": [100.0, 110.0, 120.0, 90.0], "std": [50.0, 60.0, 70.0, 40.0]}
    model = randomise_vectors(
        keras_resnet.ResNet18(
            classes=10,
            input_shape=(SIZE, SIZE, 4),
            include_preprocessing=True,
            preprocessing=preprocessing,
        )
    )
    folded = export_network.logits_model(model, fold_preprocessing=True)
    body = folded.get_layer(f"{model.name}_body")
    assert [type(layer).__name__ for layer in body.layers[1:4]] == [
        "_SubtractMean",
        "ZeroPadding2D",
        "Conv2D",
    ]
    images = np.random.default_rng(2).integers(0, 256, (2, SIZE, SIZE, 4)).astype("float32")
    expected = export_network.logits_model(model).predict(images, verbose=0)
    difference = np.abs(folded.predict(images, verbose=0) - expected).max() / np.abs(expected).max()
    assert difference < 1e-5, difference


@pytest.mark.parametrize(
    "preprocessing, message",
    [
        (
            "rgb",
            r"`preprocessing` must be one of \['torch', 'caffe', 'tf'\] or \{'mean': \[\.\.\.\], "
            r"'std': \[\.\.\.\]\} \(one value per input channel, for pixels in \[0, 255\]\); "
            r"received preprocessing='rgb'",
        ),
        (
            {"mean": [1.0]},
            r"`preprocessing` must be one of \['torch', 'caffe', 'tf'\] \(RGB\) or \{'mean'.*"
            r"received preprocessing=\{'mean': \[1.0\]\}",
        ),
        (
            {"mean": ["grey"], "std": [1.0]},
            r"`preprocessing` 'mean' must be a non-empty list of finite numbers, one per input "
            r"channel; received preprocessing=\{'mean': \['grey'\]",
        ),
        (
            {"mean": [1.0], "std": [float("nan")]},
            r"`preprocessing` 'std' must be a non-empty list of finite numbers",
        ),
        (
            {"mean": [1.0, 2.0], "std": [1.0]},
            r"`preprocessing` must hold as many means as stds, every std > 0",
        ),
        ({"mean": [1.0], "std": [0.0]}, r"as many means as stds, every std > 0; received"),
        (
            {"mean": [1.0, 2.0, 3.0], "std": [1.0, 1.0, 1.0]},
            r"`preprocessing` must have 1 mean and 1 std, one per channel of the 1-channel "
            r"images; received preprocessing=\{'mean': \[1.0, 2.0, 3.0\].* \(3 each\)",
        ),
    ],
)
def test_bad_preprocessing_is_refused_by_name(preprocessing, message):
    with pytest.raises(ValueError, match=message):
        keras_resnet.ResNet18(
            input_shape=(SIZE, SIZE, 1), include_preprocessing=True, preprocessing=preprocessing
        )


def test_adapt_input_conv_refuses_what_it_cannot_adapt():
    with pytest.raises(
        ValueError, match=r"`channels` must be an integer >= 1; received channels=0"
    ):
        adapt_input_conv(np.zeros((7, 7, 3, 64)), 0)
    with pytest.raises(
        ValueError,
        match=r"`kernel` must be an RGB convolution kernel \(height, width, 3, filters\); "
        r"received shape \(7, 7, 2, 64\)",
    ):
        adapt_input_conv(np.zeros((7, 7, 2, 64)), 1)
    kernel = np.random.default_rng(0).standard_normal((3, 3, 3, 8)).astype("float32")
    np.testing.assert_array_equal(adapt_input_conv(kernel, 3), kernel)
    seven = adapt_input_conv(kernel, 7)  # ceil(7 / 3) = 3 copies, cut to 7, times 3/7
    np.testing.assert_allclose(
        seven, np.concatenate([kernel] * 3, axis=2)[:, :, :7] * 3 / 7, rtol=1e-6
    )
