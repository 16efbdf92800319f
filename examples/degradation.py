r"""The degradation problem (He et al. 2015, Fig. 6 left and middle), reproduced.

Plain networks (the same nets without shortcuts, `plain=True`) of depth 20, 32 and 56 and the
ResNets of the same depths train with one recipe on CIFAR-10. The paper's finding: the deeper
plain net has the *higher training error* (it is not overfitting; it is harder to optimise),
while the deeper ResNet has the lower error. The script writes

    <out>/plain.png, <out>/resnet.png       training (dashed) and test (solid) error per epoch
    <out>/gradient_norms.png                per-layer gradient norms at initialisation, plain-56
                                            vs ResNet-56: BatchNorm makes a deep plain net's
                                            gradients grow layer by layer toward the input (about
                                            1,000x over 55 layers), so no one learning rate suits
                                            every layer; a ResNet's stay even
    <out>/results.json, <out>/results.md    the final errors, the settings and the wall time

Each network trains through `keras_resnet.tools.train` in its own run folder (`<out>/runs/`), so a
killed experiment resumes where it stopped when the same command runs again.

    python examples/degradation.py --data /path/to/cifar10 --epochs 12 \
        --train-per-class 500 --test-per-class 200
    # a smoke run
    python examples/degradation.py --data digits --epochs 1 --depths 20 --out /tmp/degradation
"""

import argparse
import json
import os
import time

import keras
import matplotlib
import tensorflow as tf

from keras_resnet.files import write_json
from keras_resnet.models import build
from keras_resnet.tools import data as data_lib
from keras_resnet.tools.train import TrainConfig, train

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FAMILIES = {"plain": {"plain": True}, "resnet": {}}


def subset(root, out, train_per_class, test_per_class=None):
    """A folder of links to the first images of each class of each split, so that a CPU can
    run the experiment on part of CIFAR-10 (None: the whole split)."""
    target = os.path.join(out, f"data-{train_per_class}-{test_per_class or 'all'}")
    for split, count in (("train", train_per_class), ("test", test_per_class)):
        for name in sorted(os.listdir(os.path.join(root, split))):
            folder = os.path.join(target, split, name)
            os.makedirs(folder, exist_ok=True)
            files = sorted(os.listdir(os.path.join(root, split, name)))
            for file in files[:count]:
                link = os.path.join(folder, file)
                if not os.path.lexists(link):
                    os.symlink(os.path.abspath(os.path.join(root, split, name, file)), link)
    return target


def run_all(data, out, depths, epochs, batch_size, lr, precision, verbose):
    """Trains every family x depth; returns {"plain-20": [history rows], ...}."""
    histories = {}
    for family, options in FAMILIES.items():
        for depth in depths:
            name = f"{family}-{depth}"
            run = os.path.join(out, "runs", name)
            config = TrainConfig(
                model=f"resnet{depth}",
                data=data,
                epochs=epochs,
                batch_size=batch_size,
                lr=lr,
                precision=precision,
                model_options=dict(options),
                out=run,
                export=None,
                verbose=verbose,
                recipe="cifar" if data != data_lib.EMBEDDED else None,
            )
            started = time.time()
            train(config)
            with open(os.path.join(run, "state.json")) as file:
                histories[name] = json.load(file)["history"]
            print(
                f"{name}: test error {100 * (1 - histories[name][-1]['val_accuracy']):.2f}% "
                f"({time.time() - started:.0f} s)",
                flush=True,
            )
    return histories


def plot_family(histories, family, depths, path):
    figure, axis = plt.subplots(figsize=(6, 4))
    colors = dict(
        zip(depths, ["tab:orange", "tab:blue", "tab:red", "tab:green", "tab:purple"], strict=False)
    )
    for depth in depths:
        rows = histories[f"{family}-{depth}"]
        epochs = [row["epoch"] for row in rows]
        label = f"{'plain' if family == 'plain' else 'ResNet'}-{depth}"
        axis.plot(
            epochs,
            [100 * (1 - row["accuracy"]) for row in rows],
            "--",
            color=colors[depth],
            linewidth=1,
        )
        axis.plot(
            epochs,
            [100 * (1 - row["val_accuracy"]) for row in rows],
            "-",
            color=colors[depth],
            linewidth=2,
            label=label,
        )
    axis.set(
        xlabel="epoch",
        ylabel="error (%)",
        title=f"{family} nets: training (dashed) and test (solid) error",
    )
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def gradient_norms(depth, images, labels, plain):
    """The gradient norm of every conv kernel of a freshly initialised net, input to output."""
    keras.utils.set_random_seed(0)
    model = build(
        f"resnet{depth}",
        classes=int(labels.max()) + 1,
        input_shape=images.shape[1:],
        include_preprocessing=True,
        plain=plain,
    )
    kernels = [layer.kernel for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    with tf.GradientTape() as tape:
        loss = keras.losses.sparse_categorical_crossentropy(labels, model(images, training=True))
        loss = tf.reduce_mean(loss)
    return [float(tf.norm(gradient)) for gradient in tape.gradient(loss, kernels)]


def plot_gradients(norms, path):
    figure, axis = plt.subplots(figsize=(6, 4))
    for name, values in norms.items():
        axis.semilogy(range(1, len(values) + 1), values, label=name)
    axis.set(
        xlabel="conv layer (input to output)",
        ylabel="gradient norm at initialisation",
        title="Plain: gradients explode toward the input; ResNet: even",
    )
    axis.grid(alpha=0.3, which="both")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", default="digits", help="an image folder (CIFAR-10 JPEGs), a tfds name or 'digits'"
    )
    parser.add_argument(
        "--train-per-class",
        type=int,
        help="train on the first N images of each class (folders only)",
    )
    parser.add_argument(
        "--test-per-class", type=int, help="test on the first N images of each class (folders only)"
    )
    parser.add_argument("--depths", type=int, nargs="+", default=[20, 32, 56])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--lr", type=float, default=0.2, help="at a global batch of 256 (0.1 at 128, the paper's)"
    )
    parser.add_argument("--precision", default="bfloat16")
    parser.add_argument(
        "--gradient-depth", type=int, default=56, help="depth of the gradient-norm comparison"
    )
    parser.add_argument("--out", default="docs/degradation")
    parser.add_argument(
        "--progress",
        dest="verbose",
        type=int,
        choices=(0, 1, 2),
        default=2,
        help="Keras' progress output: 0 none, 1 a progress bar, 2 a line per epoch",
    )
    args = parser.parse_args(argv)

    os.makedirs(args.out, exist_ok=True)
    data = args.data
    if args.train_per_class or args.test_per_class:
        if not os.path.isdir(data):
            parser.error("--train-per-class and --test-per-class need an image folder as --data")
        data = subset(data, args.out, args.train_per_class, args.test_per_class)
    started = time.time()
    histories = run_all(
        data,
        args.out,
        args.depths,
        args.epochs,
        args.batch_size,
        args.lr,
        args.precision,
        args.verbose,
    )
    for family in FAMILIES:
        plot_family(histories, family, args.depths, os.path.join(args.out, f"{family}.png"))

    keras.mixed_precision.set_global_policy("float32")
    dataset, _ = data_lib.load(data, "train")
    images, labels = next(iter(dataset.shuffle(10_000, seed=0).batch(128)))
    norms = {
        f"{'plain' if plain else 'ResNet'}-{args.gradient_depth}": gradient_norms(
            args.gradient_depth, tf.cast(images, tf.float32), labels.numpy(), plain
        )
        for plain in (True, False)
    }
    plot_gradients(norms, os.path.join(args.out, "gradient_norms.png"))

    final = {
        name: {
            "train_error": 100 * (1 - rows[-1]["accuracy"]),
            "test_error": 100 * (1 - rows[-1]["val_accuracy"]),
        }
        for name, rows in histories.items()
    }
    results = {
        "settings": {**vars(args), "data": data},
        "final_errors_percent": final,
        "gradient_norms": norms,
        "wall_seconds": round(time.time() - started),
    }
    write_json(os.path.join(args.out, "results.json"), results)
    lines = ["| network | training error (%) | test error (%) |", "|---|---:|---:|"]
    lines += [
        f"| {name} | {row['train_error']:.2f} | {row['test_error']:.2f} |"
        for name, row in final.items()
    ]
    with open(os.path.join(args.out, "results.md"), "w") as file:
        file.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return results


if __name__ == "__main__":
    main()
