"""Inference speed of one model in every runtime, side by side in one process.

Timings on a shared CPU are noisy, so runtimes are measured in alternating rounds and each
figure is the median over rounds; compare the ratios, not the absolute times.
"""

import json
import statistics
import tempfile
import time

import numpy as np

from keras_resnet.tools import runtimes
from keras_resnet.tools._tensorflow import tf
from keras_resnet.tools.config import EXPORT_FORMATS, ONNX_FORMATS, TFLITE_FORMATS
from keras_resnet.tools.export import export

RUNTIMES = (
    "keras_predict",
    "tf_function",
    "saved_model",
    "tflite_float32",
    "tflite_float16",
    "tflite_dynamic",
    "tflite_int8",
    "onnx",
    "onnx_int8",
)
BASELINE = "tf_function"


def _callables(model, folder):
    """runtime -> function(images) for the model and its exports in `folder`."""
    compiled = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    calls = {
        "keras_predict": lambda x: model.predict(x, verbose=0, batch_size=len(x)),
        "tf_function": lambda x: compiled(x).numpy(),
        "saved_model": runtimes.SavedModelPredictor(folder),
    }
    for kind, file in TFLITE_FORMATS.items():
        calls[kind] = runtimes.LiteRTPredictor(f"{folder}/{file}")
    for kind, file in ONNX_FORMATS.items():
        calls[kind] = runtimes.OnnxPredictor(f"{folder}/{file}")
    return {name: calls[name] for name in RUNTIMES}


def _seconds(function, images, calls):
    start = time.perf_counter()
    for _ in range(calls):
        function(images)
    return (time.perf_counter() - start) / calls


def benchmark(
    model, *, batch_size: int = 32, rounds: int = 3, latency_calls: int = 10, out: str | None = None
) -> list[dict]:
    """Batch-1 latency and batch-`batch_size` throughput of `model` in each of `RUNTIMES`.

    Args:
        model: a Keras model that takes raw 0-255 pixels (`include_preprocessing=True`).
        rounds: alternating measurement rounds; each figure is the median over them.
        latency_calls: batch-1 calls per round.
        out: where the exports go (default: a temporary folder).

    Returns:
        One row per runtime: latency_ms, images_per_s, both as ratios to the compiled float32
        `tf.function`, and the exported file's size in bytes.

    Example:
        >>> model = ResNet20(classes=10, include_preprocessing=True)  # doctest: +SKIP
        >>> rows = benchmark(model, rounds=1)  # doctest: +SKIP
    """
    height, width, channels = model.input_shape[1:]
    rng = np.random.default_rng(0)
    calibration = rng.uniform(0, 255, (16, height, width, channels)).round().astype("float32")
    with tempfile.TemporaryDirectory() as scratch:
        folder = export(
            model, out or scratch, name=model.name, formats=EXPORT_FORMATS, calibration=calibration
        )
        with open(f"{folder}/{runtimes.MANIFEST}") as file:
            sizes = json.load(file)["bytes"]
        calls = _callables(model, folder)
        pixels = (
            calibration[:1],
            rng.uniform(0, 255, (batch_size, height, width, channels)).round().astype("float32"),
        )
        # Each runtime gets the pixels in the dtype its file takes, converted before the clock
        # starts: uint8 for the int8 files (a camera frame's bytes), float32 for the others.
        inputs = {
            name: tuple(
                images.astype(getattr(function, "input_dtype", "float32")) for images in pixels
            )
            for name, function in calls.items()
        }
        for name, function in calls.items():  # warm up: tracing, allocation, delegate set-up
            for images in inputs[name]:
                function(images)
        latency = {name: [] for name in calls}
        throughput = {name: [] for name in calls}
        for _ in range(rounds):
            for name, function in calls.items():
                one, batch = inputs[name]
                latency[name].append(_seconds(function, one, latency_calls))
                throughput[name].append(batch_size / _seconds(function, batch, 1))
    rows = []
    for name in calls:
        rows.append(
            {
                "runtime": name,
                "latency_ms": 1000 * statistics.median(latency[name]),
                "images_per_s": statistics.median(throughput[name]),
                "bytes": sizes.get(name),
            }
        )
    base = next(row for row in rows if row["runtime"] == BASELINE)
    for row in rows:
        row["latency_speedup"] = base["latency_ms"] / row["latency_ms"]
        row["throughput_ratio"] = row["images_per_s"] / base["images_per_s"]
    return rows


def format_table(rows, batch_size: int = 32) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| runtime | batch-1 latency (ms) | vs tf.function "
        f"| batch-{batch_size} images/s | vs tf.function | file (MB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        size = f"{row['bytes'] / 1e6:.1f}" if row.get("bytes") else ""
        lines.append(
            f"| {row['runtime']} | {row['latency_ms']:.2f} | {row['latency_speedup']:.2f}x | "
            f"{row['images_per_s']:.1f} | {row['throughput_ratio']:.2f}x | {size} |"
        )
    return "\n".join(lines)
