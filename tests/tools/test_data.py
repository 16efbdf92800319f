"""The evaluation resize and crop equal torchvision's `Resize(s) + CenterCrop(crop)` on real photographs."""

import math

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_sample_images

from keras_resnet.tools import data as data_lib
from keras_resnet.tools._tensorflow import tf

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
    """Resizing both sides to 8/7 (the recipe before) distorts a 427x640 photo: the test can tell."""
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
    with pytest.raises(ValueError, match=r"`crop_pct` must be in \(0, 1\]; received crop_pct=1.2"):
        data_lib.resize_and_center_crop(tf.zeros((8, 8, 3)), (4, 4), crop_pct=1.2)
