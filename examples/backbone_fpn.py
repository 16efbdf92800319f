"""A ResNet as the backbone of a dense-prediction model: C2..C5 into a small FPN.

`keras_resnet.feature_extractor` returns the stage outputs C2..C5 (strides 4, 8, 16, 32). A
feature pyramid (Lin et al. 2017) turns them into P2..P5 with the same channel count: a 1x1
lateral conv per stage, a top-down pathway that upsamples the coarser level 2x and adds it,
and a 3x3 conv to smooth each sum. A 1x1 classifier on P2, upsampled 4x, gives per-pixel
class scores (a minimal semantic-segmentation head).

    python examples/backbone_fpn.py --model resnet50 --image-size 224
"""

import argparse

import keras
import numpy as np
from keras import layers

from keras_resnet import feature_extractor
from keras_resnet.models import build


def fpn(features: dict, channels: int = 256) -> dict:
    """P2..P5 from C2..C5 (Lin et al. 2017, Fig. 3)."""
    levels = sorted(features)  # ["C2", "C3", "C4", "C5"]
    pyramid = {}
    top_down = None
    for level in reversed(levels):
        k = level[1:]
        lateral = layers.Conv2D(channels, 1, name=f"fpn_lateral{k}")(features[level])
        if top_down is not None:
            lateral = layers.Add(name=f"fpn_add{k}")(
                [lateral, layers.UpSampling2D(2, name=f"fpn_up{k}")(top_down)]
            )
        top_down = lateral
        pyramid[f"P{k}"] = layers.Conv2D(channels, 3, padding="same", name=f"fpn_smooth{k}")(
            lateral
        )
    return dict(sorted(pyramid.items()))


def segmentation_model(
    model_name="resnet50", image_size=224, classes=21, channels=256, weights=None
):
    """Backbone + FPN + a per-pixel classifier; outputs the scores and the pyramid."""
    backbone = feature_extractor(
        build(
            model_name, include_top=False, weights=weights, input_shape=(image_size, image_size, 3)
        )
    )
    inputs = keras.Input((image_size, image_size, 3), name="images")
    pyramid = fpn(backbone(inputs), channels)
    scores = layers.Conv2D(classes, 1, name="classifier")(pyramid["P2"])
    scores = layers.UpSampling2D(4, interpolation="bilinear", name="upsample")(scores)
    return keras.Model(inputs, {"scores": scores, **pyramid}, name=f"{model_name}_fpn")


def main(argv=None, verbose=True):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--channels", type=int, default=256)
    parser.add_argument("--classes", type=int, default=21)
    args = parser.parse_args(argv)

    model = segmentation_model(args.model, args.image_size, args.classes, args.channels)
    images = (
        np.random.default_rng(0)
        .uniform(-1, 1, (2, args.image_size, args.image_size, 3))
        .astype("float32")
    )
    outputs = model(images)
    shapes = {name: tuple(value.shape) for name, value in outputs.items()}
    size = args.image_size
    expected = {f"P{k}": (2, size // 2**k, size // 2**k, args.channels) for k in range(2, 6)}
    expected["scores"] = (2, size, size, args.classes)
    if shapes != expected:
        raise AssertionError(f"shapes {shapes} differ from {expected}")
    if verbose:
        for name, shape in shapes.items():
            print(f"{name:7s} {shape}")
    return shapes


if __name__ == "__main__":
    main()
