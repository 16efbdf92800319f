"""Training throughput of `keras-resnet train` against a plain `model.fit` on in-memory arrays:
what the tool's pipeline, augmentation, metrics and run folder cost.

Both sides train the same model, compiled the same way (the tool's optimizer, loss and
metrics), on the same training images at the same batch size, for `--epochs` epochs, in
alternating processes. The tool reads the image folder, checks and decodes it, caches the
decoded images, augments each epoch (the model's recipe: CIFAR's pad-and-crop and flip) and
writes a checkpoint per epoch; it records each epoch's images/s (the time from the epoch's
start to its validation's) in the run's history.csv. `model.fit(x, y)` gets the decoded images
as NumPy arrays, without augmentation or validation. The last epoch's rates are compared (the
first also traces and caches): the best and the median of `--rounds`, every round printed, since
identical runs on a shared VM differ by more than the tool costs (benchmarks/fit_noise.py).

    python benchmarks/train_vs_fit.py --data /tmp/cifar10   # CIFAR-10 as JPEG folders
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile


def _fit_worker(args):
    import numpy as np

    from keras_resnet.tools import data as data_lib
    from keras_resnet.tools import train as train_lib
    from keras_resnet.tools.config import TrainConfig
    from keras_resnet.tools.train import Throughput

    config = TrainConfig(
        model=args.model,
        data=args.data,
        batch_size=args.batch_size,
        epochs=args.epochs,
        precision=args.precision,
    )
    with train_lib.seeded(config.seed, train_lib.POLICIES[config.precision]):
        plan, _ = train_lib.resolve(config)  # the tool's own checks, model and compilation
        dataset, _ = data_lib.load(args.data, "train")
        images, labels = zip(*((x.numpy(), y.numpy()) for x, y in dataset.batch(5000)), strict=True)
        images, labels = np.concatenate(images), np.concatenate(labels)
        one_hot = np.eye(len(plan.classes), dtype="float32")[labels]
        steps = plan.steps_per_epoch
        model = train_lib.build_model(plan)
        train_lib.compile_model(model, plan)
    throughput = Throughput(images=steps * args.batch_size)  # as the tool's history.csv measures
    model.fit(
        images[: steps * args.batch_size],
        one_hot[: steps * args.batch_size],
        batch_size=args.batch_size,
        epochs=args.epochs,
        verbose=0,
        callbacks=[throughput],
    )
    return throughput.rates[-1]


def _tool(args):
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable,
            "-m",
            "keras_resnet.tools.cli",
            "train",
            "--model",
            args.model,
            "--data",
            args.data,
            "--epochs",
            str(args.epochs),
            "--batch-size",
            str(args.batch_size),
            "--precision",
            args.precision,
            "--out",
            os.path.join(folder, "run"),
            "--no-export",
            "--progress",
            "0",
        ]
        subprocess.run(command, check=True)
        with open(os.path.join(folder, "run", "history.csv")) as file:
            return float(list(csv.DictReader(file))[-1]["images_per_s"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="an image folder root/{train,test}/<class>/*")
    parser.add_argument("--model", default="resnet20")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--precision", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps({"images_per_s": _fit_worker(args)}))
        return

    print(f"load average before: {os.getloadavg()}")
    rates = {"keras-resnet train": [], "model.fit": []}
    for round_ in range(args.rounds):
        rates["keras-resnet train"].append(_tool(args))
        result = subprocess.run(
            [sys.executable, *sys.argv, "--worker"], check=True, capture_output=True, text=True
        )
        rates["model.fit"].append(json.loads(result.stdout.splitlines()[-1])["images_per_s"])
        pair = ", ".join(f"{name} {values[-1]:,.0f}" for name, values in rates.items())
        print(f"round {round_ + 1}: {pair} images/s", flush=True)
    print(f"load average after: {os.getloadavg()}")
    best = {name: max(values) for name, values in rates.items()}
    print(
        f"| {args.model}, batch {args.batch_size}, {args.precision} "
        f"| best images/s (epoch {args.epochs}) | each round |"
    )
    print("|---|---:|---|")
    for name, values in rates.items():
        print(f"| {name} | {best[name]:,.0f} | {', '.join(f'{v:,.0f}' for v in values)} |")
    middle = {name: statistics.median(values) for name, values in rates.items()}
    print(
        f"| train / fit | {best['keras-resnet train'] / best['model.fit']:.2f} (best) | "
        f"{middle['keras-resnet train'] / middle['model.fit']:.2f} (median) |"
    )


if __name__ == "__main__":
    main()
