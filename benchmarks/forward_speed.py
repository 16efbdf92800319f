"""Forward-pass speed of our ResNet-50 (v1.5) against keras.applications' ResNet50.

Both run as compiled `tf.function`s in one process, alternating rounds so that load on a
shared machine hits both alike; the ratio is what to read, not the absolute times.

    python benchmarks/forward_speed.py [--batch 32] [--size 224] [--rounds 5] [--variant v1.5]
"""

import argparse
import time

import keras
import numpy as np
import tensorflow as tf

import keras_resnet


def _compiled(model):
    return tf.function(lambda x: model(x, training=False))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variant", default="v1.5")
    args = parser.parse_args()

    shape = (args.size, args.size, 3)
    models = {
        f"keras_resnet.ResNet50(variant={args.variant!r})": keras_resnet.ResNet50(
            input_shape=shape, variant=args.variant
        ),
        "keras.applications.ResNet50": keras.applications.ResNet50(weights=None, input_shape=shape),
    }
    x = tf.constant(np.random.default_rng(0).uniform(0, 1, (args.batch, *shape)).astype("float32"))
    calls = {name: _compiled(model) for name, model in models.items()}
    for call in calls.values():  # trace and warm up
        call(x).numpy()
    best = {name: float("inf") for name in calls}
    for _ in range(args.rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            call(x).numpy()
            best[name] = min(best[name], time.perf_counter() - start)
    ours, theirs = best.values()
    for name, seconds in best.items():
        print(f"{name:45s} {seconds * 1000:8.1f} ms/batch  {args.batch / seconds:7.1f} images/s")
    print(
        f"speed ratio ours/keras.applications: {theirs / ours:.3f} "
        "(>= 1 means ours is at least as fast)"
    )


if __name__ == "__main__":
    main()
