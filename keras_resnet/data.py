"""Data: (image, label) `tf.data.Dataset`s from tensorflow-datasets, image folders, or the
embedded default, and the augmentation recipes that feed training.

Images leave this module as float32 RGB pixels in [0, 255]; the models normalise them
themselves (`include_preprocessing=True`), so that what is trained is what gets exported.
"""

import dataclasses
import os
import warnings

import numpy as np
import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE
EMBEDDED = "digits"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
RECIPES = ("cifar", "imagenet", "none")
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


def augment(image, *, recipe: str, training: bool, image_size):
    """One image's augmentation: "cifar" (4-pixel zero pad, random crop, flip; He et al. 2015),
    "imagenet" (random-resized crop and flip; eval: resize to 8/7 and center crop) or "none"."""
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
        resize = (round(height * 8 / 7), round(width * 8 / 7))
        image = tf.image.resize(image, resize)
        top, left = (resize[0] - height) // 2, (resize[1] - width) // 2
        return image[top:top + height, left:left + width]
    if tuple(image.shape[:2]) != (height, width):
        image = tf.image.resize(image, image_size)
    return image


def pipeline(dataset, *, training: bool, batch_size: int, recipe: str = "none", image_size=None,
             cache: bool = True, seed: int | None = None, shuffle_buffer: int = 50_000):
    """Batches a dataset for `model.fit`: cache, shuffle, parallel augmentation, prefetch.

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
        return augment(image, recipe=recipe, training=training, image_size=target), label

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
