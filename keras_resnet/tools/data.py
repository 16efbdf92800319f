"""Data: (image, label) `tf.data.Dataset`s from tensorflow-datasets, image folders, or the
embedded default, and the augmentation recipes that feed training.

Images leave this module as float32 RGB pixels in [0, 255]; the models normalise them
themselves (`include_preprocessing=True`), so that what is trained is what gets exported.
"""

import collections
import dataclasses
import hashlib
import math
import os
import warnings

import numpy as np

from keras_resnet.tools._tensorflow import tf
from keras_resnet.tools.config import EMBEDDED, RECIPES

AUTOTUNE = tf.data.AUTOTUNE
# What `tf.io.decode_image` reads (TIFF it cannot), everywhere: folders and `predict`.
IMAGE_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "WEBP")
# PIL's decompression-bomb limit. Headers are read first: a 20000x20000 PNG (1.2 MB on disk)
# would decode to 1.2 GB, and TensorFlow's decoder took 7 GB for it before failing.
MAX_PIXELS = 89_478_485
SHOWN = 10  # skipped files named in a warning; all of them go to the run folder's skipped_files.txt


@dataclasses.dataclass(frozen=True)
class DataInfo:
    """What the training code needs to know about a data set.

    Attributes:
        image_shape: (height, width, 3) of the images, the most common one where they differ.
        splits: split name -> number of examples used.
        skipped: (path, reason) of each file of a folder that is not used.
        fingerprint: a folder's SHA-256 of its used files' names and sizes (None for others):
            the same data wherever the folder lies, and other data once a file changes.
    """

    name: str
    class_names: tuple[str, ...]
    image_shape: tuple
    splits: dict
    skipped: tuple = ()
    fingerprint: str | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def _embedded(split: str, seed: int = 0):
    """scikit-learn's bundled 8x8 handwritten digits (1,797 real images, no download),
    split 80/20 with a fixed permutation, as RGB pixels in [0, 255]."""
    from sklearn.datasets import load_digits

    if split not in ("train", "test"):
        raise ValueError(
            f"`split` must be 'train' or 'test' for the embedded digits; received split={split!r}."
        )
    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.target))
    cut = int(0.8 * len(order))
    index = {"train": order[:cut], "test": order[cut:]}[split]
    images = np.repeat(digits.images[index, :, :, None] * (255.0 / 16.0), 3, axis=-1).astype(
        "uint8"
    )
    labels = digits.target[index].astype("int32")
    info = DataInfo(
        EMBEDDED,
        tuple(str(d) for d in range(10)),
        (8, 8, 3),
        {"train": cut, "test": len(order) - cut},
    )
    return tf.data.Dataset.from_tensor_slices((images, labels)), info


def inspect_image(path: str) -> tuple[int, int]:
    """(height, width) of an image file the tools can read, from its header alone.

    Raises:
        ValueError: why it cannot be used: not an image, a format of another kind than
            `IMAGE_FORMATS`, or more than `MAX_PIXELS` pixels.
    """
    from keras_resnet.tools import require

    image_module = require("PIL.Image", "train")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", image_module.DecompressionBombWarning)
            with image_module.open(path) as image:
                kind, (width, height) = image.format, image.size
    except image_module.DecompressionBombError:
        raise ValueError(
            f"more than {2 * MAX_PIXELS:,} pixels (the limit is {MAX_PIXELS:,})"
        ) from None
    except (OSError, SyntaxError, ValueError):
        raise ValueError(
            f"not an image file, or one whose header is damaged ({', '.join(IMAGE_FORMATS)})"
        ) from None
    kind = "JPEG" if kind == "MPO" else kind  # cameras' multi-picture JPEGs
    if kind not in IMAGE_FORMATS:
        raise ValueError(f"{kind} is not one of {', '.join(IMAGE_FORMATS)}")
    if width * height > MAX_PIXELS:
        raise ValueError(
            f"{width}x{height} is {width * height:,} pixels, more than the limit of {MAX_PIXELS:,}"
        )
    return height, width


def decode(path):
    """An image file as uint8 RGB (grey and RGBA converted, a GIF's first frame)."""
    return tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)


def _decoded_sizes(paths) -> dict:
    """path -> (height, width) of every file TensorFlow decodes; a truncated or corrupt file is
    missing. One parallel decode pass (2.8 s of the 8 s that all checks of CIFAR-10's 50,000
    training JPEGs take on 2 cores: benchmarks/data_check_speed.py)."""
    dataset = tf.data.Dataset.from_tensor_slices(paths).map(
        lambda path: (path, tf.shape(decode(path))[:2]),
        num_parallel_calls=AUTOTUNE,
        deterministic=False,
    )
    sizes = {}
    for batch_paths, batch_sizes in dataset.ignore_errors().batch(4096):
        sizes.update(
            zip(
                (path.decode() for path in batch_paths.numpy()),
                map(tuple, batch_sizes.numpy().tolist()),
                strict=False,
            )
        )
    return sizes


def report_skipped(where: str, skipped) -> None:
    """Warns once with the number of unused files and the first `SHOWN` of them, with reasons."""
    if skipped:
        shown = "; ".join(reason for _, reason in skipped[:SHOWN])
        more = f"; and {len(skipped) - SHOWN} more" if len(skipped) > SHOWN else ""
        warnings.warn(
            f"{where}: {len(skipped)} file(s) will not be used: {shown}{more}.", stacklevel=3
        )


def _folder(root: str, split: str):
    """`root/<split>/<class>/<image>`, every file checked before the first step: files the tools
    cannot read (another format, too many pixels, truncated or corrupt) are reported by path with
    their reason and left out; a class with no usable image is an error."""
    split_dir = os.path.join(root, split)
    if not os.path.isdir(split_dir):
        raise ValueError(
            f"`split` must name a folder under {root!r}; "
            f"received split={split!r} ({split_dir} does not exist)."
        )
    class_names = sorted(
        d for d in os.listdir(split_dir) if os.path.isdir(os.path.join(split_dir, d))
    )
    if not class_names:
        raise ValueError(
            f"{split_dir} must hold one folder per class, with images in them; it has none."
        )
    candidates, skipped = [], []
    for label, name in enumerate(class_names):
        for file in sorted(os.listdir(os.path.join(split_dir, name))):
            path = os.path.join(split_dir, name, file)
            if not os.path.isfile(path):
                skipped.append((path, f"{path}: not a file"))
                continue
            try:
                inspect_image(path)
                candidates.append((path, label))
            except ValueError as error:
                skipped.append((path, f"{path}: {error}"))
    sizes = _decoded_sizes([path for path, _ in candidates]) if candidates else {}
    skipped += [
        (path, f"{path}: cannot be decoded (truncated or corrupt)")
        for path, _ in candidates
        if path not in sizes
    ]
    used = [(path, label) for path, label in candidates if path in sizes]
    empty = [
        name
        for label, name in enumerate(class_names)
        if not any(used_label == label for _, used_label in used)
    ]
    if empty:
        raise ValueError(
            f"{split_dir}: the class folder(s) {empty} hold no usable image "
            f"({len(skipped)} file(s) skipped{': ' + skipped[0][1] if skipped else ''}). "
            "Remove them or add images."
        )
    report_skipped(split_dir, skipped)
    shape = (*collections.Counter(sizes[path] for path, _ in used).most_common(1)[0][0], 3)
    paths, labels = zip(*used, strict=True)
    dataset = tf.data.Dataset.from_tensor_slices((list(paths), np.array(labels, "int32")))
    dataset = dataset.map(lambda path, label: (decode(path), label), num_parallel_calls=AUTOTUNE)
    dataset = dataset.apply(
        tf.data.experimental.assert_cardinality(len(paths))
    )  # known: no "ran out of data"
    listing = "".join(
        f"{os.path.relpath(path, split_dir)}:{os.path.getsize(path)}\n" for path in paths
    )
    info = DataInfo(
        os.path.basename(os.path.normpath(root)),
        tuple(class_names),
        shape,
        {split: len(paths)},
        tuple(skipped),
        hashlib.sha256(listing.encode()).hexdigest(),
    )
    return dataset, info


def _tfds(name: str, split: str, data_dir=None, manual_dir=None, download=True):
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=data_dir)
    if download:
        config = tfds.download.DownloadConfig(manual_dir=manual_dir) if manual_dir else None
        builder.download_and_prepare(download_config=config)
    dataset = builder.as_dataset(split=split, as_supervised=True)
    label = builder.info.features["label"]
    image = builder.info.features["image"]
    splits = {key: value.num_examples for key, value in builder.info.splits.items()}
    if split not in splits:
        try:
            splits[split] = builder.info.splits[split].num_examples  # a slice, e.g. "train[:90%]"
        except KeyError:
            pass  # splits not generated (tfds' mock data): the size is unknown
    return dataset, DataInfo(name, tuple(label.names), tuple(image.shape), splits)


def load(source: str, split: str, *, data_dir=None, manual_dir=None, download=True):
    """An (image, label) dataset and its `DataInfo`, from any supported source.

    Args:
        source: "digits" (the embedded default: no download), a folder laid out as
            `source/<split>/<class>/*.jpg|png`, or a tensorflow-datasets name such as
            "cifar10", "cifar100", "imagenette" or "imagenet2012".
        split: "train", "test" (or tfds' names, e.g. "validation").
        data_dir: where tfds keeps prepared data; prepared data is read offline.
        manual_dir: tfds' manual download folder (imagenet2012's tar files).
        download: let tfds download and prepare data that is not prepared yet.

    Images come at their own size; `pipeline` brings them to the run's.

    Example:
        >>> train, info = load("digits", "train")
        >>> info.num_classes
        10
    """
    if source == EMBEDDED:
        return _embedded(split)
    if os.path.isdir(source):
        return _folder(source, split)
    if os.path.exists(source):
        raise ValueError(
            "`source` must be 'digits', a folder (root/<split>/<class>/<image>) or a tfds name; "
            f"received source={source!r}, a file."
        )
    if os.sep in source or source.startswith("."):
        raise ValueError(
            "`source` must be 'digits', an existing folder or a tfds name; "
            f"received source={source!r}, a path that does not exist."
        )
    return _tfds(source, split, data_dir, manual_dir, download)


INTERPOLATIONS = ("bilinear", "bicubic")


def resize_and_center_crop(
    image, image_size, *, crop_pct: float = 0.875, interpolation: str = "bilinear"
):
    """torchvision's evaluation transform, `Resize(s) + CenterCrop(image_size)`, in TensorFlow.

    The shorter side goes to `s = floor(max(image_size) / crop_pct)` and the longer one to
    `int(s * long / short)`, antialiased (as PIL resizes, and with it every published top-1 of
    the weights here), then the center `image_size` is cut out at torchvision's offsets
    (`round((h - crop) / 2)`, halves to even). crop_pct 0.875 is 256 -> 224 (torchvision's V1
    weights), 0.965 is 232 -> 224 (V2); 1.0 only center-crops the shorter side. Pixels stay in
    [0, 255], rounded as an 8-bit image would hold them.

    Example:
        >>> resize_and_center_crop(tf.zeros((480, 640, 3)), (224, 224)).shape
        TensorShape([224, 224, 3])
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"`interpolation` must be one of {INTERPOLATIONS}; "
            f"received interpolation={interpolation!r}."
        )
    if not 0 < crop_pct <= 1:
        raise ValueError(f"`crop_pct` must be in (0, 1]; received crop_pct={crop_pct!r}.")
    crop_height, crop_width = image_size
    resize = math.floor(max(image_size) / crop_pct + 1e-9)  # timm's floor(img_size / crop_pct)
    shape = tf.shape(image)
    height, width = tf.cast(shape[0], tf.float64), tf.cast(shape[1], tf.float64)
    short, long = tf.minimum(height, width), tf.maximum(height, width)
    new_long = tf.cast(
        tf.floor(resize * long / short), tf.int32
    )  # torchvision: int(size * long / short)
    width_is_short = width <= height
    new_height = tf.where(width_is_short, new_long, resize)
    new_width = tf.where(width_is_short, resize, new_long)
    image = tf.image.resize(
        tf.cast(image, tf.float32),
        tf.stack([new_height, new_width]),
        method=interpolation,
        antialias=True,
    )
    image = tf.clip_by_value(tf.round(image), 0, 255)
    top = tf.cast(
        tf.round((new_height - crop_height) / 2), tf.int32
    )  # tf.round: halves to even, as Python's
    left = tf.cast(tf.round((new_width - crop_width) / 2), tf.int32)
    image = image[top : top + crop_height, left : left + crop_width]
    image.set_shape([crop_height, crop_width, image.shape[-1]])
    return image


def augment(
    image,
    *,
    recipe: str,
    training: bool,
    image_size,
    crop_pct: float = 0.875,
    interpolation: str = "bilinear",
):
    """One image's augmentation: "cifar" (4-pixel zero pad, random crop, flip; He et al. 2015),
    "imagenet" (random-resized crop and flip; evaluation: `resize_and_center_crop` with the
    weights' `crop_pct` and `interpolation`) or "none". The cifar and none recipes take images
    of the run's size: any other (a folder may mix them) is first resized, shorter side to the
    run's size, and center-cropped."""
    image = tf.cast(image, tf.float32)
    if recipe != "imagenet":
        image = _to_size(image, image_size)
    if recipe == "cifar" and training:
        return cifar_crop_and_flip(image[None])[0]
    if recipe == "imagenet":
        if training:
            begin, size, _ = tf.image.sample_distorted_bounding_box(
                tf.shape(image),
                tf.zeros((1, 0, 4)),
                area_range=(0.08, 1.0),
                aspect_ratio_range=(3 / 4, 4 / 3),
                max_attempts=10,
                use_image_if_no_bounding_boxes=True,
            )
            crop = tf.slice(image, begin, size)
            crop.set_shape(
                [None, None, image.shape[-1]]
            )  # the slice's size is dynamic, channels too
            image = tf.image.resize(crop, image_size)
            return tf.image.random_flip_left_right(image)
        return resize_and_center_crop(
            image, image_size, crop_pct=crop_pct, interpolation=interpolation
        )
    return image


def _to_size(image, size):
    if tuple(image.shape[:2]) == tuple(size):
        return image
    same = tf.reduce_all(tf.equal(tf.shape(image)[:2], size))
    image = tf.cond(  # resized pixels are whole numbers in [0, 255]: any dtype holds them
        same,
        lambda: image,
        lambda: tf.cast(resize_and_center_crop(image, size, crop_pct=1.0), image.dtype),
    )
    return tf.ensure_shape(image, (*size, image.shape[-1]))


def cifar_crop_and_flip(images, padding: int = 4):
    """He et al.'s CIFAR augmentation of a batch (2015): each image zero-padded by `padding`
    pixels, cut back to its size at a random offset of its own, and flipped left-right with
    probability 1/2; as `tf.image.random_crop` and `random_flip_left_right` do image by image,
    in one gather per axis for the whole batch.

    Example:
        >>> images = tf.reshape(tf.range(2 * 8 * 8 * 3, dtype=tf.float32), (2, 8, 8, 3))
        >>> cifar_crop_and_flip(images).shape
        TensorShape([2, 8, 8, 3])
    """
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    padded = tf.pad(images, [[0, 0], [padding, padding], [padding, padding], [0, 0]])
    top = tf.random.uniform([batch, 1], 0, 2 * padding + 1, dtype=tf.int32)
    left = tf.random.uniform([batch, 1], 0, 2 * padding + 1, dtype=tf.int32)
    flip = tf.random.uniform([batch, 1]) < 0.5
    rows = top + tf.range(height)
    columns = left + tf.where(flip, tf.range(width - 1, -1, -1), tf.range(width))
    images = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(images, columns, axis=2, batch_dims=1)


def pipeline(
    dataset,
    *,
    training: bool,
    batch_size: int,
    recipe: str = "none",
    image_size=None,
    cache: bool = True,
    seed: int | None = None,
    shuffle_buffer: int = 50_000,
    crop_pct: float = 0.875,
    interpolation: str = "bilinear",
):
    """Batches a dataset for `model.fit`: cache, shuffle, parallel augmentation, prefetch. The
    cifar and none recipes augment whole batches (`cifar_crop_and_flip`); imagenet, image by
    image.

    `crop_pct` and `interpolation` set the imagenet recipe's evaluation transform
    (`resize_and_center_crop`); use the weights' own (`PublishedWeights.crop_pct`).

    Training batches drop the remainder: every step sees a full global batch, and oneDNN's
    crash (a double free) computing the weight gradient of a 1x1 stride-2 convolution with
    fewer than 16 input channels at an odd batch size cannot trigger.
    """
    if recipe not in RECIPES:
        raise ValueError(f"`recipe` must be one of {RECIPES}; received recipe={recipe!r}.")
    size = tuple(image_size) if image_size else None

    def to_size(image, label):  # the cifar and none recipes: deterministic, so before the cache
        return _to_size(image, size or tuple(image.shape[:2])), label  # in its dtype (uint8)

    def prepare(image, label):  # the imagenet recipe: image by image
        return augment(
            image,
            recipe=recipe,
            training=training,
            image_size=size or tuple(image.shape[:2]),
            crop_pct=crop_pct,
            interpolation=interpolation,
        ), label

    def prepare_batch(images, labels):  # the cifar and none recipes: batch by batch
        images = tf.cast(images, tf.float32)
        if recipe == "cifar" and training:
            images = cifar_crop_and_flip(images)
        return images, labels

    # A map called image by image costs more than the augmentation itself: the cifar and none
    # recipes have none after the cache. Their CIFAR-10 training pipeline takes 1.0 CPU s per
    # epoch on 2 cores, against 4.0 image by image (benchmarks/pipeline_speed.py).
    order = dict(num_parallel_calls=AUTOTUNE, deterministic=not training)
    if recipe != "imagenet":
        dataset = dataset.map(to_size, num_parallel_calls=AUTOTUNE)
    if cache:
        dataset = dataset.cache()
    if training:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if recipe == "imagenet":
        dataset = dataset.map(prepare, **order)
    dataset = dataset.batch(batch_size, drop_remainder=training)
    if recipe != "imagenet":
        dataset = dataset.map(prepare_batch, **order)
    dataset = dataset.prefetch(AUTOTUNE)
    if not training:
        # fit creates a new evaluation iterator every epoch. Deleting the last one waited for
        # tf.data's autotuning thread, whose sleep grows to a minute: CIFAR-10 epochs idled
        # about 45 s at each validation (py-spy: ~RootDataset::Iterator). Evaluation batches
        # are cheap, so fixed parallelism (one call per core) loses nothing.
        options = tf.data.Options()
        options.autotune.enabled = False
        dataset = dataset.with_options(options)
    return dataset
