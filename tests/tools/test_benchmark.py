"""The benchmark (keras_resnet.tools.benchmark): every runtime measured side by side, each ratio
against the compiled tf.function's figures of the same run."""

import numpy as np
import pytest

from keras_resnet.tools import benchmark as benchmark_lib
from keras_resnet.tools.benchmark import RUNTIMES, benchmark, format_table
from keras_resnet.tools.config import EXPORT_FORMATS


def test_benchmark_measures_every_runtime_side_by_side(exported, monkeypatch):
    model, _, path = exported
    calls = []

    def export_once(model, out, **options):
        """What `benchmark` asks of the export; the session's export of this model answers it
        (tests/tools/test_export.py checks that export)."""
        calls.append((model, options))
        return path

    monkeypatch.setattr(benchmark_lib, "export", export_once)
    rows = benchmark(model, batch_size=4, rounds=1, latency_calls=2)
    [(exported_model, options)] = calls
    assert exported_model is model and options["name"] == model.name
    assert options["formats"] == EXPORT_FORMATS  # every format: a row each
    calibration = options["calibration"]  # raw 0-255 pixels of the model's size
    assert calibration.shape == (16, *model.input_shape[1:]) and calibration.dtype == "float32"
    assert calibration.min() >= 0 and calibration.max() <= 255
    assert np.array_equal(calibration, calibration.round())
    assert [row["runtime"] for row in rows] == list(RUNTIMES)
    assert all(row["latency_ms"] > 0 and row["images_per_s"] > 0 for row in rows)
    baseline = rows[RUNTIMES.index("tf_function")]
    for row in rows:  # every ratio is against the compiled tf.function's figures of the same run
        assert row["latency_speedup"] == pytest.approx(
            baseline["latency_ms"] / row["latency_ms"], rel=1e-12
        )
        assert row["throughput_ratio"] == pytest.approx(
            row["images_per_s"] / baseline["images_per_s"], rel=1e-12
        )
    assert len({row["latency_ms"] for row in rows}) == len(rows)  # measured each, not copied
    table = format_table(rows, 4).splitlines()
    assert (
        table[0] == "| runtime | batch-1 latency (ms) | vs tf.function | batch-4 images/s "
        "| vs tf.function | file (MB) |"
    )
    assert len(table) == 2 + len(RUNTIMES) and table[3].startswith("| tf_function | ")
    assert table[3].endswith("| 1.00x |  |")
    sizes = {row["runtime"]: row["bytes"] for row in rows}
    assert (
        sizes["onnx"] > 1e6 and sizes["onnx_int8"] < 0.4e6
    )  # model.onnx 1.1 MB, model_int8.onnx 0.37 MB
