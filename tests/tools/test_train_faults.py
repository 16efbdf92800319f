"""Runs that go wrong midway end well: a loss that stops being finite, Ctrl-C. In the default
suite (issue 17): the Ctrl-C test sends a real SIGINT to a `keras-resnet train` process."""

import json
import os
import re
import signal
import subprocess

import pytest
from helpers import CLI, assert_naming, assert_one_line_error, epochs, run_cli

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
