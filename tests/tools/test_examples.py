"""Each example of examples/, run with tiny settings: in this process through its `main`, and
(marker `process`) the distributed example as a script, as the README runs it."""

import csv
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from helpers import ROOT, image_folder

from examples import (
    backbone_fpn,
    degradation,
    distributed,
    export_and_serve,
    fine_tuning,
    residual_block,
)


def test_degradation_experiment_smoke(tmp_path):
    results = degradation.main(
        [
            "--data",
            "digits",
            "--epochs",
            "1",
            "--batch-size",
            "256",
            "--depths",
            "20",
            "--gradient-depth",
            "20",
            "--precision",
            "float32",
            "--out",
            str(tmp_path),
            "--progress",
            "0",
        ]
    )
    assert sorted(results["final_errors_percent"]) == ["plain-20", "resnet-20"]
    for name in ("plain.png", "resnet.png", "gradient_norms.png"):
        assert (tmp_path / name).stat().st_size > 5000, name
    assert (
        json.load(open(tmp_path / "results.json"))["final_errors_percent"]
        == results["final_errors_percent"]
    )
    table = (tmp_path / "results.md").read_text().splitlines()
    assert table[0] == "| network | training error (%) | test error (%) |" and len(table) == 4
    for name, row in results[
        "final_errors_percent"
    ].items():  # the errors of each run's last epoch, as it recorded them
        with open(tmp_path / "runs" / name / "history.csv") as file:
            last = list(csv.DictReader(file))[-1]
        assert row == {
            "train_error": 100 * (1 - float(last["accuracy"])),
            "test_error": 100 * (1 - float(last["val_accuracy"])),
        }, name


def test_gradient_norms_cover_every_conv_layer():
    images = np.random.default_rng(0).uniform(0, 255, (8, 8, 8, 3)).astype("float32")
    labels = np.arange(8) % 4
    plain = degradation.gradient_norms(20, images, labels, plain=True)
    residual = degradation.gradient_norms(20, images, labels, plain=False)
    assert (
        len(plain) == len(residual) == 19
    )  # 1 + 3 stages x 3 blocks x 2 convs (option-A shortcuts have none)
    assert all(norm > 0 for norm in plain + residual)


def red_and_blue(root):
    """Two classes of images told apart by colour: 8 training and 4 test images each."""
    return image_folder(root, ("red", "blue"), 8, 32, test_per_class=4, tinted=True)


def test_fine_tuning_keeps_batch_norm_frozen(tmp_path, fixtures_dir):
    red_and_blue(tmp_path)
    keras.utils.set_random_seed(0)  # the new head's initialisation
    results = fine_tuning.main(
        [
            "--data",
            str(tmp_path),
            "--weights",
            str(fixtures_dir / "resnet18.safetensors"),
            "--image-size",
            "32",
            "--batch-size",
            "8",
            "--head-epochs",
            "8",
            "--all-epochs",
            "1",
            "--head-lr",
            "0.01",
        ],
        verbose=0,
    )
    assert results["conv1_unchanged_in_phase_1"] and results["conv1_changed_in_phase_2"]
    assert results["batch_norm_unchanged"]  # not even the moving statistics moved, in either phase
    # Red against blue: the new head learns it on the frozen backbone, and keeps it.
    assert results["head_only_accuracy"] == results["fine_tuned_accuracy"] == 1.0


def test_backbone_fpn_shapes():
    shapes = backbone_fpn.main(
        ["--model", "resnet18", "--image-size", "64", "--channels", "16", "--classes", "3"],
        verbose=False,
    )
    assert shapes == {
        "P2": (2, 16, 16, 16),
        "P3": (2, 8, 8, 16),
        "P4": (2, 4, 4, 16),
        "P5": (2, 2, 2, 16),
        "scores": (2, 64, 64, 3),
    }


@pytest.mark.slow  # 17 s: it trains, and exports and runs all seven formats (test_export's too)
def test_export_and_serve(tmp_path):
    results = export_and_serve.main(["--out", str(tmp_path), "--epochs", "1"], verbose=False)
    assert sorted(results["agreement"]) == [
        "onnx",
        "onnx_int8",
        "saved_model",
        "tflite_dynamic",
        "tflite_float16",
        "tflite_float32",
        "tflite_int8",
    ]
    assert results["agreement"]["saved_model"] == results["agreement"]["onnx"] == 1.0
    body = json.load(open(tmp_path / "requests" / "predict.json"))
    assert body["signature_name"] == "serving_default" and np.array(body["instances"]).shape == (
        2,
        8,
        8,
        3,
    )
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest.FromString(
        (tmp_path / "requests" / "predict_request.pb").read_bytes()
    )
    assert (request.model_spec.name, list(request.inputs)) == ("digits", ["images"])


def check_distributed_output(output, run):
    """The example printed what its run recorded (4 decimals), and trained its one epoch."""
    [line] = [line for line in output.splitlines() if line.startswith("metrics ")]
    metrics = json.loads(line[len("metrics ") : line.index("}") + 1])
    assert metrics == pytest.approx(json.load(open(run / "evaluation.json")), abs=5e-5)
    assert (run / "history.csv").read_text().count("\n") == 2


def test_distributed_example_in_this_process(tmp_path, capsys):
    distributed.main(["--strategy", "one_device", "--epochs", "1", "--out", str(tmp_path)])
    check_distributed_output(capsys.readouterr().out, tmp_path / "one_device")


@pytest.mark.process
@pytest.mark.parametrize("strategy", ["one_device", "mirrored", "multi_worker"])
def test_distributed_example(tmp_path, strategy):
    """As the README runs it: a fresh process each (a process holds one set of logical devices)."""
    command = [sys.executable, "examples/distributed.py", "--strategy", strategy, "--epochs", "1"]
    command += ["--out", str(tmp_path)]
    command += ["--cpu-replicas", "2"] if strategy == "mirrored" else []
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    check_distributed_output(result.stdout, tmp_path / strategy)


def test_degradation_subset_links_the_first_images_of_each_class(tmp_path):
    red_and_blue(tmp_path / "data")
    root = degradation.subset(str(tmp_path / "data"), str(tmp_path / "out"), 3, None)
    assert sorted(os.listdir(os.path.join(root, "train"))) == ["blue", "red"]
    assert sorted(os.listdir(os.path.join(root, "train", "red"))) == ["0.png", "1.png", "2.png"]
    assert len(os.listdir(os.path.join(root, "test", "blue"))) == 4  # None: the whole split
    assert os.path.realpath(os.path.join(root, "train", "red", "0.png")) == str(
        tmp_path / "data" / "train" / "red" / "0.png"
    )


def test_residual_block_example_equals_its_formula():
    differences = residual_block.main(verbose=False)
    assert differences["seed_block"] < 1e-6 and differences["basic_block"] < 1e-6
