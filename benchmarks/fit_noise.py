"""How much identical training runs differ on this machine: ResNet-20 `model.fit` on the same
random arrays, the same seed and compilation, several times in one process; each epoch's
images/s. Read speed ratios measured here against this spread.

    python benchmarks/fit_noise.py [--runs 4] [--steps 100] [--precision float32]
"""

import argparse
import os

import keras
import numpy as np

import keras_resnet
from keras_resnet.tools.train import Throughput


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--precision", default="float32", choices=["float32", "bfloat16"])
    args = parser.parse_args(argv)
    keras.mixed_precision.set_global_policy(
        "mixed_bfloat16" if args.precision == "bfloat16" else "float32"
    )
    images = args.steps * args.batch_size
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (images, 32, 32, 3)).astype("float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, images)]
    print(f"load average before: {os.getloadavg()}")
    rates = []
    for run in range(args.runs):
        keras.utils.set_random_seed(0)
        model = keras_resnet.ResNet20(classes=10, include_preprocessing=True)
        model.compile(
            keras.optimizers.SGD(0.1, momentum=0.9),
            "categorical_crossentropy",
            metrics=["accuracy"],
        )
        throughput = Throughput(images=images)
        model.fit(
            x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=0, callbacks=[throughput]
        )
        rates += throughput.rates[1:]  # the first epoch also traces
        print(f"run {run + 1}: images/s per epoch {[round(r) for r in throughput.rates]}")
    print(f"load average after: {os.getloadavg()}")
    print(f"after the first epoch: {min(rates):,.0f} to {max(rates):,.0f} images/s")


if __name__ == "__main__":
    main()
