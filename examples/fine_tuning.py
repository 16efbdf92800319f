r"""Fine-tuning a pretrained ResNet on a folder of images, with BatchNorm frozen the right way.

Phase 1 trains a new classifier on the frozen backbone. Phase 2 unfreezes the convolutions at a
10x-100x lower rate, but keeps every BatchNormalization layer frozen: a frozen BN layer runs in
inference mode in Keras 3, so it normalises with the pretrained (ImageNet) statistics, and the
small, differently distributed batches of a new data set never overwrite them. Unfreezing BN
too is the classic mistake: its moving statistics drift to a few batches' and accuracy drops.

    # a folder root/train/<class>/*.jpg, root/test/...
    python examples/fine_tuning.py --data /path/to/folder --weights imagenet
    python examples/fine_tuning.py --data /path/to/cifar10 \
        --weights ../shared/fixtures/resnet18.safetensors --image-size 64
"""

import argparse
import warnings

import keras
import numpy as np

from keras_resnet.models import build
from keras_resnet.tools import data as data_lib


def batch_norm_state(model):
    """Every BatchNormalization weight (gamma, beta, moving mean and variance), copied."""
    return [
        weight.numpy().copy()
        for layer in model.layers
        if isinstance(layer, keras.layers.BatchNormalization)
        for weight in layer.weights
    ]


def main(argv=None, verbose=1):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", required=True, help="an image folder root/<split>/<class>/*.jpg|png"
    )
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--weights", default="imagenet", help="a published name or a weights file")
    parser.add_argument("--image-size", type=int, default=160)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--head-epochs", type=int, default=3)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--all-epochs", type=int, default=3)
    parser.add_argument("--all-lr", type=float, default=1e-5)
    args = parser.parse_args(argv)

    size = (args.image_size, args.image_size)
    train_set, info = data_lib.load(args.data, "train")
    test_set, _ = data_lib.load(args.data, "test")
    train_data = data_lib.pipeline(
        train_set,
        training=True,
        batch_size=args.batch_size,
        recipe="imagenet",
        image_size=size,
        seed=0,
    )
    test_data = data_lib.pipeline(
        test_set, training=False, batch_size=args.batch_size, recipe="imagenet", image_size=size
    )
    with warnings.catch_warnings():  # "the classifier starts fresh": expected, a new head
        warnings.simplefilter("ignore", UserWarning)
        model = build(
            args.model,
            weights=args.weights,
            classes=info.num_classes,
            input_shape=(*size, 3),
            include_preprocessing=True,
        )  # raw 0-255 pixels in; the preprocessing follows the weights
    statistics = batch_norm_state(model)
    conv1 = model.get_layer("conv1_conv").kernel.numpy().copy()

    # Phase 1: the new head only.
    for layer in model.layers[:-1]:
        layer.trainable = False
    model.compile(
        keras.optimizers.Adam(args.head_lr), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    model.fit(train_data, epochs=args.head_epochs, verbose=verbose)
    head_accuracy = model.evaluate(test_data, return_dict=True, verbose=0)["accuracy"]
    phase1_conv1_unchanged = bool(
        np.array_equal(model.get_layer("conv1_conv").kernel.numpy(), conv1)
    )

    # Phase 2: all but BatchNorm, at a lower rate (recompile: trainable flags take effect then).
    for layer in model.layers:
        layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
    model.compile(
        keras.optimizers.Adam(args.all_lr), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    model.fit(train_data, epochs=args.all_epochs, verbose=verbose)
    final_accuracy = model.evaluate(test_data, return_dict=True, verbose=0)["accuracy"]

    results = {
        "head_only_accuracy": float(head_accuracy),
        "fine_tuned_accuracy": float(final_accuracy),
        "conv1_unchanged_in_phase_1": phase1_conv1_unchanged,
        "conv1_changed_in_phase_2": not np.array_equal(
            model.get_layer("conv1_conv").kernel.numpy(), conv1
        ),
        "batch_norm_unchanged": all(
            np.array_equal(a, b) for a, b in zip(batch_norm_state(model), statistics, strict=True)
        ),
    }
    if verbose:
        for key, value in results.items():
            print(f"{key}: {value}")
    return results


if __name__ == "__main__":
    main()
