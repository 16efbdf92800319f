"""Exports (keras_resnet.tools.export, export_network): every format written, verified in its
own runtime against the Keras model and described in a manifest; versions never overwritten;
failures leave nothing behind; exports of a run folder, and concurrent exports."""

import json
import os
import shutil
import subprocess
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import (
    CLASSES,
    CLI,
    NAMES,
    SIZE,
    export_model,
    image_folder,
    naming,
    pixels,
    randomise_vectors,
)
from PIL import Image

import keras_resnet
from keras_resnet.preprocessing import ImagePreprocessing
from keras_resnet.tools import DISTRIBUTION, export_network, runtimes
from keras_resnet.tools import export as export_lib
from keras_resnet.tools.export import export
from keras_resnet.tools.predict import predict
from keras_resnet.tools.train import TrainConfig, train


def test_every_format_is_written_verified_and_described(exported):
    model, out, path = exported
    assert path == os.path.join(out, "tiny", "1")
    assert sorted(os.listdir(path)) == [
        "assets",
        "assets.extra",
        "fingerprint.pb",
        "manifest.json",
        "model.onnx",
        "model_dynamic.tflite",
        "model_float16.tflite",
        "model_float32.tflite",
        "model_int8.onnx",
        "model_int8.tflite",
        "saved_model.pb",
        "variables",
    ]
    manifest = json.load(open(os.path.join(path, "manifest.json")))
    figures = manifest["verification"]
    assert (
        figures["saved_model"]["max_abs_diff"] <= 1e-5
        and figures["saved_model_tf1"]["max_abs_diff"] <= 1e-5
    )
    assert (
        figures["tflite_float32"]["max_abs_diff"] <= 1e-4
        and figures["onnx"]["max_abs_diff"] <= 1e-4
    )
    assert figures["tflite_float16"]["max_rel_diff"] <= 1e-2
    for kind in export_lib.INT8_FORMATS:  # recorded; 32 random-pixel images
        assert figures[kind]["top1_agreement"] >= 0.75, kind
    for kind in export_lib.TFLITE_FORMATS:  # built-in ops only, all in one XNNPACK partition
        assert figures[kind]["xnnpack_partitions"] == 1, kind
        assert not [op for op in figures[kind]["ops"] if op.startswith("Flex") or op == "CUSTOM"], (
            kind
        )
    assert figures["tflite_int8"]["input_quantization"] == [
        1.0,
        0,
    ]  # uint8 pixels in, the scale inside
    for file, quantization in [("model_int8.tflite", (1.0, 0)), ("model_float32.tflite", (0.0, 0))]:
        predictor = runtimes.LiteRTPredictor(os.path.join(path, file))
        assert predictor.input_quantization == quantization, file
    assert list(manifest) == [
        "name",
        "version",
        "created",
        "input",
        "preprocessing",
        "outputs",
        "tflite_and_onnx_output",
        "class_names",
        "files",
        "bytes",
        "float32_parameter_bytes",
        "verification",
        "versions",
    ]
    assert manifest["input"] == {
        "name": "images",
        "shape": [None, SIZE, SIZE, 3],
        "dtype": "float32",
        "values": "raw RGB pixels in [0, 255]",
        "int8": {
            "dtype": "uint8",
            "values": "raw RGB pixels in [0, 255]",
            "files": ["model_int8.tflite", "model_int8.onnx"],
        },
    }
    assert manifest["class_names"] == NAMES and manifest["version"] == 1
    assert manifest["versions"][DISTRIBUTION] == keras_resnet.__version__
    assert "keras-resnet" not in manifest["versions"]  # the unrelated distribution of that name
    assert (manifest["preprocessing"], manifest["tflite_and_onnx_output"]) == (
        "inside the model",
        "logits",
    )
    assert manifest["outputs"] == [
        "logits",
        "probabilities",
        "top_classes",
        "top_scores",
        "top_names",
    ]
    assert manifest["files"] == {
        "saved_model": "saved_model.pb",
        **export_lib.TFLITE_FORMATS,
        **export_lib.ONNX_FORMATS,
    }
    assert manifest["float32_parameter_bytes"] == model.count_params() * 4
    assert set(manifest["bytes"]) == set(export_lib.FORMATS) and all(
        size > 0 for size in manifest["bytes"].values()
    )
    assert os.listdir(os.path.join(out, "tiny")) == ["1"]  # no partial folder, no lock


def test_onnx_int8_is_quantised_throughout_and_takes_uint8_pixels(exported, tmp_path):
    """onnxruntime's static QDQ quantisation: every convolution (the folded preprocessing's too),
    addition and the classifier read int8 weights and uint8 activations; only the cast of the
    uint8 pixels and their NHWC-to-NCHW transpose, ahead of the first quantiser, stay float."""
    model, _, path = exported
    manifest = json.load(open(os.path.join(path, "manifest.json")))
    figures = manifest["verification"]["onnx_int8"]
    assert figures["ops"] == [
        "Add",
        "Cast",
        "Conv",
        "Gemm",
        "GlobalAveragePool",
        "Pad",
        "Squeeze",
        "Transpose",
    ]
    assert (figures["quantize_linear"], figures["dequantize_linear"]) == (37, 81)
    assert figures["float_ops"] == ["Cast", "Transpose"]
    assert figures["examples"] == 32 and "bound" not in figures
    assert (
        manifest["bytes"]["onnx_int8"] < manifest["bytes"]["onnx"] / 2.5
    )  # int8 weights: 0.37 MB, not 1.1 MB
    predictor = runtimes.open_model(os.path.join(path, "model_int8.onnx"))
    assert (predictor.input_dtype, predictor.class_names) == ("uint8", NAMES)
    images = pixels(64, seed=11)
    image = tmp_path / "one.png"
    Image.fromarray(images[0].astype("uint8")).save(image)
    agreement = np.mean(
        predictor(images.astype("uint8")).argmax(-1) == model.predict(images, verbose=0).argmax(-1)
    )
    assert agreement >= 0.85, agreement
    [(_, top)] = predict(
        [str(image)], os.path.join(path, "model_int8.onnx"), top_k=1
    )  # `keras-resnet predict`
    assert top[0][1:] == (predictor(images[:1]).argmax(), NAMES[predictor(images[:1]).argmax()])


@pytest.mark.parametrize("mode", ["torch", "caffe", "tf"])
def test_the_int8_network_moves_the_preprocessing_scale_into_conv1(mode):
    """What the int8 files are converted from: the same function with one op fewer on the image."""
    keras.utils.set_random_seed(0)
    model = randomise_vectors(
        keras_resnet.ResNet18(
            classes=CLASSES, input_shape=(32, 32, 3), include_preprocessing=True, preprocessing=mode
        )
    )
    kernel = model.get_layer("conv1_conv").get_weights()[0].copy()
    folded = export_network.logits_model(model, fold_preprocessing=True)
    body = folded.get_layer(f"{model.name}_body")
    assert [type(layer).__name__ for layer in body.layers[1:4]] == [
        "_SubtractMean",
        "ZeroPadding2D",
        "Conv2D",
    ]
    images = np.random.default_rng(2).integers(0, 256, (4, 32, 32, 3)).astype("float32")
    expected = export_network.logits_model(model).predict(images, verbose=0)
    difference = np.abs(folded.predict(images, verbose=0) - expected).max() / np.abs(expected).max()
    assert difference < 1e-5, difference
    np.testing.assert_array_equal(
        model.get_layer("conv1_conv").get_weights()[0], kernel
    )  # the model is untouched


def test_the_serving_signature_and_warmup_request(exported):
    model, _, path = exported
    signature = tf.saved_model.load(path).signatures["serving_default"]
    assert list(signature.structured_input_signature[1]) == ["images"]
    images = pixels(2, seed=3)
    outputs = signature(images=tf.constant(images))
    assert sorted(outputs) == ["logits", "probabilities", "top_classes", "top_names", "top_scores"]
    expected = model.predict(images, verbose=0)
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-6)
    np.testing.assert_array_equal(
        outputs["top_classes"].numpy(), np.argsort(-expected, axis=1)[:, :5]
    )
    assert outputs["top_names"].numpy()[0, 0].decode() == NAMES[expected[0].argmax()]
    from tensorflow_serving.apis import prediction_log_pb2

    records = list(
        tf.data.TFRecordDataset(os.path.join(path, "assets.extra", "tf_serving_warmup_requests"))
    )
    log = prediction_log_pb2.PredictionLog.FromString(records[0].numpy())
    request = log.predict_log.request
    assert (len(records), request.model_spec.name, request.model_spec.signature_name) == (
        1,
        "tiny",
        "serving_default",
    )
    assert tf.make_ndarray(request.inputs["images"]).shape == (1, SIZE, SIZE, 3)


def test_uint8_input_with_the_preprocessing_inside(tmp_path):
    """A model that takes torch-preprocessed input, exported to take raw uint8 pixels."""
    keras.utils.set_random_seed(0)
    model = randomise_vectors(keras_resnet.ResNet20(classes=CLASSES, input_shape=(SIZE, SIZE, 3)))
    with pytest.raises(
        ValueError,
        match=naming("`preprocessing`", "'torch', 'caffe' or 'tf'", "raw-pixel", "None"),
    ):
        export(model, tmp_path, name="t", formats=["saved_model"], input_dtype="uint8")
    path = export(
        model,
        tmp_path,
        name="t",
        formats=["saved_model", "onnx"],
        input_dtype="uint8",
        preprocessing="torch",
    )
    images = pixels(4, seed=5)
    # The layer the export puts in front: `preprocess_input` (keras.applications' steps) rounds
    # differently, by up to 4.8e-7, which this model turns into 2e-6 on its probabilities.
    expected = model.predict(ImagePreprocessing("torch")(images), verbose=0)
    signature = tf.saved_model.load(path).signatures["serving_default"]
    assert signature.structured_input_signature[1]["images"].dtype == tf.uint8
    outputs = signature(images=tf.constant(images.astype("uint8")))
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-6)
    with pytest.raises(
        tf.errors.InvalidArgumentError, match="expected to be a uint8 tensor but is a float tensor"
    ):
        signature(images=tf.constant(images))
    for runtime in ("saved_model", "saved_model_tf1"):  # TF Serving's loader too
        assert runtimes.open_model(path, runtime).input_dtype == "uint8", runtime
    from tensorflow_serving.apis import prediction_log_pb2

    [record] = tf.data.TFRecordDataset(
        os.path.join(path, "assets.extra", "tf_serving_warmup_requests")
    )
    request = prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log.request
    assert tf.make_ndarray(request.inputs["images"]).dtype == np.uint8  # replays as it serves
    manifest = json.load(open(os.path.join(path, "manifest.json")))
    assert (manifest["input"]["dtype"], manifest["input"]["values"]) == (
        "uint8",
        "raw RGB pixels in [0, 255]",
    )
    assert manifest["preprocessing"] == "torch"
    assert manifest["verification"]["saved_model"]["max_abs_diff"] <= 1e-5
    onnx = runtimes.open_model(
        os.path.join(path, "model.onnx")
    )  # float pixels in, preprocessing inside
    np.testing.assert_allclose(tf.nn.softmax(onnx(images)).numpy(), expected, atol=1e-5)


def test_a_mixed_precision_model_exports_float32(tmp_path):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = export_model()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    path = export(model, tmp_path, name="bf16", formats=["saved_model", "tflite_float32"])
    manifest = json.load(open(os.path.join(path, "manifest.json")))
    assert manifest["verification"]["tflite_float32"]["max_abs_diff"] <= 1e-4
    # The float32 copy computes what the bfloat16 model approximates.
    float_logits = runtimes.open_model(path)(pixels(8))
    np.testing.assert_allclose(
        tf.nn.softmax(float_logits).numpy(), model.predict(pixels(8), verbose=0), atol=0.05
    )


def test_versions_are_never_overwritten_and_failures_leave_nothing(exported, tmp_path, monkeypatch):
    model, _, _ = exported
    out = shutil.copytree(exported[1], tmp_path / "saved_models")  # the session's stays as it is
    path = os.path.join(out, "tiny", "1")
    before = sorted(os.listdir(path))
    with pytest.raises(
        FileExistsError,
        match=naming("`version` 1 already exists", f"at {path}", "never overwritten"),
    ):
        export(model, out, name="tiny", version=1, formats=["saved_model"])
    assert sorted(os.listdir(path)) == before
    monkeypatch.setitem(export_lib.TOLERANCES, "tflite_float32", -1.0)  # any difference now fails
    with pytest.raises(
        RuntimeError,
        match=naming("verification failed", "tflite_float32 differs", "nothing was published"),
    ):
        export(model, out, name="tiny", formats=["saved_model", "tflite_float32"])
    assert sorted(os.listdir(os.path.join(out, "tiny"))) == ["1"]  # no version 2, no partial folder
    monkeypatch.undo()
    assert export(model, out, name="tiny", formats=["saved_model"]).endswith(
        os.path.join("tiny", "2")
    )


def test_a_failed_export_leaves_no_folder_it_created(tmp_path, monkeypatch):
    """A failure anywhere after the folders are made: the version is not published, and the
    `<out>/<name>/` folders this export created (and its scratch folder) are gone again."""
    model = export_model()
    monkeypatch.setitem(export_lib.TOLERANCES, "tflite_float32", -1.0)
    with pytest.raises(
        RuntimeError, match=naming("tflite_float32 differs", "nothing was published")
    ):
        export(model, tmp_path / "out", name="fresh", formats=["tflite_float32"])
    assert os.listdir(tmp_path) == []
    monkeypatch.undo()

    def fails(prepared, folder, scratch):
        open(os.path.join(folder, "half-written.onnx"), "w").close()
        raise OSError("No space left on device")

    monkeypatch.setitem(export_lib.formats.CONVERTERS, "onnx", (fails, None))
    (tmp_path / "out").mkdir()
    with pytest.raises(OSError, match="No space left on device"):
        export(model, tmp_path / "out", name="fresh", formats=["saved_model", "onnx"])
    assert os.listdir(tmp_path / "out") == []  # `out` was there before: it stays
    scratch = f"keras_resnet_export-{os.getpid()}-"
    assert not [name for name in os.listdir(tempfile.gettempdir()) if name.startswith(scratch)]


def test_a_model_that_is_not_finite_is_refused_before_anything_is_written(tmp_path):
    """As after a diverged run: a NaN weight (which TensorFlow's ReLU can hide from the outputs),
    or finite weights whose outputs overflow."""
    advice = (
        "NaN or inf",
        "diverged",
        "nothing was exported",
        "earlier checkpoint",
        "lower learning rate",
    )
    model = export_model()
    weights = model.get_weights()
    weights[0][0, 0, 0, 0] = np.nan
    model.set_weights(weights)
    with pytest.raises(
        ValueError,
        match=naming("`model` 'resnet20' is not finite", "weight 'conv1_conv/kernel'", *advice),
    ):
        export(model, tmp_path / "out", calibration=pixels(8))
    model = export_model()
    head = model.get_layer("predictions")
    head.set_weights([np.full(head.kernel.shape, 3e38, "float32"), head.bias.numpy()])
    with pytest.raises(
        ValueError,
        match=naming("`model` 'resnet20' is not finite", "outputs on the sample images", *advice),
    ):
        export(model, tmp_path / "out", formats=["saved_model"])
    assert os.listdir(tmp_path) == []


def test_the_format_table_covers_every_format_in_order():
    assert list(export_lib.formats.CONVERTERS) == list(export_lib.FORMATS)
    assert export_lib.int8_formats(["onnx_int8", "saved_model", "tflite_int8"]) == [
        "onnx_int8",
        "tflite_int8",
    ]


def test_preprocessing_folds_only_into_a_convolution_it_alone_feeds():
    inputs = keras.Input((8, 8, 3))
    x = ImagePreprocessing("torch", name="preprocessing")(inputs)
    chain = keras.Model(
        inputs, keras.layers.Conv2D(4, 3, name="conv")(keras.layers.ZeroPadding2D()(x))
    )
    preprocessing, conv = export_network._foldable_preprocessing(chain)
    assert (preprocessing.name, conv.name) == ("preprocessing", "conv")
    branches = keras.layers.Add()(
        [keras.layers.Conv2D(4, 1, name="a")(x), keras.layers.Conv2D(4, 1, name="b")(x)]
    )
    assert export_network._foldable_preprocessing(keras.Model(inputs, branches)) is None
    pooled = keras.layers.Conv2D(4, 1)(keras.layers.AveragePooling2D(1)(x))
    assert export_network._foldable_preprocessing(keras.Model(inputs, pooled)) is None


def test_bad_export_arguments(tmp_path):
    model = export_model()
    with pytest.raises(
        ValueError, match=naming("`formats`", "non-empty list from ('saved_model', ", "['tfjs']")
    ):
        export(model, tmp_path, formats=["tfjs"])
    for formats, named in [
        (["tflite_int8"], "tflite_int8"),
        (["saved_model", "onnx_int8"], "onnx_int8"),
        (["tflite_int8", "onnx_int8"], "tflite_int8, onnx_int8"),
    ]:
        with pytest.raises(
            ValueError,
            match=naming("`calibration`", "0-255 training images", f"({named})", "None"),
        ):
            export(model, tmp_path, formats=formats)
    with pytest.raises(
        ValueError, match=naming("`input_dtype`", "'float32' or 'uint8'", "input_dtype='int8'")
    ):
        export(model, tmp_path, input_dtype="int8")
    with pytest.raises(
        ValueError,
        match=naming("`model`", "one image input of known size", "(None, None, None, 3)"),
    ):
        export(
            keras_resnet.ResNet20(include_top=False, weights=None),
            tmp_path,
            formats=["saved_model"],
        )
    assert os.listdir(tmp_path) == []  # refused before anything was written


@pytest.mark.slow
def test_onnx_int8_of_an_imagenet_stem_has_no_float_pad(tmp_path):
    """pool1's zero pad moves into the MaxPool: onnxruntime runs the file int8 from end to end."""
    keras.utils.set_random_seed(0)
    model = randomise_vectors(
        keras_resnet.ResNet18(classes=CLASSES, input_shape=(32, 32, 3), include_preprocessing=True)
    )
    calibration = np.random.default_rng(1).integers(0, 256, (32, 32, 32, 3)).astype("float32")
    path = export(model, tmp_path, name="r18", formats=["onnx_int8"], calibration=calibration)
    figures = json.load(open(os.path.join(path, "manifest.json")))["verification"]["onnx_int8"]
    assert "Pad" not in figures["ops"] and "MaxPool" in figures["ops"]
    assert figures["float_ops"] == ["Cast", "Transpose"]
    assert figures["top1_agreement"] >= 0.75, figures


@pytest.mark.slow
def test_resnet50_saved_model_stores_its_weights_once(tmp_path):
    model = keras_resnet.ResNet50(include_preprocessing=True)
    path = export(model, tmp_path, name="resnet50", formats=["saved_model"])
    manifest = json.load(open(os.path.join(path, "manifest.json")))
    ratio = manifest["bytes"]["saved_model"] / manifest["float32_parameter_bytes"]
    assert (
        manifest["float32_parameter_bytes"] == 25_610_152 * 4
    )  # trainable and BatchNorm statistics
    assert 1.0 < ratio <= 1.05, ratio


def test_export_of_a_run_from_elsewhere_finds_its_data_or_says_where_it_looked(
    tmp_path, monkeypatch
):
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    image_folder(work / "data", size=8)
    elsewhere.mkdir()
    monkeypatch.chdir(work)
    train(TrainConfig(data="data", out="run", epochs=1, batch_size=4, export=None, verbose=0))
    monkeypatch.chdir(elsewhere)
    # config.json holds the data's absolute path.
    path = export(str(work / "run"), "exports", formats=["tflite_int8"])
    figures = json.load(open(os.path.join(path, "manifest.json")))["verification"]
    assert figures["tflite_int8"]["examples"] == 12  # all 12 training images
    config = json.load(open(work / "run" / "config.json"))
    del config["data_path"]  # as a run of an earlier version recorded it: "data", relative
    json.dump(config, open(work / "run" / "config.json", "w"))
    with pytest.raises(
        ValueError,
        match=naming(
            "the run's training data 'data'",
            f"from {work / 'run' / 'config.json'}",
            f"looked for from {elsewhere}",
            "--calibration-data",
        ),
    ):
        export(str(work / "run"), "exports", formats=["tflite_int8"])


@pytest.mark.process
def test_concurrent_exports_of_one_name_each_get_a_version(tmp_path):
    model = keras_resnet.ResNet20(classes=3, input_shape=(8, 8, 3), include_preprocessing=True)
    model.save(tmp_path / "tiny.keras")
    out = tmp_path / "saved_models"
    stale = out / "tiny" / ".partial-999999999-killed"  # left by an export killed long ago
    stale.mkdir(parents=True)
    live = out / "tiny" / f".partial-{os.getpid()}-running"  # an export still running here
    live.mkdir()
    processes = [
        subprocess.Popen(
            [
                *CLI,
                "export",
                str(tmp_path / "tiny.keras"),
                "--out",
                str(out),
                "--formats",
                "saved_model,tflite_float32",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=600) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], [
        err[-1500:] for _, err in outputs
    ]
    # The dead one's partial folder is gone.
    assert sorted(os.listdir(out / "tiny")) == [live.name, "1", "2", "3"]
    for version in (1, 2, 3):
        manifest = json.load(open(out / "tiny" / str(version) / "manifest.json"))
        assert manifest["version"] == version
        assert manifest["verification"]["saved_model"]["max_abs_diff"] <= 1e-5
        assert manifest["verification"]["tflite_float32"]["max_abs_diff"] <= 1e-4


def test_export_refuses_channels_first_models(tmp_path):
    model = keras_resnet.ResNet20(
        data_format="channels_first", input_shape=(3, 32, 32), include_preprocessing=True
    )
    with pytest.raises(
        ValueError, match=naming("is channels-first", "exports take channels-last models")
    ):
        export(model, str(tmp_path / "exports"), formats=["saved_model"])
    assert not (tmp_path / "exports").exists()
