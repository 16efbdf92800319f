"""Model figures: parameters and multiply-adds, and the table of every named model."""

import math

import keras

from keras_resnet.models import MODELS


def count_macs(model: keras.Model) -> int:
    """Multiply-adds of one forward pass of one image, counting convs and dense layers.

    This is the "FLOPs" figure of the ResNet papers and torchvision's model tables
    (ResNet-50: 4.09 G). The model needs a static input size.

    Example:
        >>> count_macs(keras_resnet.ResNet50())
        4089184256
    """
    macs = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            height, width, out_channels = layer.output.shape[1:]
            if height is None or width is None:
                raise ValueError(
                    "`model` must have a static input size to count multiply-adds; "
                    f"layer {layer.name!r} outputs {layer.output.shape}."
                )
            kernel_h, kernel_w, in_per_group, _ = layer.kernel.shape
            macs += height * width * out_channels * kernel_h * kernel_w * in_per_group
        elif isinstance(layer, keras.layers.Dense):
            macs += math.prod(layer.kernel.shape)
    return macs


def trainable_params(model: keras.Model) -> int:
    """Trainable parameters, torchvision's "params" figure (BatchNorm statistics excluded)."""
    return sum(math.prod(weight.shape) for weight in model.trainable_weights)


def model_table(names=None) -> list[dict]:
    """Builds each named model (all of `MODELS` by default) and returns its figures.

    ImageNet nets are measured at 224x224 with 1,000 classes, CIFAR nets at 32x32 with 10.
    """
    rows = []
    for name in names or MODELS:
        size = MODELS[name].default_size
        model = MODELS[name](input_shape=(size, size, 3))
        rows.append(
            {
                "model": name,
                "builder": f"keras_resnet.{MODELS[name].__name__}",
                "input": f"{size}x{size}",
                "classes": model.output_shape[-1],
                "trainable_params": trainable_params(model),
                "params": model.count_params(),
                "macs": count_macs(model),
                "layers": len(model.layers),
            }
        )
    return rows
