"""Training throughput of our ResNet-20 against a plain hand-written Keras ResNet-20, against
itself with Keras' own BatchNormalization (what our fused one saves), and of bfloat16 against
float32, measured side by side in one process.

Each model trains on the same cached synthetic CIFAR-sized batches with the same optimizer;
rounds alternate between models so that load on a shared machine hits them alike. Read the
ratios, not the images/s.

    python benchmarks/train_speed.py [--batch 128] [--steps 30] [--rounds 3]
"""

import argparse
import os

import keras
import numpy as np
import tensorflow as tf
from keras import layers

import keras_resnet
from keras_resnet.layers import BatchNormalization
from keras_resnet.tools.train import Throughput


def handwritten_resnet20(classes=10):
    """The paper's CIFAR ResNet-20 (option B shortcuts) written out in plain Keras, the way
    a user would without this package: 'same' padding everywhere, default BatchNorm."""

    def block(x, filters, strides):
        shortcut = x
        if strides != 1 or x.shape[-1] != filters:
            shortcut = layers.BatchNormalization()(
                layers.Conv2D(filters, 1, strides, use_bias=False)(x)
            )
        y = layers.Conv2D(filters, 3, strides, padding="same", use_bias=False)(x)
        y = layers.ReLU()(layers.BatchNormalization()(y))
        y = layers.BatchNormalization()(
            layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
        )
        return layers.ReLU()(layers.Add()([shortcut, y]))

    inputs = keras.Input((32, 32, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.ReLU()(
        layers.BatchNormalization()(layers.Conv2D(16, 3, padding="same", use_bias=False)(x))
    )
    for stage, filters in enumerate((16, 32, 64)):
        for i in range(3):
            x = block(x, filters, 2 if stage > 0 and i == 0 else 1)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(classes, activation="softmax")(x))


def _compiled(build, precision, data, keras_batchnorm=False):
    """The model built, compiled and traced (warmed up) under `precision`; with
    `keras_batchnorm`, our BatchNormalization falls back to Keras' own computation."""
    keras.mixed_precision.set_global_policy(
        {"float32": "float32", "bfloat16": "mixed_bfloat16"}[precision]
    )
    fusable = BatchNormalization._fusable
    if keras_batchnorm:
        BatchNormalization._fusable = lambda self, inputs, mask: False
    try:
        model = build()
        model.compile(
            keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True), "categorical_crossentropy"
        )
        model.fit(
            data, steps_per_epoch=5, epochs=1, verbose=0, shuffle=False
        )  # traced with this choice
    finally:
        keras.mixed_precision.set_global_policy("float32")
        BatchNormalization._fusable = fusable
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (args.batch * 8, 32, 32, 3)).astype("float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, len(x))]
    data = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .batch(args.batch, drop_remainder=True)
        .cache()
        .repeat()
    )
    ours = lambda: keras_resnet.ResNet20(shortcut="B", include_preprocessing=True)  # noqa: E731
    models = {
        "keras_resnet.ResNet20 float32": _compiled(ours, "float32", data),
        "  with Keras' BatchNormalization": _compiled(ours, "float32", data, keras_batchnorm=True),
        "hand-written Keras ResNet-20 float32": _compiled(handwritten_resnet20, "float32", data),
        "keras_resnet.ResNet20 bfloat16": _compiled(ours, "bfloat16", data),
        "  with Keras' BatchNormalization ": _compiled(
            ours, "bfloat16", data, keras_batchnorm=True
        ),
    }
    best = {name: 0.0 for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            throughput = Throughput(
                images=args.steps * args.batch
            )  # the epoch, not fit's set-up and teardown
            model.fit(
                data,
                steps_per_epoch=args.steps,
                epochs=1,
                verbose=0,
                shuffle=False,
                callbacks=[throughput],
            )
            best[name] = max(best[name], throughput.rates[0])
    print(f"load average: {os.getloadavg()}")
    for name, rate in best.items():
        print(f"{name:40s} {rate:7.0f} images/s")
    rates = list(best.values())
    print(f"fused / Keras BatchNormalization (float32):  {rates[0] / rates[1]:.3f}")
    print(f"fused / Keras BatchNormalization (bfloat16): {rates[3] / rates[4]:.3f}")
    print(f"ours / hand-written (float32):               {rates[0] / rates[2]:.3f}")
    print(f"bfloat16 / float32 (ours):                   {rates[3] / rates[0]:.3f}")


if __name__ == "__main__":
    main()
