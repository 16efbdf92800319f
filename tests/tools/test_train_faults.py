"""Runs that go wrong midway end well: a loss that stops being finite, Ctrl-C."""

import csv
import json
import os
import re
import signal
import subprocess
import sys

import pytest

from keras_resnet.tools import cli

TRAIN = ["train", "--batch-size", "256", "--progress", "0"]  # the digits: 5 steps an epoch


def history(run):
    with open(run / "history.csv") as file:
        return [row["epoch"] for row in csv.DictReader(file)]


def run_cli(capsys, *arguments):
    """`keras-resnet ...` in this process: (exit code, stderr)."""
    try:
        code = cli.main([*TRAIN, *map(str, arguments)])
    except SystemExit as exit:
        code = exit.code
    return code, capsys.readouterr().err


def test_a_diverged_loss_stops_at_once_exports_nothing_and_the_run_continues(tmp_path, capsys):
    run, exports = tmp_path / "run", tmp_path / "exports"
    assert run_cli(capsys, "--epochs", 1, "--out", run, "--no-export") == (0, "")
    code, error = run_cli(capsys, "--epochs", 2, "--lr", 1e30, "--out", run, "--export", exports)
    assert code == 2 and error.count("\n") == 1, error  # one line, no traceback
    assert re.fullmatch(
        rf"keras-resnet: error: The training loss became (nan|inf) in epoch 2 at step [1-5] of 5, "
        rf"so the run stopped there; {re.escape(str(run))} keeps epoch 1\. Try a lower --lr .*\n",
        error,
    ), error
    assert not exports.exists()  # nothing exported, not even an empty folder
    state = json.load(open(run / "state.json"))
    assert (state["epoch"], history(run), os.listdir(run / "checkpoints")) == (
        1,
        ["1"],
        ["epoch-1.keras"],
    )
    # A lower learning rate continues the run from its last good epoch.
    assert run_cli(capsys, "--epochs", 2, "--out", run, "--no-export")[0] == 0
    assert history(run) == ["1", "2"]
    changes = [
        entry["changed"].get("lr") for entry in json.load(open(run / "config.json"))["continued"]
    ]
    assert changes == [[0.1, 1e30], [1e30, 0.1]]


def test_a_run_that_diverges_in_its_first_epoch_leaves_nothing(tmp_path, capsys):
    code, error = run_cli(capsys, "--epochs", 1, "--lr", 1e30, "--out", tmp_path / "run")
    assert (
        code == 2 and f"no epoch was completed, so nothing is kept in {tmp_path / 'run'}" in error
    )
    assert os.listdir(tmp_path) == []


def test_ctrl_c_mid_epoch_ends_in_one_line_and_the_same_command_completes_the_run(tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "keras_resnet.tools.cli", "train", "--epochs", "2"]
    command += ["--batch-size", "32", "--out", str(run), "--no-export", "--progress", "2"]
    process = subprocess.Popen(
        command,
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
    assert re.fullmatch(
        rf"keras-resnet: Interrupted in epoch 2 at step \d+ of 44; {re.escape(str(run))} keeps "
        r"epoch 1\. The same command continues the run\.\n",
        error,
    ), error
    assert history(run) == ["1"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "Resuming" in completed.stdout and history(run) == ["1", "2"]  # every epoch once


@pytest.mark.parametrize("lr", [float("nan"), float("inf")])
def test_a_learning_rate_that_is_no_number_is_refused_before_the_run(tmp_path, capsys, lr):
    code, error = run_cli(capsys, "--epochs", 1, "--lr", lr, "--out", tmp_path / "run")
    assert code == 2 and "`lr` must be a number > 0" in error and f"lr={lr}" in error
    assert not (tmp_path / "run").exists()
