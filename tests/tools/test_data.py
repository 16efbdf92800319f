"""Data (keras_resnet.tools.data): the embedded digits, folders and tfds sources, every file a
folder leaves out named with its reason, the pipelines' recipes, and the evaluation resize and
crop, which equal torchvision's `Resize(s) + CenterCrop(crop)` on real photographs."""

import json
import math
import struct
import warnings
import zlib

import numpy as np
import pytest
from helpers import assert_naming, image_folder, naming
from PIL import Image
from sklearn.datasets import load_sample_images

from keras_resnet.tools import data as data_lib
from keras_resnet.tools._tensorflow import tf
from keras_resnet.tools.train import TrainConfig, train

FORMATS = "JPEG, PNG, GIF, BMP, WEBP"  # the formats read, as the messages list them

PIL_FILTERS = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}


def torchvision_eval(
    image: Image.Image, crop: int, crop_pct: float, interpolation: str
) -> np.ndarray:
    """torchvision.transforms' Resize(int) + CenterCrop on a PIL image, written out from
    torchvision/transforms/functional.py (`_compute_resized_output_size`, `center_crop`)."""
    size = math.floor(crop / crop_pct + 1e-9)
    width, height = image.size
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    new_width, new_height = (new_short, new_long) if width <= height else (new_long, new_short)
    image = image.resize((new_width, new_height), PIL_FILTERS[interpolation])
    top, left = int(round((new_height - crop) / 2.0)), int(round((new_width - crop) / 2.0))
    return np.asarray(image.crop((left, top, left + crop, top + crop)), np.float32)


@pytest.mark.parametrize(
    "crop, crop_pct, interpolation",
    [
        (224, 0.875, "bilinear"),  # torchvision's V1 weights: 256 -> 224
        (224, 0.965, "bilinear"),  # V2: 232 -> 224
        (224, 0.95, "bicubic"),  # timm's a1_in1k: 235 -> 224
        (32, 1.0, "bilinear"),  # predict --resize for a CIFAR model
    ],
)
def test_resize_and_center_crop_equals_torchvision(crop, crop_pct, interpolation):
    for photo in load_sample_images().images:  # 427x640 (china.jpg, flower.jpg): non-square, real
        ours = data_lib.resize_and_center_crop(
            tf.constant(photo), (crop, crop), crop_pct=crop_pct, interpolation=interpolation
        ).numpy()
        theirs = torchvision_eval(Image.fromarray(photo), crop, crop_pct, interpolation)
        assert ours.shape == theirs.shape == (crop, crop, 3)
        assert np.abs(ours - theirs).mean() < 1.0  # under one pixel level on average


def test_the_old_stretching_resize_does_not_equal_torchvision():
    """Resizing both sides to 8/7 (the recipe before) distorts a 427x640 photo: the test can
    tell."""
    photo = load_sample_images().images[0]
    stretched = tf.image.resize(photo.astype("float32"), (256, 256))[16:240, 16:240].numpy()
    theirs = torchvision_eval(Image.fromarray(photo), 224, 0.875, "bilinear")
    assert np.abs(stretched - theirs).mean() > 10


def test_the_imagenet_recipe_evaluates_with_the_weights_crop(tmp_path):
    dataset = tf.data.Dataset.from_tensor_slices((load_sample_images().images, [0, 1]))
    batch, _ = next(
        iter(
            data_lib.pipeline(
                dataset,
                training=False,
                batch_size=2,
                recipe="imagenet",
                image_size=(224, 224),
                crop_pct=0.965,
            )
        )
    )
    expected = torchvision_eval(
        Image.fromarray(load_sample_images().images[1]), 224, 0.965, "bilinear"
    )
    assert batch.shape == (2, 224, 224, 3) and np.abs(batch[1].numpy() - expected).mean() < 1.0
    with pytest.raises(ValueError, match=naming("`crop_pct`", "(0, 1]", "crop_pct=1.2")):
        data_lib.resize_and_center_crop(tf.zeros((8, 8, 3)), (4, 4), crop_pct=1.2)


def huge_png_header(width, height):
    """A PNG that claims width x height pixels in a few dozen bytes (a decompression bomb's
    header)."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_a_damaged_folder_trains_and_names_every_file_it_leaves_out(tmp_path):
    root = image_folder(tmp_path / "data", per_class=8)
    cat, dog = root / "train" / "cat", root / "train" / "dog"
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, (64, 64, 3), np.uint8)
    jpeg = tf.io.encode_jpeg(noise).numpy()
    (cat / "0000-truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])  # sorts first
    (cat / "random.jpg").write_bytes(rng.bytes(2000))
    (dog / "huge.png").write_bytes(huge_png_header(20000, 20000))
    Image.fromarray(noise[:12, :12]).save(dog / "scan.tiff")
    Image.fromarray(noise[:24, :24]).save(cat / "larger.png")  # another size: the run's, resized
    Image.fromarray(noise[:12, :12]).save(cat / "photo.webp")
    Image.fromarray(noise[:12, :12]).convert("CMYK").save(dog / "print.jpg")
    Image.fromarray(noise[:12, :12]).save(dog / "anim.gif")
    Image.fromarray(noise[:12, :12]).save(dog / "old.bmp")
    run = tmp_path / "run"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(
            TrainConfig(
                data=str(root),
                recipe="cifar",
                epochs=1,
                batch_size=4,
                out=str(run),
                export=None,
                verbose=0,
            )
        )
    assert json.load(open(run / "state.json"))["epoch"] == 1
    assert json.load(open(run / "config.json"))["image_size"] == [12, 12]  # the most common size
    lines = (run / "skipped_files.txt").read_text().splitlines()
    reasons = dict(line.split(": ", 1) for line in lines)  # one line a file: "<path>: <reason>"
    expected = {
        cat / "random.jpg": ("not an image file", "header is damaged", FORMATS),
        dog / "huge.png": ("178,956,970 pixels", "limit is 89,478,485"),
        dog / "scan.tiff": ("TIFF", f"not one of {FORMATS}"),
        cat / "0000-truncated.jpg": ("cannot be decoded", "truncated or corrupt"),
    }
    assert len(lines) == 4 and sorted(reasons) == sorted(str(path) for path in expected)
    for path, words in expected.items():
        assert_naming(reasons[str(path)], *words)
    messages = [str(w.message) for w in caught]
    assert [m for m in messages if m.startswith(f"{root / 'train'}: 4 file(s) will not be used: ")]
    assert not [m for m in messages if "ran out of data" in m]
    assert (
        json.load(open(run / "config.json"))["identity"]["train_examples"] == 16 + 5
    )  # 8 + 8, and five good extras


def test_an_empty_class_is_an_error(tmp_path):
    root = image_folder(tmp_path / "data")
    (root / "train" / "eel").mkdir()
    (root / "train" / "eel" / "notes.txt").write_text("nothing to see")
    with pytest.raises(ValueError, match=naming("class folder(s) ['eel']", "no usable image")):
        data_lib.load(str(root), "train")


def test_data_sources_that_cannot_be_read_are_named(tmp_path):
    (tmp_path / "notes.txt").write_text("not a data set")
    with pytest.raises(
        ValueError,
        match=naming(
            "`source`", "'digits'", "a folder", "tfds name", f"source='{tmp_path / 'notes.txt'}'"
        ),
    ):
        data_lib.load(str(tmp_path / "notes.txt"), "train")
    with pytest.raises(
        ValueError,
        match=naming("`split`", "'train' or 'test'", "digits", "split='validation'"),
    ):
        data_lib.load("digits", "validation")


def test_embedded_digits():
    train_set, info = data_lib.load("digits", "train")
    test_set, _ = data_lib.load("digits", "test")
    assert (info.num_classes, info.image_shape, info.splits) == (
        10,
        (8, 8, 3),
        {"train": 1437, "test": 360},
    )
    images, labels = next(iter(train_set.batch(1437)))
    assert (
        images.shape == (1437, 8, 8, 3)
        and images.dtype == tf.uint8
        and int(tf.reduce_max(images)) == 255
    )
    assert min(np.bincount(labels.numpy())) == 130  # every digit present (fixed split)
    assert len(list(test_set)) == 360


def test_folder_reports_and_skips_unreadable_files(tmp_path):
    image_folder(tmp_path)
    (tmp_path / "train" / "cat" / "notes.jpg").write_text(
        "not an image"
    )  # wrong format: reported, skipped
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    jpeg = tf.io.encode_jpeg(noise).numpy()
    (tmp_path / "train" / "dog" / "truncated.jpg").write_bytes(
        jpeg[: len(jpeg) // 2]
    )  # a header, half the data
    with pytest.warns(UserWarning) as caught:
        dataset, info = data_lib.load(str(tmp_path), "train")
    [warning] = [str(w.message) for w in caught]
    assert warning.startswith(f"{tmp_path / 'train'}: 2 file(s) will not be used: ")
    assert_naming(
        warning,
        f"{tmp_path / 'train' / 'cat' / 'notes.jpg'}: not an image file",
        FORMATS,
        f"{tmp_path / 'train' / 'dog' / 'truncated.jpg'}: cannot be decoded",
        "truncated or corrupt",
    )
    assert [path for path, _ in info.skipped] == [
        str(tmp_path / "train" / "cat" / "notes.jpg"),
        str(tmp_path / "train" / "dog" / "truncated.jpg"),
    ]
    assert info.class_names == ("cat", "dog") and info.image_shape == (12, 12, 3)
    assert int(dataset.cardinality()) == 12  # known: fit never runs "out of data"
    labels = [int(label) for _, label in dataset]
    assert sorted(labels) == [0] * 6 + [1] * 6
    with pytest.raises(ValueError, match=naming("`split`", "name a folder", "split='val'")):
        data_lib.load(str(tmp_path), "val")


@pytest.mark.parametrize(
    "recipe, training, size, shape",
    [
        ("cifar", True, (12, 12), (4, 12, 12, 3)),
        ("imagenet", True, (10, 10), (4, 10, 10, 3)),
        ("imagenet", False, (10, 10), (4, 10, 10, 3)),
        ("none", False, (12, 12), (4, 12, 12, 3)),
    ],
)
def test_pipeline_recipes(tmp_path, recipe, training, size, shape):
    image_folder(tmp_path)
    dataset, _ = data_lib.load(str(tmp_path), "train")
    pipeline = data_lib.pipeline(
        dataset, training=training, batch_size=4, recipe=recipe, image_size=size, seed=0
    )
    assert (
        tuple(pipeline.element_spec[0].shape[1:]) == shape[1:]
    )  # static: a Functional model needs the channels
    batches = list(pipeline)
    assert batches[0][0].shape == shape and batches[0][0].dtype == tf.float32
    assert len(batches) == 3  # 12 images: training drops no remainder here
    assert all(
        float(tf.reduce_min(b[0])) >= 0 and float(tf.reduce_max(b[0])) <= 255 for b in batches
    )


def test_training_drops_the_last_partial_batch():
    dataset = tf.data.Dataset.from_tensor_slices(
        (np.zeros((10, 8, 8, 3), "uint8"), np.zeros(10, "int32"))
    )
    sizes = [int(x.shape[0]) for x, _ in data_lib.pipeline(dataset, training=True, batch_size=4)]
    assert sizes == [4, 4]
    sizes = [int(x.shape[0]) for x, _ in data_lib.pipeline(dataset, training=False, batch_size=4)]
    assert sizes == [4, 4, 2]


def test_tfds_source_through_tfds_reader():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=6):
        dataset, info = data_lib.load("cifar10", "train", download=False)
        images, labels = next(iter(dataset.batch(6)))
    assert (
        info.num_classes == 10
        and info.image_shape == (32, 32, 3)
        and images.shape == (6, 32, 32, 3)
    )


def crops_and_flips(image, padding=4):
    """Every output the CIFAR recipe may make of `image`: (top, left, flipped) -> pixels."""
    height, width = image.shape[:2]
    padded = np.pad(image, [(padding, padding), (padding, padding), (0, 0)])
    return {
        (top, left, flipped): crop[:, ::-1] if flipped else crop
        for top in range(2 * padding + 1)
        for left in range(2 * padding + 1)
        for flipped in (False, True)
        for crop in [padded[top : top + height, left : left + width]]
    }


def test_cifar_crop_and_flip_draws_each_image_its_own_crop_and_flip():
    """Each output is one of the 81 crops of the zero-padded image, flipped or not, drawn per
    image: over 2,048 copies of one image every one of the 162 outcomes occurs, each about
    1/162 of the time, with no pixel but the image's own and the padding's zeros."""
    image = np.arange(1, 8 * 8 * 3 + 1, dtype="float32").reshape(8, 8, 3)  # every pixel distinct
    tf.random.set_seed(0)
    outputs = data_lib.cifar_crop_and_flip(tf.constant(np.stack([image] * 2048))).numpy()
    candidates = crops_and_flips(image)
    counts = dict.fromkeys(candidates, 0)
    for output in outputs:
        (match,) = [key for key, crop in candidates.items() if np.array_equal(crop, output)]
        counts[match] += 1
    assert min(counts.values()) >= 3 and max(counts.values()) <= 30  # 12.6 expected; binomial
    flipped = sum(count for (_, _, flip), count in counts.items() if flip)
    assert 900 < flipped < 1148  # 1,024 expected, +-5.5 standard deviations


def test_the_cifar_recipe_crops_each_image_of_a_folder_and_keeps_its_label(tmp_path):
    """The batched recipe on a real folder (uint8 PNGs, decoded once into the cache): each
    training image is a crop-and-flip of the one its label came with, as float32 pixels."""
    image_folder(tmp_path)  # 12 12x12 PNGs of noise
    dataset, _ = data_lib.load(str(tmp_path), "train")
    originals = {int(label): [] for _, label in dataset}
    for image, label in dataset:
        originals[int(label)].append(image.numpy().astype("float32"))
    batches = data_lib.pipeline(
        dataset, training=True, batch_size=4, recipe="cifar", image_size=(12, 12), seed=0
    )
    seen = 0
    for images, labels in batches:
        assert images.dtype == tf.float32
        for image, label in zip(images.numpy(), labels.numpy(), strict=True):
            options = [c for o in originals[int(label)] for c in crops_and_flips(o).values()]
            assert any(np.array_equal(image, option) for option in options)
            seen += 1
    assert seen == 12
