"""Evaluations (keras_resnet.tools.evaluate): the data's classes compared with the model's first;
a run, its model file and each export scored in its own runtime, each in a new folder."""

import json
import os

import pytest
from helpers import image_folder, naming, run_cli

from keras_resnet.tools.evaluate import evaluate
from keras_resnet.tools.export import export
from keras_resnet.tools.train import TrainConfig, train


def test_evaluate_compares_class_names_before_inference(tmp_path, digits_run):
    folder = image_folder(tmp_path / "letters", classes=tuple("abcdefghij"), per_class=1, size=8)
    with pytest.raises(
        ValueError,
        match=naming(
            f"The classes of '{tmp_path / 'letters'}' (test)",
            "only in the data: ['a', ",
            "'j'], only in the model: ['0', ",
            "'9']",
        ),
    ):
        evaluate(str(digits_run), str(folder), out=str(tmp_path / "evaluations"))
    assert not (tmp_path / "evaluations").exists()


@pytest.mark.slow  # 36 s: it trains, exports every format and evaluates each
def test_evaluate_command_on_a_run_and_its_exports(tmp_path, capsys):
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
    code, output, error = run_cli(
        capsys, "evaluate", run / "last.keras", "--data", "digits", "--out", evaluations
    )
    assert code == 0, error[-2000:]
    folder = output.strip().rsplit("written to ", 1)[1].rstrip(")")
    reports = {os.path.basename(folder): json.load(open(os.path.join(folder, "evaluation.json")))}

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
    # After one epoch many digits sit near a decision boundary; the README has CIFAR-10's figures.
    for int8 in ("run-v1-model_int8.tflite-test-1", "run-v1-model_int8.onnx-test-1"):
        assert reports[int8]["accuracy"] == pytest.approx(report["accuracy"], abs=0.03), int8
    # Evaluating again never replaces the first.
    again = evaluate(str(run / "last.keras"), "digits", out=str(evaluations))
    assert (
        again["folder"] == str(evaluations / "run-last-test-2")
        and again["accuracy"] == report["accuracy"]
    )
    # A run folder exports by path too, calibrating int8 on its own training data.
    path = export(str(run), str(exports), formats=["tflite_int8"])
    assert path == str(exports / "run" / "2")
    manifest = json.load(open(exports / "run" / "2" / "manifest.json"))
    assert manifest["recipe"] == "none" and manifest["class_names"] == report["class_names"]
    assert manifest["verification"]["tflite_int8"]["examples"] == 32
    with pytest.raises(
        FileNotFoundError,
        match=naming("`model`", "an existing file or folder", "model='nope.h5'"),
    ):
        evaluate("nope.h5")
    (tmp_path / "weights.h5").write_bytes(b"")
    with pytest.raises(
        ValueError,
        match=naming(
            "`model`",
            ".keras file, a run folder, a SavedModel folder, a .tflite or an .onnx file",
            f"model='{tmp_path / 'weights.h5'}'",
        ),
    ):
        evaluate(str(tmp_path / "weights.h5"))
