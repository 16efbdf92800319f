"""Training throughput of our ResNet-20 against a plain hand-written Keras ResNet-20, and of
bfloat16 against float32, measured side by side in one process.

Each model trains on the same cached synthetic CIFAR-sized batches with the same optimizer;
rounds alternate between models so that load on a shared machine hits them alike. Read the
ratios, not the images/s.

    python benchmarks/train_speed.py [--batch 128] [--steps 30] [--rounds 3]
"""

import argparse
import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers

import keras_resnet


def handwritten_resnet20(classes=10):
    """The paper's CIFAR ResNet-20 (option B shortcuts) written out in plain Keras, the way
    a user would without this package: 'same' padding everywhere, default BatchNorm."""

    def block(x, filters, strides):
        shortcut = x
        if strides != 1 or x.shape[-1] != filters:
            shortcut = layers.BatchNormalization()(layers.Conv2D(filters, 1, strides, use_bias=False)(x))
        y = layers.Conv2D(filters, 3, strides, padding="same", use_bias=False)(x)
        y = layers.ReLU()(layers.BatchNormalization()(y))
        y = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same", use_bias=False)(y))
        return layers.ReLU()(layers.Add()([shortcut, y]))

    inputs = keras.Input((32, 32, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(16, 3, padding="same", use_bias=False)(x)))
    for stage, filters in enumerate((16, 32, 64)):
        for i in range(3):
            x = block(x, filters, 2 if stage > 0 and i == 0 else 1)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(classes, activation="softmax")(x))


def _compiled(build, precision):
    keras.mixed_precision.set_global_policy({"float32": "float32", "bfloat16": "mixed_bfloat16"}[precision])
    try:
        model = build()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True), "categorical_crossentropy")
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
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(args.batch, drop_remainder=True).cache().repeat()
    ours = lambda: keras_resnet.ResNet20(shortcut="B", include_preprocessing=True)  # noqa: E731
    models = {
        "keras_resnet.ResNet20 float32": _compiled(ours, "float32"),
        "hand-written Keras ResNet-20 float32": _compiled(handwritten_resnet20, "float32"),
        "keras_resnet.ResNet20 bfloat16": _compiled(ours, "bfloat16"),
    }
    for model in models.values():  # trace and warm up
        model.fit(data, steps_per_epoch=5, epochs=1, verbose=0, shuffle=False)
    best = {name: 0.0 for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(data, steps_per_epoch=args.steps, epochs=1, verbose=0, shuffle=False)
            best[name] = max(best[name], args.steps * args.batch / (time.perf_counter() - start))
    for name, rate in best.items():
        print(f"{name:40s} {rate:7.0f} images/s")
    names = list(best)
    print(f"ours / hand-written (float32): {best[names[0]] / best[names[1]]:.3f}")
    print(f"bfloat16 / float32 (ours):     {best[names[2]] / best[names[0]]:.3f}")


if __name__ == "__main__":
    main()
