"""Training throughput of our models through `model.fit` against the same networks in plain
PyTorch, on the same CPU, in alternating processes.

The reference for ResNet-50 is torchvision's own `resnet50()`; for ResNet-20, which torchvision
does not have, a PyTorch copy of He et al.'s CIFAR net (below).

For each network (ResNet-20 at 32x32, batch 128; ResNet-50 v1.5 at 224x224, batch 32) and
precision (float32; bfloat16: Keras' "mixed_bfloat16" policy against `torch.autocast`), each
round starts one Keras process and one PyTorch process, one after the other, so that load on a
shared machine hits both alike. Each process builds its model, warms up (tracing, allocation),
then times windows of a few training steps and reports its best; the table shows the best
over rounds and the ratio ours / PyTorch. Keras' windows are epochs of one `fit` call, timed by
`keras_resnet.tools.train.Throughput` (from each epoch's start to its end: timing whole `fit`
calls would count tf.data's iterator teardown, which can wait seconds for its autotuning
thread). Both sides train the same network
(same layers, padding, shortcuts, BatchNorm momentum and epsilon), the same loss (softmax
cross-entropy on logits) and the same optimizer (SGD, Nesterov momentum 0.9, L2 weight decay
5e-4 on conv and dense kernels only) on the same in-memory random batches.

PyTorch is a benchmark-only dependency: install it in its own environment (PyPI's default
wheel pulls ~2.5 GB of CUDA libraries; the CPU wheel is enough) and point `--torch-python` at
it; the package and its tests never need it.

    python benchmarks/train_vs_torch.py --torch-python /path/to/torch-venv/bin/python
    python benchmarks/train_vs_torch.py --models resnet20 --precisions float32 --rounds 1  # one row
"""

import argparse
import json
import os
import subprocess
import sys
import time

# Short windows, many of them: the best one is the least disturbed by other work on the host.
CONFIGS = {
    "resnet20": {"batch": 128, "size": 32, "classes": 10, "steps": 10, "windows": 6},
    "resnet50": {"batch": 32, "size": 224, "classes": 1000, "steps": 2, "windows": 3},
}
LR, MOMENTUM, WEIGHT_DECAY = 0.1, 0.9, 5e-4


def _batches(np, config, count=8):
    """`count` random batches (NHWC float32 images, int labels), the same on both sides; enough
    that neither side memorises them (drives its loss to 0) within a run."""
    rng = np.random.default_rng(0)
    images = rng.standard_normal(
        (count, config["batch"], config["size"], config["size"], 3), dtype=np.float32
    )
    labels = rng.integers(0, config["classes"], (count, config["batch"]))
    return images, labels


def _keras_trainer(model_name, precision, config):
    """Our model, compiled as the PyTorch side trains, and its endless tf.data batches."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import numpy as np
    import tensorflow as tf

    import keras_resnet
    from keras_resnet.optimizers import SGD

    keras.mixed_precision.set_global_policy(
        "mixed_bfloat16" if precision == "bfloat16" else "float32"
    )
    model = keras_resnet.MODELS[model_name](
        classes=config["classes"],
        classifier_activation=None,
        input_shape=(config["size"], config["size"], 3),
    )
    model.compile(
        SGD(LR, momentum=MOMENTUM, nesterov=True, weight_decay=WEIGHT_DECAY),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model, tf.data.Dataset.from_tensor_slices(_batches(np, config)).cache().repeat()


def _keras_worker(model_name, precision, config, steps, windows):
    from keras_resnet.tools.train import Throughput

    model, data = _keras_trainer(model_name, precision, config)
    throughput = Throughput(images=steps * config["batch"])
    model.fit(data, steps_per_epoch=steps, epochs=1 + windows, verbose=0, callbacks=[throughput])
    return max(throughput.rates[1:])  # the first epoch traces and warms up


def _torch_modules(torch):
    nn = torch.nn

    class Basic(nn.Module):
        """He et al. 2015's CIFAR block with the option-A shortcut (subsample,
        zero-pad channels)."""

        def __init__(self, inputs, filters, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(inputs, filters, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(filters)
            self.conv2 = nn.Conv2d(filters, filters, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(filters)
            self.stride, self.pad = stride, filters - inputs

        def forward(self, x):
            y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            shortcut = x[:, :, :: self.stride, :: self.stride] if self.stride > 1 else x
            if self.pad:
                shortcut = nn.functional.pad(
                    shortcut, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2)
                )
            return torch.relu(y + shortcut)

    def resnet(block, stem, stages, expansion, classes):
        layers, inputs = list(stem), stem[0].out_channels
        for index, (filters, blocks) in enumerate(stages):
            for i in range(blocks):
                layers.append(block(inputs, filters, 2 if index > 0 and i == 0 else 1))
                inputs = filters * expansion
        return nn.Sequential(
            *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(inputs, classes)
        )

    def resnet20(classes):
        stem = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
        return resnet(Basic, stem, [(16, 3), (32, 3), (64, 3)], 1, classes)

    def resnet50(classes):
        import torchvision

        return torchvision.models.resnet50(num_classes=classes)

    return {"resnet20": resnet20, "resnet50": resnet50}


def _torch_trainer(model_name, precision, config):
    """`train(count)`: `count` steps of the same network in plain PyTorch; returns the last loss."""
    import numpy as np
    import torch

    model = _torch_modules(torch)[model_name](config["classes"]).to(
        memory_format=torch.channels_last
    )
    kernels = [p for name, p in model.named_parameters() if p.dim() > 1]
    others = [p for name, p in model.named_parameters() if p.dim() <= 1]
    optimizer = torch.optim.SGD(
        [{"params": kernels, "weight_decay": WEIGHT_DECAY}, {"params": others, "weight_decay": 0}],
        lr=LR,
        momentum=MOMENTUM,
        nesterov=True,
    )
    loss_function = torch.nn.CrossEntropyLoss()
    images, labels = _batches(np, config)
    batches = [
        (
            torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last),
            torch.from_numpy(y),
        )
        for x, y in zip(images, labels, strict=True)
    ]
    model.train()

    def train(count):
        for step in range(count):
            x, y = batches[step % len(batches)]
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
                loss = loss_function(model(x), y)
            loss.backward()
            optimizer.step()
        return float(loss.detach())  # waits for the last step, as fit does

    return train


def _torch_worker(model_name, precision, config, steps, windows):
    train = _torch_trainer(model_name, precision, config)
    train(3)
    best = 0.0
    for _ in range(windows):
        start = time.perf_counter()
        train(steps)
        best = max(best, steps * config["batch"] / (time.perf_counter() - start))
    return best


def cpu():
    """The CPU's model name and its AMX and AVX-512 flags (Linux), for the table's header."""
    try:
        with open("/proc/cpuinfo") as file:
            info = file.read()
    except OSError:
        return "unknown CPU"
    fields = dict(line.split(":", 1) for line in info.split("\n\n")[0].splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = sorted(
        flag for flag in fields.get("flags", "").split() if flag.startswith(("amx", "avx512"))
    )
    return f"{fields.get('model name', 'unknown CPU')}, {os.cpu_count()} cores; " + (
        " ".join(flags) or "no AMX or AVX-512"
    )


def _run_worker(python, framework, model_name, precision, steps, windows):
    command = [
        python,
        os.path.abspath(__file__),
        "--worker",
        framework,
        "--models",
        model_name,
        "--precisions",
        precision,
        "--steps",
        str(steps),
        "--windows",
        str(windows),
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode or not lines:
        raise RuntimeError(f"{framework} {model_name} {precision} failed:\n{result.stderr[-3000:]}")
    return json.loads(lines[-1])["images_per_s"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--torch-python", default=sys.executable, help="a Python with torch installed"
    )
    parser.add_argument("--models", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument(
        "--precisions", nargs="+", default=["float32", "bfloat16"], choices=["float32", "bfloat16"]
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, help="steps per timed window (default: per model)")
    parser.add_argument(
        "--windows", type=int, help="timed windows per process (default: per model)"
    )
    parser.add_argument("--worker", choices=["keras", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        model_name, precision = args.models[0], args.precisions[0]
        config = CONFIGS[model_name]
        worker = _keras_worker if args.worker == "keras" else _torch_worker
        rate = worker(
            model_name,
            precision,
            config,
            args.steps or config["steps"],
            args.windows or config["windows"],
        )
        print(json.dumps({"images_per_s": rate}))
        return

    print(f"CPU: {cpu()}")
    print(f"load average before: {os.getloadavg()}")
    rows = [(model_name, precision) for model_name in args.models for precision in args.precisions]
    best = {(row, framework): 0.0 for row in rows for framework in ("keras", "torch")}
    for _ in range(args.rounds):
        for model_name, precision in rows:
            steps, windows = (
                args.steps or CONFIGS[model_name]["steps"],
                args.windows or CONFIGS[model_name]["windows"],
            )
            for framework, python in (("keras", sys.executable), ("torch", args.torch_python)):
                rate = _run_worker(python, framework, model_name, precision, steps, windows)
                best[(model_name, precision), framework] = max(
                    best[(model_name, precision), framework], rate
                )
    print(f"load average after: {os.getloadavg()}")
    print(
        "| model | batch | precision | keras_resnet `fit` images/s "
        "| PyTorch images/s | ours / PyTorch |"
    )
    print("|---|---:|---|---:|---:|---:|")
    for row in rows:
        ours, theirs = best[row, "keras"], best[row, "torch"]
        digits = 0 if min(ours, theirs) >= 100 else 1
        print(
            f"| {row[0]} | {CONFIGS[row[0]]['batch']} | {row[1]} "
            f"| {ours:,.{digits}f} | {theirs:,.{digits}f} | {ours / theirs:.2f} |"
        )


if __name__ == "__main__":
    main()
