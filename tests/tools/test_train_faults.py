"""Runs that go wrong midway end well: a loss that stops being finite, Ctrl-C, data that change
during the run, a full disk. In the default
suite (issue 17): the Ctrl-C test sends a real SIGINT to a `keras-resnet train` process."""

import json
import os
import re
import signal
import subprocess

import pytest
from helpers import CLI, assert_naming, assert_one_line_error, epochs, image_folder, run_cli

TRAIN = ["train", "--batch-size", "256", "--progress", "0"]  # the digits: 5 steps an epoch


def train_cli(capsys, *arguments):
    """`keras-resnet train ...` on the digits in this process: (exit code, stderr)."""
    code, _, error = run_cli(capsys, *TRAIN, *arguments)
    return code, error


def test_a_diverged_loss_stops_at_once_exports_nothing_and_the_run_continues(
    copied_run, tmp_path, capsys
):
    """On a copy of the session's 2-epoch digits run, which the same command line continues."""
    run, exports = copied_run, tmp_path / "exports"
    code, error = train_cli(capsys, "--epochs", 3, "--lr", 1e30, "--out", run, "--export", exports)
    assert_one_line_error(  # one line, no traceback
        code,
        error,
        re.compile(r"loss became (nan|inf) in epoch 3 at step [1-5] of 5"),
        f"{run} keeps epoch 2",
        "a lower --lr",
    )
    assert not exports.exists()  # nothing exported, not even an empty folder
    state = json.load(open(run / "state.json"))
    assert (state["epoch"], epochs(run), os.listdir(run / "checkpoints")) == (
        2,
        ["1", "2"],
        ["epoch-2.keras"],
    )
    # A lower learning rate continues the run from its last good epoch, with nothing on stderr.
    assert train_cli(capsys, "--epochs", 3, "--out", run, "--no-export") == (0, "")
    assert epochs(run) == ["1", "2", "3"]
    changes = [
        entry["changed"].get("lr") for entry in json.load(open(run / "config.json"))["continued"]
    ]
    assert changes == [[0.1, 1e30], [1e30, 0.1]]


def test_a_run_that_diverges_in_its_first_epoch_leaves_nothing(tmp_path, capsys):
    code, error = train_cli(capsys, "--epochs", 1, "--lr", 1e30, "--out", tmp_path / "run")
    assert_one_line_error(
        code, error, "no epoch was completed", f"nothing is kept in {tmp_path / 'run'}"
    )
    assert os.listdir(tmp_path) == []


def test_ctrl_c_mid_epoch_ends_in_one_line_and_the_same_command_completes_the_run(tmp_path, capsys):
    run = tmp_path / "run"
    arguments = ["train", "--epochs", "2", "--batch-size", "32", "--out", str(run), "--no-export"]
    arguments += ["--progress", "2"]
    process = subprocess.Popen(
        [*CLI, *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    for line in process.stdout:  # "Epoch 2/2" opens epoch 2 (44 steps, about 1.5 s)
        if line.startswith("Epoch 2/2"):
            break
    process.send_signal(signal.SIGINT)  # from this foreground driver, as a terminal's Ctrl-C
    _, error = process.communicate(timeout=300)
    assert process.returncode == 130, error[-2000:]
    assert error.startswith("keras-resnet: Interrupted") and error.count("\n") == 1, error
    assert_naming(
        error,
        re.compile(r"in epoch 2 at step \d+ of 44"),
        f"{run} keeps epoch 1",
        "same command continues",
    )
    assert epochs(run) == ["1"]
    # The same command, here in this process (the run folder is what carries over).
    code, output, error = run_cli(capsys, *arguments)
    assert code == 0, error[-2000:]
    assert "Resuming" in output and epochs(run) == ["1", "2"]  # every epoch once


@pytest.mark.parametrize("lr", [float("nan"), float("inf")])
def test_a_learning_rate_that_is_no_number_is_refused_before_the_run(tmp_path, capsys, lr):
    code, error = train_cli(capsys, "--epochs", 1, "--lr", lr, "--out", tmp_path / "run")
    assert_one_line_error(code, error, "`lr`", "a number > 0", f"lr={lr}")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("damage", ["remove", "replace"])
def test_training_images_that_change_during_the_run_end_it_in_one_line(
    tmp_path, monkeypatch, damage
):
    """The folder is checked before the first step; files removed or replaced after that check
    (here: right after it, before the first read) end the run with their names."""
    from keras_resnet.tools import train as train_lib

    root = image_folder(tmp_path / "data", per_class=8, size=8)
    resolve = train_lib.resolve

    def resolve_then_damage(config):
        plan, datasets = resolve(config)
        for path in sorted((root / "train" / "dog").iterdir())[:3]:
            path.unlink() if damage == "remove" else path.write_bytes(b"not an image")
        return plan, datasets

    monkeypatch.setattr(train_lib, "resolve", resolve_then_damage)
    config = train_lib.TrainConfig(
        data=str(root), epochs=1, batch_size=4, out=str(tmp_path / "run"), export=None, verbose=0
    )
    with pytest.raises(train_lib.DataChangedError) as error:
        train_lib.train(config)
    message = str(error.value)
    assert message.startswith("The training data changed during the run: ")
    if damage == "remove":
        assert "No such file or directory" in message and "3 file(s) gone" in message
    else:
        assert (
            "3 file(s) unreadable now" in message
            and str(root / "train" / "dog" / "0.png") in message
        )
    assert "nothing is kept" in message and not (tmp_path / "run").exists()


@pytest.mark.process
def test_a_full_disk_ends_the_run_in_one_line_naming_the_file(tmp_path):
    """A file size limit (RLIMIT_FSIZE, as a full disk) at the first checkpoint: one line that
    names the file, no half-written file, and the same command without the limit completes."""
    import resource

    run = tmp_path / "run"
    command = [*CLI, "train", "--epochs", "1", "--out", str(run), "--no-export", "--progress", "0"]

    def limit():  # Python ignores SIGXFSZ, so the write fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))

    limited = subprocess.run(command, capture_output=True, text=True, timeout=300, preexec_fn=limit)
    assert limited.returncode == 2 and limited.stderr.count("\n") == 1, limited.stderr[-2000:]
    assert "File too large" in limited.stderr and "epoch-1.keras" in limited.stderr
    assert not run.exists()  # no epoch was committed: the failed start leaves nothing
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert epochs(run) == ["1"]
