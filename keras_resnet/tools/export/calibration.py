"""The int8 exports' calibration images: raw pixels from a data set's training split."""

import os

import numpy as np


def calibration_images(
    source: str,
    *,
    split: str = "train",
    count: int = 256,
    image_size=None,
    recipe: str = "none",
    data_dir=None,
    crop_pct: float = 0.875,
    interpolation: str = "bilinear",
) -> np.ndarray:
    """`count` raw-pixel images spread evenly over a data set's split (every class, not the
    first folder), prepared as for evaluation (`crop_pct`, `interpolation`: the imagenet
    recipe's resize and crop): the int8 export's representative sample.

    Example:
        >>> calibration_images("digits", count=64).shape
        (64, 8, 8, 3)
    """
    from keras_resnet.tools import data as data_lib

    dataset, info = data_lib.load(source, split, data_dir=data_dir)
    size = tuple(image_size or info.image_shape[:2])
    examples = info.splits.get(split) or count
    dataset = dataset.shard(max(1, examples // count), 0).take(count)
    batches = data_lib.pipeline(
        dataset,
        training=False,
        batch_size=count,
        recipe=recipe,
        image_size=size,
        cache=False,
        crop_pct=crop_pct,
        interpolation=interpolation,
    )
    return np.concatenate([images.numpy() for images, _ in batches])


def run_calibration(source, predictor) -> np.ndarray:
    """A run folder's calibration images, from the training data its config.json names (the
    absolute path where it records one), or an error that says where the path came from."""
    run = predictor.manifest
    data = run.get("data_path") or run["data"]
    try:
        return calibration_images(
            data,
            split=run.get("train_split", "train"),
            image_size=predictor.input_shape[:2],
            data_dir=run.get("data_dir"),
            **predictor.preparation,
        )
    except Exception as error:
        raise ValueError(
            f"Cannot read the calibration images for the int8 export from the run's training data "
            f"{data!r} (from {os.path.join(source, 'config.json')}; looked for from "
            f"{os.getcwd()}): {error}. Pass --calibration-data (calibration=... in Python) with a "
            "folder or tfds name of training images, or export from the folder the run was "
            "trained in."
        ) from None
