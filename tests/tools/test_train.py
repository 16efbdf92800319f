"""Training runs (keras_resnet.tools.train): the plan checked before anything is written, the run
folder with its identity, its lock and its resume, more epochs on a stretched schedule, and the
process's global state left as it was."""

import json
import os
import random
import signal
import subprocess
import time

import keras
import numpy as np
import pytest
from helpers import (
    CLI,
    DIGITS,
    assert_one_line_error,
    epochs,
    history,
    image_folder,
    naming,
    snapshot,
)
from keras.src.backend.common import global_state

from keras_resnet import files
from keras_resnet.tools.train import TrainConfig, train

RUN_FILES = (
    "state.json",
    "config.json",
    "last.keras",
    "best.keras",
    "history.csv",
    "curves.png",
    "evaluation.json",
)


def test_train_writes_the_run_folder(digits_training):
    run, metrics = digits_training
    for name in RUN_FILES:
        assert (run / name).is_file(), name
    rows = history(run)
    assert [row["epoch"] for row in rows] == ["1", "2"]
    # Throughput of each epoch's 1,280 training images (5 steps of 256), without its evaluation.
    assert all(float(row["images_per_s"]) > 0 for row in rows)
    assert os.listdir(run / "checkpoints") == ["epoch-2.keras"]
    assert json.load(open(run / "state.json"))["epoch"] == 2
    assert json.load(open(run / "evaluation.json")) == pytest.approx(metrics)
    assert 0.1 < metrics["accuracy"] <= 1


def test_more_epochs_continue_the_run_on_a_stretched_schedule(copied_run, digits_run, tmp_path):
    """The same command with more epochs continues a run (here a copy of the session's 2-epoch
    run), each time from its last epoch; an export setting added or changed on the way is
    recorded (as the copy's new place is), and the longer run is exported as a new version."""
    run, exports = copied_run, tmp_path / "saved_models"
    # More epochs, exported: the run continues from epoch 2, and the finished run is exported,
    # verified, with its classes, recipe and evaluation in the manifest.
    export = dict(export=str(exports), export_formats=("saved_model", "tflite_int8"))
    metrics = train(TrainConfig(out=str(run), **{**DIGITS, "epochs": 4, **export}))
    rows = history(run)
    assert [row["epoch"] for row in rows] == ["1", "2", "3", "4"]
    # The 2-epoch cosine schedule had reached 0 at epoch 2's end; stretched to 4, epoch 3 learns.
    assert float(rows[1]["lr"]) < 1e-3 < float(rows[2]["lr"])
    manifest = json.load(open(exports / run.name / "1" / "manifest.json"))
    assert manifest["class_names"] == [str(digit) for digit in range(10)]
    assert manifest["recipe"] == "none" and manifest["evaluation"] == pytest.approx(metrics)
    assert manifest["verification"]["saved_model"]["max_abs_diff"] <= 1e-5
    assert manifest["verification"]["tflite_int8"]["input_quantization"] == [1.0, 0]
    assert json.load(open(run / "state.json"))["export"] == {
        "epoch": 4,
        "path": str(exports / run.name / "1"),
    }
    # Once more, exporting one format: the longer run's model is a new version.
    saved_model = dict(export=str(exports), export_formats=("saved_model",))
    train(TrainConfig(out=str(run), **{**DIGITS, **saved_model, "epochs": 5}))
    assert epochs(run) == ["1", "2", "3", "4", "5"]
    assert json.load(open(run / "state.json"))["epoch"] == 5
    assert sorted(os.listdir(exports / run.name)) == ["1", "2"]
    assert json.load(open(run / "config.json"))["continued"] == [
        {
            "after_epoch": 2,
            "changed": {
                "epochs": [2, 4],
                "out": [str(digits_run), str(run)],
                "export": [None, str(exports)],
                "export_formats": [
                    list(TrainConfig().export_formats),
                    ["saved_model", "tflite_int8"],
                ],
            },
        },
        {
            "after_epoch": 4,
            "changed": {
                "epochs": [4, 5],
                "export_formats": [["saved_model", "tflite_int8"], ["saved_model"]],
            },
        },
    ]


@pytest.mark.parametrize(
    "change, listed",
    [
        (dict(model="resnet32"), ["model: 'resnet20' in the run", "'resnet32' now"]),
        (
            # Another lr alone would continue the run (the way on after a diverged loss).
            dict(optimizer="adamw", lr=0.8, epochs=6),
            ["optimizer: 'sgd' in the run", "'adamw' now"],
        ),
        (dict(epochs=1), ["epochs: the run has trained 2", "epochs=1"]),
        (
            dict(model_options={"zero_init_residual": True}),
            ["model_options: {} in the run", "{'zero_init_residual': True} now"],
        ),
    ],
)
def test_a_rerun_with_other_settings_is_refused_and_writes_nothing(digits_run, change, listed):
    before = snapshot(digits_run)
    with pytest.raises(
        ValueError,
        match=naming(f"`out` {digits_run}", "holds another run", *listed, "another --out"),
    ):
        train(TrainConfig(out=str(digits_run), **{**DIGITS, **change}))
    assert snapshot(digits_run) == before


def test_other_data_in_a_run_folder_is_refused_and_the_run_still_predicts(digits_run, tmp_path):
    before = snapshot(digits_run)
    folder = image_folder(tmp_path / "three", classes=("a", "b", "c"), per_class=90, size=8)
    with pytest.raises(
        ValueError, match=naming("classes: ['0', '1', ", "'9'] in the run", "['a', 'b', 'c'] now")
    ):
        train(TrainConfig(out=str(digits_run), **{**DIGITS, "data": str(folder)}))
    assert snapshot(digits_run) == before
    from keras_resnet.tools.predict import predict

    [(_, top)] = predict([str(folder / "train" / "a" / "0.png")], str(digits_run), top_k=3)
    # The run's own ten classes.
    assert [name for _, _, name in top] == [str(index) for _, index, _ in top]


def test_a_failed_start_writes_nothing(tmp_path):
    with pytest.raises(
        ValueError,
        match=naming("`zero_init_residual`", "True or False", "zero_init_residual='maybe'"),
    ):
        train(
            TrainConfig(
                out=str(tmp_path / "run"),
                **{**DIGITS, "model_options": {"zero_init_residual": "maybe"}},
            )
        )
    assert not (tmp_path / "run").exists()
    with pytest.raises(
        ValueError,
        match=naming("`model_options`", "options of resnet20 (weights, variant", "['depth']"),
    ):
        train(TrainConfig(out=str(tmp_path / "run"), **{**DIGITS, "model_options": {"depth": 50}}))
    assert not (tmp_path / "run").exists()


def test_bad_training_arguments():
    with pytest.raises(
        ValueError,
        match=naming(
            "`strategy`", "['auto', 'one_device', 'mirrored', 'multi_worker']", "strategy='tpu'"
        ),
    ):
        train(TrainConfig(strategy="tpu"))
    with pytest.raises(ValueError, match=naming("`epochs`", "integer >= 1", "epochs=0")):
        train(TrainConfig(epochs=0))


def test_train_and_test_classes_must_be_equal(tmp_path):
    config = dict(out=str(tmp_path / "run"), epochs=1, batch_size=4, export=None, verbose=0)
    renamed = image_folder(tmp_path / "renamed", test_classes=("bird", "dog"))
    with pytest.raises(
        ValueError, match=naming("only in 'train': ['cat']", "only in 'test': ['bird']")
    ):
        train(TrainConfig(data=str(renamed), **config))
    extra = image_folder(tmp_path / "extra", test_classes=("cat", "dog", "eel"))
    with pytest.raises(ValueError, match=naming("only in 'train': []", "only in 'test': ['eel']")):
        train(TrainConfig(data=str(extra), **config))
    assert not (tmp_path / "run").exists()


def test_damaged_run_files_are_named(copied_run):
    run = copied_run
    state = (run / "state.json").read_text()
    (run / "state.json").write_text(
        state[:20]
    )  # damaged outside keras_resnet (a full disk, an edit)
    with pytest.raises(ValueError, match=naming(f"{run / 'state.json'} is damaged", "restore it")):
        train(TrainConfig(out=str(run), **{**DIGITS, "epochs": 3}))
    (run / "state.json").write_text(state)
    checkpoint = run / json.loads(state)["checkpoint"]
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    with pytest.raises(
        ValueError, match=naming(f"The run's last checkpoint {checkpoint}", "cannot be loaded")
    ):
        train(TrainConfig(out=str(run), **{**DIGITS, "epochs": 3}))


def test_train_refuses_channels_first_models(tmp_path):
    with pytest.raises(
        ValueError, match=naming("`model_options`", "must not set data_format='channels_first'")
    ):
        train(
            TrainConfig(
                epochs=1,
                out=str(tmp_path / "run"),
                export=None,
                verbose=0,
                model_options={"data_format": "channels_first"},
            )
        )
    assert not (tmp_path / "run").exists()


def test_train_leaves_global_state_as_it_found_it(tmp_path):
    random.seed(7)
    np.random.seed(7)
    expected = (random.random(), np.random.random())
    random.seed(7)
    np.random.seed(7)
    seed = global_state.get_global_attribute("global_random_seed")
    train(
        TrainConfig(
            epochs=1,
            batch_size=256,
            precision="bfloat16",
            out=str(tmp_path / "run"),
            export=None,
            verbose=0,
            seed=3,
        )
    )
    assert keras.config.dtype_policy().name == "float32"
    assert (random.random(), np.random.random()) == expected
    assert global_state.get_global_attribute("global_random_seed") == seed != 3


@pytest.mark.process
def test_sigkill_mid_epoch_then_resume(tmp_path):
    """A real `keras-resnet train` is killed with SIGKILL inside epoch 2, and started again."""
    run = tmp_path / "run"
    command = [*CLI, "train", "--data", "digits", "--epochs", "4", "--batch-size", "32"]
    command += ["--out", str(run), "--progress", "2", "--no-export"]
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
    # Killed inside epoch 2.
    assert state["epoch"] == 1 and [row["epoch"] for row in state["history"]] == [1]
    assert [
        name for name in os.listdir(run / "checkpoints") if not name.startswith(".partial-")
    ] == ["epoch-1.keras"]
    (run / ".partial-last.keras").write_bytes(b"half a file")  # as if killed while writing
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "Resuming" in completed.stdout and "after epoch 1 of 4" in completed.stdout
    assert epochs(run) == ["1", "2", "3", "4"]
    assert json.load(open(run / "state.json"))["epoch"] == 4
    assert not [name for name in os.listdir(run) if name.startswith(".partial-")]


@pytest.mark.process
def test_a_second_train_on_a_running_run_folder_refuses_at_once(tmp_path):
    run = tmp_path / "run"
    first = subprocess.Popen(
        [*CLI, "train", "--epochs", "30", "--out", str(run), "--no-export", "--progress", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (
            (run / ".lock").exists() and (run / ".lock").read_text()
        ):
            time.sleep(0.1)  # the first one holds the lock (it writes who it is into the file)
        started = time.time()
        second = subprocess.run(
            [*CLI, "train", "--epochs", "30", "--out", str(run), "--no-export"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        elapsed = time.time() - started
        assert first.poll() is None, "the first run ended before the second started"
    finally:
        first.kill()
        first.wait()
    assert elapsed < 5, elapsed  # refused before TensorFlow loads
    assert_one_line_error(
        second.returncode,
        second.stderr,
        f"run folder {run} is in use by process {first.pid} on ",
        " since ",
        "a killed process releases it",
    )
    files.check_unlocked(run / ".lock", "run")  # the killed holder released it
