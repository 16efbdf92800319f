"""tf.distribute: the strategy `auto` picks on one CPU, MirroredStrategy on two logical CPUs
(tests/conftest.py makes them) equal to one device, and two worker processes of
MultiWorkerMirroredStrategy sharing one run folder."""

import json
import os
import socket
import subprocess

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import CLI, epochs

import keras_resnet


def test_auto_strategy_on_one_cpu_is_the_default_strategy():
    # Not OneDeviceStrategy: its MultiDeviceIterator stalled every CIFAR-10 validation by ~45 s.
    from keras_resnet.tools.train import make_strategy

    assert make_strategy("auto") is tf.distribute.get_strategy()
    assert isinstance(make_strategy("one_device"), tf.distribute.OneDeviceStrategy)


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


@pytest.mark.process
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
                    *CLI,
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
    assert epochs(tmp_path / "run") == ["1", "2"]
    # Both workers evaluate the same (all-reduced) model on the whole test split.
    results = [
        line for output in outputs for line in output.splitlines() if line.startswith("evaluation:")
    ]
    assert len(results) == 2 and results[0] == results[1]
    assert float(results[0].split("accuracy ")[1].split(",")[0]) > 0.5
