"""Data: (image, label) `tf.data.Dataset`s from tensorflow-datasets, image folders, or the
embedded default, and the augmentation recipes that feed training.

Images leave this module as float32 RGB pixels in [0, 255]; the models normalise them
themselves (`include_preprocessing=True`), so that what is trained is what gets exported.
"""

import dataclasses
import math
import os
import warnings

import numpy as np

from keras_resnet.tools._tensorflow import tf
from keras_resnet.tools.config import EMBEDDED, RECIPES

AUTOTUNE = tf.data.AUTOTUNE
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
# The first bytes of the formats `tf.io.decode_image` reads here.
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


@dataclasses.dataclass(frozen=True)
class DataInfo:
    """What the training code needs to know about a data set."""

    name: str
    class_names: tuple[str, ...]
    image_shape: tuple  # (height, width, 3); None sizes where images differ
    splits: dict  # split name -> number of examples

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def _embedded(split: str, seed: int = 0):
    """scikit-learn's bundled 8x8 handwritten digits (1,797 real images, no download),
    split 80/20 with a fixed permutation, as RGB pixels in [0, 255]."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.target))
    cut = int(0.8 * len(order))
    index = {"train": order[:cut], "test": order[cut:]}[split]
    images = np.repeat(digits.images[index, :, :, None] * (255.0 / 16.0), 3, axis=-1).astype("uint8")
    labels = digits.target[index].astype("int32")
    info = DataInfo(EMBEDDED, tuple(str(d) for d in range(10)), (8, 8, 3), {"train": cut, "test": len(order) - cut})
    return tf.data.Dataset.from_tensor_slices((images, labels)), info


def _readable(path: str) -> bool:
    with open(path, "rb") as file:
        head = file.read(8)
    return any(head.startswith(magic) for magic in _MAGIC)


def _folder(root: str, split: str, image_size=None):
    """`root/<split>/<class>/*.jpg|png`. Files that are not JPEG or PNG are reported by path
    and skipped; so are images that fail to decode (the pipeline logs and drops them)."""
    split_dir = os.path.join(root, split)
    if not os.path.isdir(split_dir):
        raise ValueError(f"`split` must name a folder under {root!r}; received split={split!r} ({split_dir} does not exist).")
    class_names = sorted(d for d in os.listdir(split_dir) if os.path.isdir(os.path.join(split_dir, d)))
    if not class_names:
        raise ValueError(f"{split_dir} must hold one folder per class, with images in them; it has none.")
    paths, labels, skipped = [], [], []
    for label, name in enumerate(class_names):
        for file in sorted(os.listdir(os.path.join(split_dir, name))):
            path = os.path.join(split_dir, name, file)
            if not file.lower().endswith(IMAGE_SUFFIXES):
                continue
            if _readable(path):
                paths.append(path)
                labels.append(label)
            else:
                skipped.append(path)
    if skipped:
        warnings.warn(f"Skipped {len(skipped)} unreadable image file(s) (not JPEG/PNG): {skipped[:10]}", stacklevel=3)
    if not paths:
        raise ValueError(f"{split_dir} has no JPEG or PNG images.")

    def decode(path, label):
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        if image_size:
            image = tf.image.resize(image, image_size)
        return image, label

    first = tf.io.decode_image(tf.io.read_file(paths[0]), channels=3, expand_animations=False)
    shape = (*image_size, 3) if image_size else tuple(first.shape)
    dataset = tf.data.Dataset.from_tensor_slices((paths, np.array(labels, "int32")))
    # A file that passed the magic-byte check but fails to decode (truncated) is dropped
    # with a logged warning instead of stopping the epoch.
    dataset = dataset.map(decode, num_parallel_calls=AUTOTUNE).ignore_errors(log_warning=True)
    info = DataInfo(os.path.basename(os.path.normpath(root)), tuple(class_names), shape, {split: len(paths)})
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


def load(source: str, split: str, *, data_dir=None, manual_dir=None, download=True, image_size=None):
    """An (image, label) dataset and its `DataInfo`, from any supported source.

    Args:
        source: "digits" (the embedded default: no download), a folder laid out as
            `source/<split>/<class>/*.jpg|png`, or a tensorflow-datasets name such as
            "cifar10", "cifar100", "imagenette" or "imagenet2012".
        split: "train", "test" (or tfds' names, e.g. "validation").
        data_dir: where tfds keeps prepared data; prepared data is read offline.
        manual_dir: tfds' manual download folder (imagenet2012's tar files).
        download: let tfds download and prepare data that is not prepared yet.
        image_size: (height, width) to resize folder images to; None keeps their size.

    Example:
        >>> train, info = load("digits", "train")
        >>> info.num_classes
        10
    """
    if source == EMBEDDED:
        return _embedded(split)
    if os.path.isdir(source):
        return _folder(source, split, image_size)
    if os.sep in source or source.startswith("."):
        raise ValueError(f"`source` must be 'digits', an existing folder or a tfds name; received source={source!r}, a path that does not exist.")
    return _tfds(source, split, data_dir, manual_dir, download)


INTERPOLATIONS = ("bilinear", "bicubic")


def resize_and_center_crop(image, image_size, *, crop_pct: float = 0.875, interpolation: str = "bilinear"):
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
        raise ValueError(f"`interpolation` must be one of {INTERPOLATIONS}; received interpolation={interpolation!r}.")
    if not 0 < crop_pct <= 1:
        raise ValueError(f"`crop_pct` must be in (0, 1]; received crop_pct={crop_pct!r}.")
    crop_height, crop_width = image_size
    resize = math.floor(max(image_size) / crop_pct + 1e-9)  # timm's floor(img_size / crop_pct)
    shape = tf.shape(image)
    height, width = tf.cast(shape[0], tf.float64), tf.cast(shape[1], tf.float64)
    short, long = tf.minimum(height, width), tf.maximum(height, width)
    new_long = tf.cast(tf.floor(resize * long / short), tf.int32)  # torchvision: int(size * long / short)
    width_is_short = width <= height
    new_height = tf.where(width_is_short, new_long, resize)
    new_width = tf.where(width_is_short, resize, new_long)
    image = tf.image.resize(tf.cast(image, tf.float32), tf.stack([new_height, new_width]), method=interpolation,
                            antialias=True)
    image = tf.clip_by_value(tf.round(image), 0, 255)
    top = tf.cast(tf.round((new_height - crop_height) / 2), tf.int32)  # tf.round: halves to even, as Python's
    left = tf.cast(tf.round((new_width - crop_width) / 2), tf.int32)
    image = image[top:top + crop_height, left:left + crop_width]
    image.set_shape([crop_height, crop_width, image.shape[-1]])
    return image


def augment(image, *, recipe: str, training: bool, image_size, crop_pct: float = 0.875,
            interpolation: str = "bilinear"):
    """One image's augmentation: "cifar" (4-pixel zero pad, random crop, flip; He et al. 2015),
    "imagenet" (random-resized crop and flip; evaluation: `resize_and_center_crop` with the
    weights' `crop_pct` and `interpolation`) or "none"."""
    image = tf.cast(image, tf.float32)
    height, width = image_size
    if recipe == "cifar" and training:
        image = tf.image.pad_to_bounding_box(image, 4, 4, height + 8, width + 8)
        image = tf.image.random_crop(image, (height, width, 3))
        return tf.image.random_flip_left_right(image)
    if recipe == "imagenet":
        if training:
            begin, size, _ = tf.image.sample_distorted_bounding_box(
                tf.shape(image), tf.zeros((1, 0, 4)), area_range=(0.08, 1.0),
                aspect_ratio_range=(3 / 4, 4 / 3), max_attempts=10, use_image_if_no_bounding_boxes=True,
            )
            crop = tf.slice(image, begin, size)
            crop.set_shape([None, None, image.shape[-1]])  # the slice's size is dynamic, channels too
            image = tf.image.resize(crop, image_size)
            return tf.image.random_flip_left_right(image)
        return resize_and_center_crop(image, image_size, crop_pct=crop_pct, interpolation=interpolation)
    if tuple(image.shape[:2]) != (height, width):
        image = tf.image.resize(image, image_size)
    return image


def pipeline(dataset, *, training: bool, batch_size: int, recipe: str = "none", image_size=None,
             cache: bool = True, seed: int | None = None, shuffle_buffer: int = 50_000, crop_pct: float = 0.875,
             interpolation: str = "bilinear"):
    """Batches a dataset for `model.fit`: cache, shuffle, parallel augmentation, prefetch.

    `crop_pct` and `interpolation` set the imagenet recipe's evaluation transform
    (`resize_and_center_crop`); use the weights' own (`PublishedWeights.crop_pct`).

    Training batches drop the remainder: every step sees a full global batch (and oneDNN's
    crash on odd batch sizes in 1x1 stride-2 conv gradients, DEVELOPERS.md, cannot trigger).
    """
    if recipe not in RECIPES:
        raise ValueError(f"`recipe` must be one of {RECIPES}; received recipe={recipe!r}.")
    if cache:
        dataset = dataset.cache()
    if training:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    size = tuple(image_size) if image_size else None

    def prepare(image, label):
        target = size or tuple(image.shape[:2])
        return augment(image, recipe=recipe, training=training, image_size=target, crop_pct=crop_pct,
                       interpolation=interpolation), label

    dataset = dataset.map(prepare, num_parallel_calls=AUTOTUNE, deterministic=not training)
    dataset = dataset.batch(batch_size, drop_remainder=training).prefetch(AUTOTUNE)
    if not training:
        # fit creates a new evaluation iterator every epoch. Deleting the last one waited for
        # tf.data's autotuning thread, whose sleep grows to a minute: CIFAR-10 epochs idled
        # about 45 s at each validation (py-spy: ~RootDataset::Iterator). Evaluation batches
        # are cheap, so fixed parallelism (one call per core) loses nothing.
        options = tf.data.Options()
        options.autotune.enabled = False
        dataset = dataset.with_options(options)
    return dataset
