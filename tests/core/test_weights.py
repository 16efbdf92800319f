"""Weights: torchvision/timm safetensors, keras.applications HDF5, published names, the head
rule, saving back in torchvision's naming, download and cache, and errors."""

import dataclasses
import hashlib
import os
import re
import warnings

import h5py
import keras
import numpy as np
import pytest
from helpers import images, local_weights, naming, randomise_vectors
from keras.src.legacy.saving import legacy_h5_format
from safetensors.numpy import load_file, save_file

import keras_resnet
from keras_resnet import weights as weights_lib
from keras_resnet.weights import catalogue

DEPTHS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
    200: ("bottleneck", (3, 24, 36, 3)),
}


def torchvision_spec(depth, groups=1, width_per_group=64, classes=1000, timm_d=False):
    """torchvision's ResNet state-dict names and shapes, written out from torchvision's
    resnet.py (and timm's resnet*d), independently of keras_resnet's own mapping."""
    block, layers = DEPTHS[depth]
    expansion = 4 if block == "bottleneck" else 1
    spec = {}

    def conv(name, out, inp, k):
        spec[f"{name}.weight"] = (out, inp, k, k)

    def bn(name, channels):
        for part in ("weight", "bias", "running_mean", "running_var"):
            spec[f"{name}.{part}"] = (channels,)

    if timm_d:
        (
            conv("conv1.0", 32, 3, 3),
            bn("conv1.1", 32),
            conv("conv1.3", 32, 32, 3),
            bn("conv1.4", 32),
            conv("conv1.6", 64, 32, 3),
        )
    else:
        conv("conv1", 64, 3, 7)
    bn("bn1", 64)
    inplanes = 64
    for i, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers, strict=True)):
        for j in range(blocks):
            prefix, stride = f"layer{i + 1}.{j}", 2 if i > 0 and j == 0 else 1
            if block == "bottleneck":
                width = int(planes * width_per_group / 64) * groups
                conv(f"{prefix}.conv1", width, inplanes, 1), bn(f"{prefix}.bn1", width)
                conv(f"{prefix}.conv2", width, width // groups, 3), bn(f"{prefix}.bn2", width)
                conv(f"{prefix}.conv3", planes * 4, width, 1), bn(f"{prefix}.bn3", planes * 4)
            else:
                conv(f"{prefix}.conv1", planes, inplanes, 3), bn(f"{prefix}.bn1", planes)
                conv(f"{prefix}.conv2", planes, planes, 3), bn(f"{prefix}.bn2", planes)
            if j == 0 and (stride != 1 or inplanes != planes * expansion):
                first = 1 if timm_d else 0  # timm: downsample = (AvgPool2d or Identity, conv, bn)
                conv(f"{prefix}.downsample.{first}", planes * expansion, inplanes, 1)
                bn(f"{prefix}.downsample.{first + 1}", planes * expansion)
            inplanes = planes * expansion
    spec["fc.weight"], spec["fc.bias"] = (classes, 512 * expansion), (classes,)
    return spec


def write_checkpoint(path, spec, seed=0):
    rng = np.random.default_rng(seed)
    state = {name: rng.uniform(0.5, 1.5, shape).astype("float32") for name, shape in spec.items()}
    state |= {
        name.replace("running_var", "num_batches_tracked"): np.array(7, np.int64)
        for name in spec
        if name.endswith("running_var")
    }
    save_file(state, str(path))
    return state


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_fixture_through_weights_path(fixtures_dir, name):
    reference = np.load(fixtures_dir / f"{name}.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the head fits: no warning
        model = keras_resnet.build(
            name,
            weights=str(fixtures_dir / f"{name}.safetensors"),
            classes=10,
            input_shape=(64, 64, 3),
            classifier_activation=None,
        )
    assert np.abs(model(reference["x"], training=False).numpy() - reference["logits"]).max() < 1e-4


def check_round_trip(tmp_path, build, spec):
    """Load a torchvision-named checkpoint, save it back, and compare every tensor exactly."""
    state = write_checkpoint(tmp_path / "in.safetensors", spec)
    model = build(weights=str(tmp_path / "in.safetensors"), input_shape=(32, 32, 3))
    keras_resnet.save_torchvision(model, tmp_path / "out.safetensors")
    back = load_file(tmp_path / "out.safetensors")
    assert set(back) == set(state)
    for name, value in state.items():
        if not name.endswith("num_batches_tracked"):
            np.testing.assert_array_equal(back[name], value, err_msg=name)
    return model


@pytest.mark.parametrize(
    "name, depth, groups, width",
    [
        ("resnet34", 34, 1, 64),
        ("resnext50_32x4d", 50, 32, 4),
        # A real-size wide net (68.9M parameters): behind the marker, as the deeper ones.
        pytest.param("wide_resnet50_2", 50, 1, 128, marks=pytest.mark.slow),
        pytest.param("resnet101", 101, 1, 64, marks=pytest.mark.slow),
        pytest.param("resnet152", 152, 1, 64, marks=pytest.mark.slow),
        pytest.param("resnet200", 200, 1, 64, marks=pytest.mark.slow),
        pytest.param("resnext101_32x8d", 101, 32, 8, marks=pytest.mark.slow),
        pytest.param("wide_resnet101_2", 101, 1, 128, marks=pytest.mark.slow),
    ],
)
def test_torchvision_checkpoints_of_every_depth(tmp_path, name, depth, groups, width):
    check_round_trip(tmp_path, keras_resnet.MODELS[name], torchvision_spec(depth, groups, width))


@pytest.mark.parametrize("depth", [18, 50])
def test_timm_resnet_d_checkpoints(tmp_path, depth):
    model = check_round_trip(
        tmp_path,
        lambda **kw: keras_resnet.build(f"resnet{depth}", variant="v1d", **kw),
        torchvision_spec(depth, timm_d=True),
    )
    assert model.get_layer("conv1_1_conv").kernel.shape == (3, 3, 3, 32)


def test_round_trip_gives_identical_outputs(tmp_path):
    model = keras_resnet.ResNet18(classes=10, input_shape=(64, 64, 3))
    model(images(size=64), training=True)  # move the BatchNorm statistics
    keras_resnet.save_torchvision(model, tmp_path / "ours.safetensors")
    loaded = keras_resnet.ResNet18(
        classes=10, input_shape=(64, 64, 3), weights=str(tmp_path / "ours.safetensors")
    )
    np.testing.assert_array_equal(
        loaded(images(size=64), training=False).numpy(),
        model(images(size=64), training=False).numpy(),
    )
    assert load_file(tmp_path / "ours.safetensors")["layer1.0.conv1.weight"].shape == (
        64,
        64,
        3,
        3,
    )  # OIHW


def write_keras_applications(path, model):
    """The Keras 2 HDF5 layout of keras.applications' published weight files."""
    with h5py.File(path, "w") as file:
        legacy_h5_format.save_weights_to_hdf5_group(file, model)


@pytest.mark.parametrize(
    "reference, builder, variant",
    [
        (keras.applications.ResNet50, keras_resnet.ResNet50, "v1"),
        (keras.applications.ResNet50V2, keras_resnet.ResNet50, "v2"),
        pytest.param(
            keras.applications.ResNet101, keras_resnet.ResNet101, "v1", marks=pytest.mark.slow
        ),
        pytest.param(
            keras.applications.ResNet152, keras_resnet.ResNet152, "v1", marks=pytest.mark.slow
        ),
        pytest.param(
            keras.applications.ResNet101V2, keras_resnet.ResNet101, "v2", marks=pytest.mark.slow
        ),
        pytest.param(
            keras.applications.ResNet152V2, keras_resnet.ResNet152, "v2", marks=pytest.mark.slow
        ),
    ],
)
@pytest.mark.parametrize("include_top", [True, False])
def test_keras_applications_files(tmp_path, reference, builder, variant, include_top):
    theirs = randomise_vectors(
        reference(weights=None, include_top=include_top, input_shape=(64, 64, 3))
    )
    path = tmp_path / ("top.h5" if include_top else "notop.h5")
    write_keras_applications(path, theirs)
    ours = builder(
        weights=str(path), variant=variant, include_top=include_top, input_shape=(64, 64, 3)
    )
    x = images(size=64)
    expected = theirs(x, training=False).numpy()
    # With the top: probabilities, to 1e-5. Without: raw feature maps (values up to ~5 here),
    # to 1e-5 of their scale: float32 rounding of the fused BatchNorm kernel (~4e-7 relative).
    assert np.abs(ours(x, training=False).numpy() - expected).max() < 1e-5 * max(
        1.0, np.abs(expected).max()
    )


def test_notop_file_into_a_model_with_top_starts_a_fresh_head(tmp_path):
    theirs = randomise_vectors(
        keras.applications.ResNet50(weights=None, include_top=False, input_shape=(64, 64, 3))
    )
    write_keras_applications(tmp_path / "notop.h5", theirs)
    with pytest.warns(
        UserWarning,
        match=naming("classifier 'predictions' starts fresh", "the file has no classifier"),
    ):
        ours = keras_resnet.ResNet50(
            weights=str(tmp_path / "notop.h5"), variant="v1", classes=3, input_shape=(64, 64, 3)
        )
    backbone = keras.Model(ours.input, ours.get_layer("conv5_block3_out").output)
    expected = theirs(images(size=64), training=False).numpy()
    assert (
        np.abs(backbone(images(size=64), training=False).numpy() - expected).max()
        < 1e-5 * np.abs(expected).max()
    )


def test_other_class_count_loads_backbone_and_warns(fixtures_dir):
    path = str(fixtures_dir / "resnet18.safetensors")
    with pytest.warns(UserWarning, match=naming("classifier has 10 classes", "the model's 4")):
        model = keras_resnet.ResNet18(weights=path, classes=4, input_shape=(64, 64, 3))
    reference = keras_resnet.ResNet18(weights=path, classes=10, input_shape=(64, 64, 3))
    np.testing.assert_array_equal(
        model.get_layer("conv5_block2_2_bn").gamma.numpy(),
        reference.get_layer("conv5_block2_2_bn").gamma.numpy(),
    )
    assert model.get_layer("predictions").kernel.shape == (512, 4)
    assert not model.get_layer("predictions").bias.numpy().any()  # fresh: zeros, not the file's
    with pytest.warns(UserWarning, match="the model has no classifier"):
        keras_resnet.ResNet18(weights=path, include_top=False)


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda s: s.pop("layer4.1.bn2.running_var"),
            naming("missing tensors ['layer4.1.bn2.running_var']", "unexpected tensors none"),
        ),
        (
            lambda s: s.update({"layer5.0.conv1.weight": np.zeros((1, 1, 1, 1), "float32")}),
            naming("missing tensors none", "unexpected tensors ['layer5.0.conv1.weight']"),
        ),
        (
            lambda s: s.update({"layer1.0.conv1.weight": np.zeros((64, 64, 1, 1), "float32")}),
            naming(
                "tensors ['layer1.0.conv1.weight']",
                "layer 'conv2_block1_1_conv'",
                "[(1, 1, 64, 64)]",
                "expects [(3, 3, 64, 64)]",
            ),
        ),
    ],
)
def test_bad_tensors_are_named_and_nothing_is_loaded(tmp_path, change, message):
    state = write_checkpoint(tmp_path / "ok.safetensors", torchvision_spec(18, classes=10))
    change(state)
    save_file(state, str(tmp_path / "bad.safetensors"))
    model = keras_resnet.ResNet18(classes=10, input_shape=(32, 32, 3))
    before = [w.numpy() for w in model.weights]
    with pytest.raises(ValueError, match=message):
        weights_lib.load_weights(model, tmp_path / "bad.safetensors")
    for weight, value in zip(model.weights, before, strict=True):
        np.testing.assert_array_equal(weight.numpy(), value)


def test_other_depth_and_variant_are_rejected(tmp_path, fixtures_dir):
    with pytest.raises(ValueError, match=naming("missing tensors ['layer1.2.bn1.bias'")):
        keras_resnet.ResNet34(weights=str(fixtures_dir / "resnet18.safetensors"))
    write_checkpoint(tmp_path / "resnet18d.safetensors", torchvision_spec(18, timm_d=True))
    with pytest.raises(
        ValueError, match=naming("unexpected tensors ['conv1.0.weight'", "variant='v1d'")
    ):
        keras_resnet.ResNet18(weights=str(tmp_path / "resnet18d.safetensors"))
    write_keras_applications(
        tmp_path / "v2.h5", keras.applications.ResNet50V2(weights=None, input_shape=(64, 64, 3))
    )
    with pytest.raises(
        ValueError,
        match=naming(
            "layers missing from the file ['conv1_bn'", "the model lacks ['conv2_block1_preact_bn'"
        ),
    ):
        keras_resnet.ResNet50(
            weights=str(tmp_path / "v2.h5"), variant="v1", input_shape=(64, 64, 3)
        )


def test_corrupt_truncated_and_pickled_files(tmp_path, fixtures_dir):
    data = (fixtures_dir / "resnet18.safetensors").read_bytes()
    (tmp_path / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(
        ValueError,
        match=naming("Cannot read", "truncated.safetensors as safetensors", "corrupt or truncated"),
    ):
        keras_resnet.ResNet18(weights=str(tmp_path / "truncated.safetensors"), classes=10)
    (tmp_path / "garbage.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(ValueError, match=naming("Cannot read", "garbage.h5 as HDF5")):
        keras_resnet.ResNet50(weights=str(tmp_path / "garbage.h5"), variant="v1")
    (tmp_path / "model.pth").write_bytes(b"\x80\x02pickle")
    with pytest.raises(ValueError, match=naming("must not be a PyTorch pickle", "safetensors")):
        keras_resnet.ResNet18(weights=str(tmp_path / "model.pth"))
    missing = tmp_path / "missing.safetensors"
    with pytest.raises(
        ValueError, match=naming("`weights`", f"weights='{missing}'", "does not exist")
    ):
        keras_resnet.ResNet18(weights=str(tmp_path / "missing.safetensors"))


@pytest.mark.parametrize(
    "other",
    [
        dict(block="basic", stage_sizes=(1, 1, 1, 1), filters=8),  # Keras raises
        dict(
            block="basic", stage_sizes=(2, 2, 2, 2), filters=64, se_ratio=0.25
        ),  # Keras only warns
    ],
)
def test_keras_weights_files_restore_the_model_when_they_do_not_fit(tmp_path, other):
    keras_resnet.ResNet(**other, classes=5, input_shape=(32, 32, 3)).save_weights(
        tmp_path / "other.weights.h5"
    )
    model = keras_resnet.ResNet18(classes=5, input_shape=(32, 32, 3))
    before = [w.numpy() for w in model.weights]
    with pytest.raises(
        ValueError, match=naming("Cannot load", "other.weights.h5", "into model 'resnet18'")
    ):
        weights_lib.load_weights(model, tmp_path / "other.weights.h5")
    for weight, value in zip(model.weights, before, strict=True):
        np.testing.assert_array_equal(weight.numpy(), value)
    model.save_weights(tmp_path / "same.weights.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        keras_resnet.ResNet18(
            classes=5, input_shape=(32, 32, 3), weights=str(tmp_path / "same.weights.h5")
        )


@pytest.fixture
def served(tmp_path, fixtures_dir, monkeypatch):
    """A published entry whose URL is a local file, served through the real download code."""
    source = fixtures_dir / "resnet18.safetensors"
    sha256 = hashlib.sha256(source.read_bytes()).hexdigest()

    def publish(file_hash):
        spec = local_weights(source, file_hash)
        monkeypatch.setitem(weights_lib.PUBLISHED, ("resnet18", "test:local"), spec)
        monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
        return spec

    return publish, sha256, tmp_path


def test_download_verifies_the_checksum(served, fixtures_dir):
    publish, sha256, tmp_path = served
    spec = publish(sha256)
    path = weights_lib.fetch(spec, cache_dir=str(tmp_path / "cache"))
    assert (
        path.startswith(str(tmp_path / "cache"))
        and hashlib.sha256(open(path, "rb").read()).hexdigest() == sha256
    )
    reference = np.load(fixtures_dir / "resnet18.npz")
    model = keras_resnet.ResNet18(
        weights="test:local", classes=10, input_shape=(64, 64, 3), classifier_activation=None
    )
    assert np.abs(model(reference["x"], training=False).numpy() - reference["logits"]).max() < 1e-4


def test_download_with_a_wrong_checksum_fails_and_deletes_the_file(served):
    publish, sha256, tmp_path = served
    spec = publish("0" * 64)
    with pytest.raises(
        ValueError,
        match=naming(
            "Checksum mismatch for file://", "expected sha256 " + "0" * 64, f"download has {sha256}"
        ),
    ):
        weights_lib.fetch(spec, cache_dir=str(tmp_path / "cache"))
    assert not any((tmp_path / "cache").rglob("*.safetensors"))


def test_unpinned_download_warns_with_its_hash(served):
    publish, sha256, tmp_path = served
    with pytest.warns(UserWarning, match=naming("No checksum is pinned", f"SHA-256 {sha256}")):
        weights_lib.fetch(publish(None), cache_dir=str(tmp_path / "cache"))


def test_published_names_resolve_and_check_the_variant():
    assert weights_lib.published("resnet50", "imagenet", "v1.5").url.endswith(
        "resnet50.tv2_in1k/resolve/f2a8587ea6b4a3a1d84450bcc2561b07952daae2/model.safetensors"
    )
    resnet18 = weights_lib.published("resnet18", "imagenet", "v1.5")
    assert resnet18.url.endswith(
        "resnet18.tv_in1k/resolve/590dfdd48494d2316a8385e1ca7fbec3b9359b35/model.safetensors"
    )
    assert (resnet18.file_hash, resnet18.crop_pct) == (
        "694f673df6520a3158624e8a89af086f59923ee4cd7436fe5bc3bc71d295ad81",
        0.875,
    )
    assert (
        weights_lib.published("resnet101", "imagenet", "v1.5").crop_pct == 0.965
    )  # V2: 232 -> 224
    keras_v1 = weights_lib.published("resnet50", "imagenet", "v1")
    assert (keras_v1.file_hash, keras_v1.preprocessing) == (
        "2cb95161c43110f7111970584f804107",
        "caffe",
    )
    assert weights_lib.published("resnet101", "imagenet", "v2").notop_url.endswith(
        "resnet101v2_weights_tf_dim_ordering_tf_kernels_notop.h5"
    )
    assert weights_lib.published("resnet50", "imagenet", "v1d").url.endswith(
        "resnet50d.ra2_in1k/resolve/b5aa118ea31ee6b9e8cceff7764d2156c27b54bc/model.safetensors"
    )
    with pytest.raises(
        ValueError,
        match=naming("`variant`", "'v1'", "'keras:imagenet' of resnet50", "variant='v1.5'"),
    ):
        keras_resnet.ResNet50(weights="keras:imagenet")
    with pytest.raises(
        ValueError,
        match=naming("`weights`", "['imagenet', 'keras:imagenet'", "weights='timm:nope'"),
    ):
        keras_resnet.ResNet50(weights="timm:nope")
    with pytest.raises(
        ValueError, match=naming("`weights`", "one of [] for resnet20", "weights='imagenet'")
    ):
        keras_resnet.ResNet20(weights="imagenet")


def test_the_catalogue_is_one_row_per_published_weights():
    """PUBLISHED indexes the catalogue's rows, and is the very dict the builders read (tests add
    rows to it)."""
    assert weights_lib.PUBLISHED is catalogue.PUBLISHED
    assert all(weights_lib.PUBLISHED[row.model, row.tag] is row for row in weights_lib.CATALOGUE)
    publishers = [row.tag.split(":")[0] for row in weights_lib.CATALOGUE]
    assert len(weights_lib.PUBLISHED) == 33 and [
        publishers.count(p) for p in ("torchvision", "timm", "keras")
    ] == [17, 10, 6]
    row = weights_lib.PUBLISHED["resnet101", "timm:ra2_in1k"]
    assert dataclasses.astuple(row) == (
        "resnet101",
        "timm:ra2_in1k",
        "timm resnet101d.ra2_in1k",
        "https://huggingface.co/timm/resnet101d.ra2_in1k/resolve/main/model.safetensors",
        None,
        "c2192596da2e8d652cbf0465b8694704247b524efb68ed194504af453830709c",
        None,
        None,
        "v1d",
        "torch",
        256,
        0.95,
        "bicubic",
        82.31,
    )
    assert row.resize_size == 269


def test_the_catalogue_refuses_a_duplicate_or_inconsistent_row():
    row = weights_lib.PUBLISHED["resnet50", "keras:imagenet"]
    copy = dataclasses.replace(row, url=row.url.replace("resnet50_", "resnet50_copy_"))
    with pytest.raises(
        ValueError,
        match=naming(
            "each (model, tag) once",
            "('resnet50', 'keras:imagenet') twice",
            "resnet50_weights",
            "resnet50_copy_",
        ),
    ):
        weights_lib.build_index([row, copy])
    with pytest.raises(
        ValueError,
        match=naming(
            "`notop_hash`", "MD5", "SHA-256", "notop_hash='4D473C'", "resnet50 'keras:imagenet'"
        ),
    ):
        dataclasses.replace(row, notop_hash="4D473C")
    hub = weights_lib.PUBLISHED["resnet18", "timm:a1_in1k"]
    with pytest.raises(
        ValueError, match=naming("`url`", "pinned revision", "/resolve/" + "0" * 40 + "/")
    ):
        dataclasses.replace(hub, revision="0" * 40)
    with pytest.raises(TypeError, match="positional"):  # a row cannot shift into other columns
        weights_lib.PublishedWeights(*dataclasses.astuple(hub))


def test_readme_fine_tuning_recipe(fixtures_dir):
    """The fine-tuning recipe of docs/weights.md, on the torchvision fixture: the frozen phase
    trains the head only."""
    with pytest.warns(UserWarning, match="starts fresh"):
        model = keras_resnet.ResNet18(
            weights=str(fixtures_dir / "resnet18.safetensors"),
            classes=3,
            input_shape=(64, 64, 3),
            include_preprocessing=True,
        )
    pixels = np.random.default_rng(0).uniform(0, 255, (4, 64, 64, 3)).astype("float32")
    labels = np.array([0, 1, 2, 1])
    backbone_before = [w.numpy() for w in model.weights if not w.path.startswith("predictions")]
    head_before = model.get_layer("predictions").kernel.numpy()
    for layer in model.layers[:-1]:
        layer.trainable = False
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    model.fit(pixels, labels, epochs=1, batch_size=4, verbose=0)
    # Frozen BatchNorm ran in inference mode: not even its moving statistics moved.
    for weight, before in zip(
        [w for w in model.weights if not w.path.startswith("predictions")],
        backbone_before,
        strict=False,
    ):
        np.testing.assert_array_equal(weight.numpy(), before)
    assert np.abs(model.get_layer("predictions").kernel.numpy() - head_before).max() > 0
    for layer in model.layers:
        layer.trainable = True
    model.compile(keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy")
    model.fit(pixels, labels, epochs=1, batch_size=4, verbose=0)
    assert np.abs(model.get_layer("conv1_conv").kernel.numpy() - backbone_before[0]).max() > 0


def test_weights_from_a_keras_file(tmp_path):
    tiny = dict(stage_sizes=(1, 1, 1, 1), filters=8, input_shape=(32, 32, 3), classes=5)
    model = keras_resnet.ResNet("basic", **tiny)
    path = tmp_path / "tiny.weights.h5"
    model.save_weights(path)
    loaded = keras_resnet.ResNet("basic", weights=str(path), **tiny)
    x = images()
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())


def test_weight_files_of_integers_are_refused(tmp_path):
    model = keras_resnet.ResNet18(classes=3, input_shape=(32, 32, 3))
    state = {
        name: np.ones(
            layer.weights[index].shape[::-1] if layout == "conv" else layer.weights[index].shape,
            np.int64,
        )
        for name, (layer, index, layout) in weights_lib.torchvision_arrays(model).items()
    }
    save_file(state, str(tmp_path / "ints.safetensors"))
    with pytest.raises(
        ValueError,
        match=naming(
            "ints.safetensors", re.compile(r"tensor '[\w.]+' has dtype int64"), "floating-point"
        ),
    ):
        keras_resnet.ResNet18(
            classes=3, input_shape=(32, 32, 3), weights=str(tmp_path / "ints.safetensors")
        )


def test_offline_downloads_say_how_to_load_a_local_file(tmp_path):
    spec = weights_lib.PublishedWeights(
        model="resnet18",
        tag="test:offline",
        source="a server that is not there",
        url="http://127.0.0.1:9/resnet18.safetensors",
        file_hash="a" * 64,
        variant="v1.5",
        preprocessing="torch",
    )
    with pytest.raises(
        ConnectionError,
        match=naming(
            "Cannot download http://127.0.0.1:9/resnet18.safetensors",
            "Offline?",
            "resnet18.safetensors (its sha256: " + "a" * 64 + ")",
            "weights='/path/to/resnet18.safetensors'",
        ),
    ):
        weights_lib.fetch(spec, cache_dir=str(tmp_path))


def test_a_damaged_cached_file_is_fetched_again(tmp_path, fixtures_dir, monkeypatch):
    source = fixtures_dir / "resnet18.safetensors"
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    for pinned in (None, hashlib.sha256(source.read_bytes()).hexdigest()):
        spec = local_weights(source, pinned)
        monkeypatch.setitem(weights_lib.PUBLISHED, ("resnet18", "test:local"), spec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unpinned: the file's hash is printed
            cached = weights_lib.fetch(spec)
            with open(cached, "r+b") as file:  # an interrupted copy
                file.truncate(1000)
            model = keras_resnet.ResNet18(
                weights="test:local",
                classes=10,
                input_shape=(64, 64, 3),
                classifier_activation=None,
            )
        reference = np.load(fixtures_dir / "resnet18.npz")
        assert (
            np.abs(model(reference["x"], training=False).numpy() - reference["logits"]).max() < 1e-4
        )
        assert os.path.getsize(cached) == os.path.getsize(source)


def test_hub_weights_are_pinned_to_a_revision_and_a_checksum():
    hub = {key: spec for key, spec in weights_lib.PUBLISHED.items() if "huggingface.co" in spec.url}
    pinned = [spec for spec in hub.values() if "/resolve/main/" not in spec.url]
    assert len(hub) == 27 and len(pinned) == 20
    assert all(re.search(r"/resolve/[0-9a-f]{40}/model.safetensors$", spec.url) for spec in pinned)
    hashed = [spec for spec in hub.values() if spec.file_hash]
    assert len(hashed) == 17 and all(
        re.fullmatch(r"[0-9a-f]{64}", spec.file_hash) for spec in hashed
    )
    keras_files = [
        spec for spec in weights_lib.PUBLISHED.values() if "huggingface.co" not in spec.url
    ]
    assert keras_files and all(spec.file_hash and spec.notop_hash for spec in keras_files)
