"""Where a training step's time goes: per-op self time of our model's `fit` steps (TensorFlow's
profiler) or of the same network's steps in plain PyTorch (torch.profiler), per step.

    # ours
    python benchmarks/train_profile.py resnet20 float32
    # ours, with Keras' BatchNormalization
    python benchmarks/train_profile.py resnet20 float32 --keras-batchnorm
    # the same network in plain PyTorch
    /path/to/torch-venv/bin/python benchmarks/train_profile.py resnet20 bfloat16 --torch

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
import tempfile

_spec = importlib.util.spec_from_file_location(
    "train_vs_torch", os.path.join(os.path.dirname(__file__), "train_vs_torch.py")
)
train_vs_torch = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(train_vs_torch)


def _keras_profile(model_name, precision, config, steps, keras_batchnorm):
    import tensorflow as tf
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as plugin

    from keras_resnet.layers import BatchNormalization

    if keras_batchnorm:
        BatchNormalization._fusable = lambda self, inputs, mask: False
    model, data = train_vs_torch._keras_trainer(model_name, precision, config)
    model.fit(data, steps_per_epoch=3, epochs=1, verbose=0)  # trace and warm up
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
        tf.profiler.experimental.stop()
        trace = glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True)[0]
        table = json.loads(plugin.xspace_to_tools_data([trace], "framework_op_stats", {})[0])[0]
    columns = [column["label"] for column in table["cols"]]
    kind, where, self_time = (
        columns.index(label) for label in ("Operation Type", "Host/device", "Total self-time (us)")
    )
    totals = collections.Counter()
    for row in table["rows"]:
        values = [cell.get("v") for cell in row["c"]]
        if values[where] == "Host" and values[kind] != "IDLE":
            totals[values[kind]] += values[self_time]
    return totals


def _torch_profile(model_name, precision, config, steps):
    import torch

    train = train_vs_torch._torch_trainer(model_name, precision, config)
    train(3)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        train(steps)
    return collections.Counter(
        {event.key: event.self_cpu_time_total for event in profile.key_averages()}
    )


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
        "--steps",
        type=int,
        default=None,
        help="profiled steps (default: 10 for resnet20, 2 for resnet50)",
    )
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    config = train_vs_torch.CONFIGS[args.model]
    steps = args.steps or (10 if args.model == "resnet20" else 2)
    if args.torch:
        totals = _torch_profile(args.model, args.precision, config, steps)
    else:
        totals = _keras_profile(args.model, args.precision, config, steps, args.keras_batchnorm)
    total = sum(totals.values())
    print(
        f"| {'PyTorch' if args.torch else 'keras_resnet'} {args.model} {args.precision} "
        "| ms per step | share |"
    )
    print("|---|---:|---:|")
    for name, microseconds in totals.most_common(args.top):
        print(f"| {name} | {microseconds / steps / 1000:.1f} | {100 * microseconds / total:.1f}% |")
    print(f"| all ops | {total / steps / 1000:.1f} | 100% |")


if __name__ == "__main__":
    main()
