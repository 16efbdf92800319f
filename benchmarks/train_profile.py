"""Where a training step's time goes: per-op self time of our model's `fit` steps (TensorFlow's
profiler) or of the same network's steps in plain PyTorch (torch.profiler), per step.

    # ours
    python benchmarks/train_profile.py resnet20 float32
    # ours, with Keras' BatchNormalization
    python benchmarks/train_profile.py resnet20 float32 --keras-batchnorm
    # ours, with Keras' own 1x1 kernel gradients (Conv2DBackpropFilter; before issue 19)
    python benchmarks/train_profile.py resnet50 bfloat16 --keras-conv
    # the same network in plain PyTorch (torchvision's resnet50() for ResNet-50)
    /path/to/torch-venv/bin/python benchmarks/train_profile.py resnet50 bfloat16 --torch
    # oneDNN's own timing of its primitives (convolutions by direction, reorders, matmuls)
    python benchmarks/train_profile.py resnet50 bfloat16 --onednn

Each table gives the ops by class (convolutions, their gradients, matmuls, BatchNorm,
element-wise, casts, optimizer, other), then the top ops.

The networks, batches, loss and optimizer are benchmarks/train_vs_torch.py's. TensorFlow's op
times are summed over its threads and inflated by the profiler; compare shares within a table
and tables of one framework, and take speed from train_vs_torch.py.
"""

import argparse
import collections
import glob
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile

_spec = importlib.util.spec_from_file_location(
    "train_vs_torch", os.path.join(os.path.dirname(__file__), "train_vs_torch.py")
)
train_vs_torch = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(train_vs_torch)


# (class, pattern on the lower-cased op name), first match wins. PyTorch's
# convolution_backward computes both gradients: compare the two backward rows summed.
CLASSES = [
    ("reorders (layout conversions)", r"reorder"),
    ("conv kernel gradient", r"backpropfilter|bwd_w|backward_weights"),
    ("conv input gradient", r"backpropinput|bwd_d|backward_data"),
    ("conv gradients (PyTorch: both in one op)", r"convolution_backward"),
    ("conv forward", r"conv"),
    ("matmul (our 1x1 kernel gradients, the classifier)", r"matmul|addmm|\bmm\b|inner_product"),
    ("BatchNorm and its gradient", r"batch_?norm"),
    ("casts", r"^cast$|^aten::to$|_to_copy|^aten::copy_$"),
    (
        "element-wise (ReLU, residual adds, their gradients)",
        r"relu|clamp|threshold|add|mul|sub|eltwise",
    ),
    ("pooling, slices, pads", r"pool|slice|pad|mean"),
]
OPTIMIZER = "optimizer updates"


def op_class(name):
    lowered = name.lower()
    return next((label for label, pattern in CLASSES if re.search(pattern, lowered)), "other")


def _keras_profile(model_name, precision, config, steps, keras_batchnorm, keras_conv):
    import tensorflow as tf
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as plugin

    from keras_resnet.layers import BatchNormalization, Conv2D

    if keras_batchnorm:
        BatchNormalization._fusable = lambda self, inputs, mask: False
    if keras_conv:
        Conv2D._pointwise = lambda self, training: False
    model, data = train_vs_torch._keras_trainer(model_name, precision, config)
    model.fit(data, steps_per_epoch=3, epochs=1, verbose=0)  # trace and warm up
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
        tf.profiler.experimental.stop()
        trace = glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True)[0]
        table = json.loads(plugin.xspace_to_tools_data([trace], "framework_op_stats", {})[0])[0]
    columns = [column["label"] for column in table["cols"]]
    kind, name, where, self_time = (
        columns.index(label)
        for label in ("Operation Type", "Operation Name", "Host/device", "Total self-time (us)")
    )
    totals, classes = collections.Counter(), collections.Counter()
    for row in table["rows"]:
        values = [cell.get("v") for cell in row["c"]]
        if values[where] == "Host" and values[kind] != "IDLE":
            totals[values[kind]] += values[self_time]
            # Keras' optimizers apply their updates inside their own name scope.
            optimizer = re.search(r"(^|/)sgd(_\d+)?/", (values[name] or "").lower())
            classes[OPTIMIZER if optimizer else op_class(values[kind])] += values[self_time]
    return totals, classes


def _torch_profile(model_name, precision, config, steps):
    import torch

    train = train_vs_torch._torch_trainer(model_name, precision, config)
    train(3)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        train(steps)
    totals, classes = collections.Counter(), collections.Counter()
    for event in profile.events():
        totals[event.name] += event.self_cpu_time_total
        parent, optimizer = event, False
        while parent is not None and not optimizer:
            optimizer, parent = parent.name.startswith("Optimizer."), parent.cpu_parent
        classes[OPTIMIZER if optimizer else op_class(event.name)] += event.self_cpu_time_total
    return totals, classes


def _onednn_profile(args):
    """Runs this script's Keras profile in a child with ONEDNN_VERBOSE=1 and sums oneDNN's own
    execution times per primitive (kind, direction, implementation); the warm-up steps are
    counted too, so compare shares."""
    command = [sys.executable, os.path.abspath(__file__), args.model, args.precision]
    command += ["--steps", str(args.steps or 2)] + (["--keras-conv"] if args.keras_conv else [])
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, "ONEDNN_VERBOSE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"},
        check=True,
    )
    totals, classes = collections.Counter(), collections.Counter()
    for line in result.stdout.splitlines():
        fields = line.split(",")
        if line.startswith("onednn_verbose") and len(fields) > 6 and fields[2] == "exec":
            primitive = f"{fields[4]} {fields[5]} {fields[6]}"
            totals[primitive] += float(fields[-1]) * 1000  # ms to us
            classes[op_class(f"{fields[4]} {fields[6]}")] += float(fields[-1]) * 1000
    return totals, classes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=list(train_vs_torch.CONFIGS))
    parser.add_argument("precision", choices=["float32", "bfloat16"])
    parser.add_argument(
        "--torch", action="store_true", help="profile the plain PyTorch network instead"
    )
    parser.add_argument(
        "--keras-batchnorm",
        action="store_true",
        help="ours with Keras' BatchNormalization computation",
    )
    parser.add_argument(
        "--keras-conv",
        action="store_true",
        help="ours with Keras' own 1x1 kernel gradients (Conv2DBackpropFilter)",
    )
    parser.add_argument(
        "--onednn", action="store_true", help="oneDNN's timing of its primitives (ours)"
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="profiled steps (default: 10 for resnet20, 2 for resnet50)",
    )
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    config = train_vs_torch.CONFIGS[args.model]
    steps = args.steps or (10 if args.model == "resnet20" else 2)
    if args.onednn:
        totals, classes = _onednn_profile(args)
    elif args.torch:
        totals, classes = _torch_profile(args.model, args.precision, config, steps)
    else:
        totals, classes = _keras_profile(
            args.model, args.precision, config, steps, args.keras_batchnorm, args.keras_conv
        )
    total = sum(totals.values())
    side = "PyTorch" if args.torch else "oneDNN (ours)" if args.onednn else "keras_resnet"
    for title, counts, top in (("op class", classes, None), ("op", totals, args.top)):
        print(f"| {side} {args.model} {args.precision}: {title} | ms per step | share |")
        print("|---|---:|---:|")
        for name, microseconds in counts.most_common(top):
            if not microseconds:
                continue
            share = 100 * microseconds / total
            print(f"| {name} | {microseconds / steps / 1000:.1f} | {share:.1f}% |")
        print(f"| all | {total / steps / 1000:.1f} | 100% |\n")


if __name__ == "__main__":
    main()
