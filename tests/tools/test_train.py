"""Data pipelines, training runs and their run folders, resume after SIGKILL, tf.distribute."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_resnet
from keras_resnet.tools import data as data_lib
from keras_resnet.tools.train import TrainConfig, train


def write_folder(root, classes=("cat", "dog"), per_class=6, size=12):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for name in classes:
            os.makedirs(root / split / name, exist_ok=True)
            for i in range(per_class):
                pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                (root / split / name / f"{i}.png").write_bytes(tf.io.encode_png(pixels).numpy())


def test_embedded_digits():
    train_set, info = data_lib.load("digits", "train")
    test_set, _ = data_lib.load("digits", "test")
    assert (info.num_classes, info.image_shape, info.splits) == (
        10,
        (8, 8, 3),
        {"train": 1437, "test": 360},
    )
    images, labels = next(iter(train_set.batch(1437)))
    assert (
        images.shape == (1437, 8, 8, 3)
        and images.dtype == tf.uint8
        and int(tf.reduce_max(images)) == 255
    )
    assert min(np.bincount(labels.numpy())) == 130  # every digit present (fixed split)
    assert len(list(test_set)) == 360


def test_folder_reports_and_skips_unreadable_files(tmp_path):
    write_folder(tmp_path)
    (tmp_path / "train" / "cat" / "notes.jpg").write_text(
        "not an image"
    )  # wrong format: reported, skipped
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    jpeg = tf.io.encode_jpeg(noise).numpy()
    (tmp_path / "train" / "dog" / "truncated.jpg").write_bytes(
        jpeg[: len(jpeg) // 2]
    )  # a header, half the data
    with pytest.warns(UserWarning) as caught:
        dataset, info = data_lib.load(str(tmp_path), "train")
    [warning] = [str(w.message) for w in caught]
    assert warning.startswith(f"{tmp_path / 'train'}: 2 file(s) will not be used: ")
    assert (
        f"{tmp_path / 'train' / 'cat' / 'notes.jpg'}: not an image file, or one whose header is damaged (JPEG, PNG, GIF, BMP, WEBP)"
        in warning
    )
    assert (
        f"{tmp_path / 'train' / 'dog' / 'truncated.jpg'}: cannot be decoded (truncated or corrupt)"
        in warning
    )
    assert [path for path, _ in info.skipped] == [
        str(tmp_path / "train" / "cat" / "notes.jpg"),
        str(tmp_path / "train" / "dog" / "truncated.jpg"),
    ]
    assert info.class_names == ("cat", "dog") and info.image_shape == (12, 12, 3)
    assert int(dataset.cardinality()) == 12  # known: fit never runs "out of data"
    labels = [int(label) for _, label in dataset]
    assert sorted(labels) == [0] * 6 + [1] * 6
    with pytest.raises(ValueError, match=r"`split` must name a folder.*received split='val'"):
        data_lib.load(str(tmp_path), "val")


@pytest.mark.parametrize(
    "recipe, training, size, shape",
    [
        ("cifar", True, (12, 12), (4, 12, 12, 3)),
        ("imagenet", True, (10, 10), (4, 10, 10, 3)),
        ("imagenet", False, (10, 10), (4, 10, 10, 3)),
        ("none", False, (12, 12), (4, 12, 12, 3)),
    ],
)
def test_pipeline_recipes(tmp_path, recipe, training, size, shape):
    write_folder(tmp_path)
    dataset, _ = data_lib.load(str(tmp_path), "train")
    pipeline = data_lib.pipeline(
        dataset, training=training, batch_size=4, recipe=recipe, image_size=size, seed=0
    )
    assert (
        tuple(pipeline.element_spec[0].shape[1:]) == shape[1:]
    )  # static: a Functional model needs the channels
    batches = list(pipeline)
    assert batches[0][0].shape == shape and batches[0][0].dtype == tf.float32
    assert len(batches) == 3  # 12 images: training drops no remainder here
    assert all(
        float(tf.reduce_min(b[0])) >= 0 and float(tf.reduce_max(b[0])) <= 255 for b in batches
    )


def test_training_drops_the_last_partial_batch():
    dataset = tf.data.Dataset.from_tensor_slices(
        (np.zeros((10, 8, 8, 3), "uint8"), np.zeros(10, "int32"))
    )
    sizes = [int(x.shape[0]) for x, _ in data_lib.pipeline(dataset, training=True, batch_size=4)]
    assert sizes == [4, 4]
    sizes = [int(x.shape[0]) for x, _ in data_lib.pipeline(dataset, training=False, batch_size=4)]
    assert sizes == [4, 4, 2]


def test_tfds_source_through_tfds_reader():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=6):
        dataset, info = data_lib.load("cifar10", "train", download=False)
        images, labels = next(iter(dataset.batch(6)))
    assert (
        info.num_classes == 10
        and info.image_shape == (32, 32, 3)
        and images.shape == (6, 32, 32, 3)
    )


def read_history(run):
    with open(run / "history.csv") as file:
        return list(csv.DictReader(file))


def test_train_writes_the_run_folder_and_resumes(tmp_path):
    exports = tmp_path / "saved_models"
    config = dict(
        model="resnet20",
        data="digits",
        epochs=2,
        batch_size=64,
        out=str(tmp_path / "run"),
        verbose=0,
        export=str(exports),
        export_formats=("saved_model", "tflite_int8"),
    )
    metrics = train(TrainConfig(**config))
    run = tmp_path / "run"
    # The finished run is exported, verified, with its classes, recipe and evaluation in the manifest.
    manifest = json.load(open(exports / "run" / "1" / "manifest.json"))
    assert (
        manifest["class_names"] == [str(digit) for digit in range(10)]
        and manifest["recipe"] == "none"
    )
    assert manifest["evaluation"] == pytest.approx(metrics)
    assert manifest["verification"]["saved_model"]["max_abs_diff"] <= 1e-5
    assert manifest["verification"]["tflite_int8"]["input_quantization"] == [1.0, 0]
    assert json.load(open(run / "state.json"))["export"] == {
        "epoch": 2,
        "path": str(exports / "run" / "1"),
    }
    for name in (
        "state.json",
        "config.json",
        "last.keras",
        "best.keras",
        "history.csv",
        "curves.png",
        "evaluation.json",
    ):
        assert (run / name).is_file(), name
    history = read_history(run)
    assert [row["epoch"] for row in history] == ["1", "2"]
    # Throughput of each epoch's 1,408 training images (22 steps of 64), without its evaluation.
    assert all(float(row["images_per_s"]) > 0 for row in history)
    assert os.listdir(run / "checkpoints") == ["epoch-2.keras"]
    assert json.load(open(run / "evaluation.json")) == pytest.approx(metrics)
    assert 0.1 < metrics["accuracy"] <= 1
    # The same command with more epochs continues from epoch 2.
    train(TrainConfig(**{**config, "epochs": 3}))
    assert [row["epoch"] for row in read_history(run)] == ["1", "2", "3"]
    assert json.load(open(run / "state.json"))["epoch"] == 3
    assert sorted(os.listdir(exports / "run")) == [
        "1",
        "2",
    ]  # the longer run's model is a new version


@pytest.mark.parametrize("name", ["SGD", "AdamW"])
def test_weight_decay_skips_1d_variables_and_survives_a_checkpoint(tmp_path, name):
    inputs = keras.Input((3,))
    model = keras.Model(
        inputs,
        keras.layers.BatchNormalization(name="bn")(keras.layers.Dense(2, name="dense")(inputs)),
    )
    model.compile(getattr(keras_resnet.optimizers, name)(0.1, weight_decay=0.5), "mse")
    model.save(tmp_path / "m.keras")
    model.optimizer.exclude_from_weight_decay(
        var_names=["kernel"]
    )  # a user's exclusion still counts
    assert not model.optimizer._use_weight_decay(model.get_layer("dense").kernel)
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is getattr(keras_resnet.optimizers, name)
    decays = {v.path: loaded.optimizer._use_weight_decay(v) for v in loaded.trainable_variables}
    assert decays == {
        "dense/kernel": True,
        "dense/bias": False,
        "bn/gamma": False,
        "bn/beta": False,
    }


def test_sgd_weight_decay_is_l2_on_the_gradient_before_momentum():
    kernel, bias = (
        keras.Variable(np.full((2, 2), 2.0, "float32")),
        keras.Variable(np.full((2,), 2.0, "float32")),
    )
    optimizer = keras_resnet.optimizers.SGD(0.1, momentum=0.9, weight_decay=0.01)
    gradient = np.full((2, 2), 1.0, "float32")
    for _ in range(2):
        optimizer.apply_gradients([(gradient, kernel), (gradient[0], bias)])
    # PyTorch's SGD: g = 1 + 0.01 w; b = 0.9 b + g; w -= 0.1 b.
    # Step 1: g = 1.02, w = 2 - 0.102 = 1.898. Step 2: g = 1.01898, b = 0.918 + 1.01898, w = 1.898 - 0.193698.
    np.testing.assert_allclose(kernel.numpy(), 1.704302, rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        bias.numpy(), 2 - 0.1 - 0.19, rtol=0, atol=1e-6
    )  # no decay on 1-D variables


def test_auto_strategy_on_one_cpu_is_the_default_strategy():
    # Not OneDeviceStrategy: its MultiDeviceIterator stalled every CIFAR-10 validation by ~45 s.
    from keras_resnet.tools.train import make_strategy

    assert make_strategy("auto") is tf.distribute.get_strategy()
    assert isinstance(make_strategy("one_device"), tf.distribute.OneDeviceStrategy)


def test_bad_training_arguments():
    with pytest.raises(
        ValueError,
        match=r"`strategy` must be one of \['auto', 'one_device', 'mirrored', 'multi_worker'\]; received strategy='tpu'",
    ):
        train(TrainConfig(strategy="tpu"))
    with pytest.raises(ValueError, match=r"`epochs` must be an integer >= 1; received epochs=0"):
        train(TrainConfig(epochs=0))


def test_sigkill_mid_epoch_then_resume(tmp_path):
    """A real `keras-resnet train` is killed with SIGKILL inside epoch 2, and started again."""
    run = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "keras_resnet.tools.cli",
        "train",
        "--data",
        "digits",
        "--epochs",
        "4",
        "--batch-size",
        "32",
        "--out",
        str(run),
        "--progress",
        "2",
        "--no-export",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    # Keras prints "Epoch 2/4" as epoch 2 begins, and commits it (state.json) only at its end,
    # seconds later (44 steps): a kill right after the line lands mid-epoch.
    for line in process.stdout:
        if line.startswith("Epoch 2/4"):
            break
    process.send_signal(signal.SIGKILL)
    process.wait()
    state = json.load(open(run / "state.json"))
    assert state["epoch"] == 1 and [row["epoch"] for row in state["history"]] == [
        1
    ]  # killed inside epoch 2
    assert [
        name for name in os.listdir(run / "checkpoints") if not name.startswith(".partial-")
    ] == ["epoch-1.keras"]
    (run / ".partial-last.keras").write_bytes(b"half a file")  # as if killed while writing
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "Resuming" in completed.stdout and "after epoch 1 of 4" in completed.stdout
    assert [row["epoch"] for row in read_history(run)] == ["1", "2", "3", "4"]
    assert json.load(open(run / "state.json"))["epoch"] == 4
    assert not [name for name in os.listdir(run) if name.startswith(".partial-")]


def _tiny_model(synchronized_bn):
    keras.utils.set_random_seed(0)
    return keras_resnet.ResNet(
        "basic",
        (1, 1),
        filters=16,
        classes=3,
        input_shape=(8, 8, 3),
        synchronized_bn=synchronized_bn,
    )


def test_mirrored_two_cpus_with_synchronized_bn_equals_one_device():
    x = np.random.default_rng(0).uniform(-1, 1, (32, 8, 8, 3)).astype("float32")
    y = np.eye(3, dtype="float32")[np.arange(32) % 3]
    results = []
    for strategy, synchronized in [
        (tf.distribute.OneDeviceStrategy("/cpu:0"), False),
        (tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), True),
    ]:
        with strategy.scope():
            model = _tiny_model(synchronized)
            model.compile(
                keras.optimizers.SGD(0.1, momentum=0.9), keras.losses.CategoricalCrossentropy()
            )
        model.fit(
            tf.data.Dataset.from_tensor_slices((x, y)).batch(8), epochs=1, verbose=0, shuffle=False
        )
        results.append((strategy.num_replicas_in_sync, [w.numpy() for w in model.weights]))
    (one, single), (two, mirrored) = results
    assert (one, two) == (1, 2)
    assert max(np.abs(a - b).max() for a, b in zip(single, mirrored, strict=True)) < 1e-5
    assert (
        max(
            np.abs(a - b).max()
            for a, b in zip(single, [w.numpy() for w in _tiny_model(False).weights], strict=True)
        )
        > 1e-3
    )


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_multi_worker_two_processes(tmp_path):
    """Two worker processes on 127.0.0.1 sharing one run folder, as on a shared filesystem."""
    ports = [_free_port(), _free_port()]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    processes = []
    for index in range(2):
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": index}}
            ),
            "TF_CPP_MIN_LOG_LEVEL": "3",
        }
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "keras_resnet.tools.cli",
                    "train",
                    "--strategy",
                    "multi_worker",
                    "--data",
                    "digits",
                    "--epochs",
                    "2",
                    "--batch-size",
                    "64",
                    "--out",
                    str(tmp_path / "run"),
                    "--progress",
                    "0",
                    "--no-export",
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [process.communicate(timeout=600)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], (
        outputs[0][-3000:] + outputs[1][-3000:]
    )
    assert [row["epoch"] for row in read_history(tmp_path / "run")] == ["1", "2"]
    # Both workers evaluate the same (all-reduced) model on the whole test split.
    results = [
        line for output in outputs for line in output.splitlines() if line.startswith("evaluation:")
    ]
    assert len(results) == 2 and results[0] == results[1]
    assert float(results[0].split("accuracy ")[1].split(",")[0]) > 0.5


@pytest.mark.slow  # 36 s: it trains, exports every format and evaluates each; the default suite keeps under 10 min
def test_evaluate_command_on_a_run_and_its_exports(tmp_path):
    run, exports, evaluations = (
        tmp_path / "run",
        tmp_path / "saved_models",
        tmp_path / "evaluations",
    )
    metrics = train(
        TrainConfig(
            data="digits",
            epochs=1,
            batch_size=64,
            out=str(run),
            verbose=0,
            export=str(exports),
            export_formats=("saved_model", "tflite_int8", "onnx", "onnx_int8"),
        )
    )
    version = exports / "run" / "1"
    published = sorted(str(path) for path in version.rglob("*"))
    command = [
        sys.executable,
        "-m",
        "keras_resnet.tools.cli",
        "evaluate",
        str(run / "last.keras"),
        "--data",
        "digits",
        "--out",
        str(evaluations),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    folder = result.stdout.strip().rsplit("written to ", 1)[1].rstrip(")")
    reports = {os.path.basename(folder): json.load(open(os.path.join(folder, "evaluation.json")))}
    from keras_resnet.tools.evaluate import evaluate

    for model, runtime in [
        (version, "saved_model_tf1"),
        (version / "model_int8.tflite", None),
        (version / "model_int8.onnx", None),
        (version / "model.onnx", None),
    ]:  # model.onnx last: `metrics` below is its
        metrics = evaluate(str(model), "digits", out=str(evaluations), runtime=runtime)
        reports[os.path.basename(metrics["folder"])] = json.load(
            open(os.path.join(metrics["folder"], "evaluation.json"))
        )
    # Each in a folder of its own; none in the export TF Serving serves, none beside the run.
    assert sorted(reports) == [
        "run-last-test-1",
        "run-v1-model.onnx-test-1",
        "run-v1-model_int8.onnx-test-1",
        "run-v1-model_int8.tflite-test-1",
        "run-v1-saved_model-test-1",
    ]
    assert sorted(str(path) for path in version.rglob("*")) == published
    assert not list(run.glob("evaluation-*")) and not list(run.glob("confusion_matrix*"))
    report = reports["run-last-test-1"]
    assert report["examples"] == 360 and len(report["confusion_matrix"]) == 10
    assert (report["data"], report["split"], report["model"]) == (
        "digits",
        "test",
        str(run / "last.keras"),
    )
    assert sum(map(sum, report["confusion_matrix"])) == 360
    assert report["accuracy"] == pytest.approx(metrics["accuracy"], abs=1e-6)
    assert report["top5"] == pytest.approx(metrics["top5"], abs=1e-6)
    assert (evaluations / "run-last-test-1" / "confusion_matrix.png").stat().st_size > 1000
    # Each export, in its own runtime, scores what the Keras model scores (int8 within a point).
    assert reports["run-v1-saved_model-test-1"]["runtime"] == "saved_model_tf1"
    assert reports["run-v1-saved_model-test-1"]["accuracy"] == report["accuracy"]
    assert reports["run-v1-model.onnx-test-1"]["accuracy"] == pytest.approx(
        report["accuracy"], abs=1 / 360
    )
    # After one epoch many digits sit near a decision boundary; the full CIFAR-10 figures are in the README.
    for int8 in ("run-v1-model_int8.tflite-test-1", "run-v1-model_int8.onnx-test-1"):
        assert reports[int8]["accuracy"] == pytest.approx(report["accuracy"], abs=0.03), int8
    # Evaluating again never replaces the first.
    again = evaluate(str(run / "last.keras"), "digits", out=str(evaluations))
    assert (
        again["folder"] == str(evaluations / "run-last-test-2")
        and again["accuracy"] == report["accuracy"]
    )
    # A run folder exports by path too, calibrating int8 on its own training data.
    from keras_resnet.tools.export import export

    path = export(str(run), str(exports), formats=["tflite_int8"])
    assert path == str(exports / "run" / "2")
    manifest = json.load(open(exports / "run" / "2" / "manifest.json"))
    assert manifest["recipe"] == "none" and manifest["class_names"] == report["class_names"]
    assert manifest["verification"]["tflite_int8"]["examples"] == 32
    with pytest.raises(
        FileNotFoundError,
        match=r"`model` must be an existing file or folder; received model='nope.h5'",
    ):
        evaluate("nope.h5")
    (tmp_path / "weights.h5").write_bytes(b"")
    with pytest.raises(
        ValueError,
        match=r"`model` must be a .keras file, a run folder, a SavedModel folder, a .tflite or "
        r"an .onnx file; received model='.*weights.h5', which is none of these.",
    ):
        evaluate(str(tmp_path / "weights.h5"))
