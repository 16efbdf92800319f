"""Exports: each format loaded by its own runtime and compared with the Keras model."""

import json
import os
import subprocess
import sys
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import randomise_vectors
from PIL import Image

import keras_resnet
from keras_resnet.preprocessing import ImagePreprocessing
from keras_resnet.tools import DISTRIBUTION, export_network, runtimes
from keras_resnet.tools import export as export_lib
from keras_resnet.tools.export import export
from keras_resnet.tools.predict import predict

SIZE, CLASSES = 16, 5
NAMES = ["ant", "bee", "cat", "dog", "eel"]


def pixels(batch, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (batch, SIZE, SIZE, 3)).astype("float32")


def tiny(**options):
    """A ResNet-20 at 16x16 that takes raw pixels, with BN statistics that matter."""
    keras.utils.set_random_seed(0)
    model = keras_resnet.ResNet20(
        classes=CLASSES, input_shape=(SIZE, SIZE, 3), include_preprocessing=True, **options
    )
    return randomise_vectors(model)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = tiny()
    out = tmp_path_factory.mktemp("saved_models")
    path = export(model, out, name="tiny", calibration=pixels(64, seed=1), class_names=NAMES)
    return model, out, path


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


@pytest.mark.parametrize(
    "runtime", ["saved_model", "saved_model_tf1", "tflite_float32", "tflite_float16", "onnx"]
)
def test_each_runtime_matches_keras_at_another_batch_size(exported, runtime):
    model, _, path = exported
    images = pixels(3, seed=7)
    probabilities = model.predict(images, verbose=0)
    file = {
        "tflite_float32": "model_float32.tflite",
        "tflite_float16": "model_float16.tflite",
        "onnx": "model.onnx",
    }
    predictor = runtimes.open_model(
        os.path.join(path, file.get(runtime, "")), runtime if "saved" in runtime else None
    )
    logits = predictor(images)
    tolerance = {"tflite_float16": 2e-2}.get(runtime, 1e-4 if runtime in file else 1e-5)
    np.testing.assert_allclose(tf.nn.softmax(logits).numpy(), probabilities, atol=tolerance)
    assert predictor.class_names == NAMES


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
        ValueError, match="`preprocessing` must be 'torch', 'caffe' or 'tf' to export raw-pixel"
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
    expected = model.predict(keras_resnet.preprocess_input(images, "torch"), verbose=0)
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
        model = tiny()
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


def test_versions_are_never_overwritten_and_failures_leave_nothing(exported, monkeypatch):
    model, out, path = exported
    before = sorted(os.listdir(path))
    with pytest.raises(
        FileExistsError, match=r"`version` 1 already exists at .*tiny/1; it is never overwritten"
    ):
        export(model, out, name="tiny", version=1, formats=["saved_model"])
    assert sorted(os.listdir(path)) == before
    monkeypatch.setitem(export_lib.TOLERANCES, "tflite_float32", -1.0)  # any difference now fails
    with pytest.raises(
        RuntimeError,
        match=r"Export verification failed: tflite_float32 differs .* nothing was published",
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
    model = tiny()
    monkeypatch.setitem(export_lib.TOLERANCES, "tflite_float32", -1.0)
    with pytest.raises(RuntimeError, match=r"tflite_float32 differs .* nothing was published"):
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
        r"NaN or inf, as after a diverged training run\), so nothing was exported: export an "
        r"earlier checkpoint, or retrain with a lower learning rate\.$"
    )
    model = tiny()
    weights = model.get_weights()
    weights[0][0, 0, 0, 0] = np.nan
    model.set_weights(weights)
    with pytest.raises(
        ValueError,
        match=r"^`model` 'resnet20' is not finite \(its weight 'conv1_conv/kernel' holds " + advice,
    ):
        export(model, tmp_path / "out", calibration=pixels(8))
    model = tiny()
    head = model.get_layer("predictions")
    head.set_weights([np.full(head.kernel.shape, 3e38, "float32"), head.bias.numpy()])
    with pytest.raises(
        ValueError,
        match=r"^`model` 'resnet20' is not finite \(its outputs on the sample images hold "
        + advice,
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
    model = tiny()
    with pytest.raises(
        ValueError,
        match=r"`formats` must be a non-empty list from \('saved_model', "
        r".*received formats=\['tfjs'\]",
    ):
        export(model, tmp_path, formats=["tfjs"])
    for formats, named in [
        (["tflite_int8"], "tflite_int8"),
        (["saved_model", "onnx_int8"], "onnx_int8"),
        (["tflite_int8", "onnx_int8"], "tflite_int8, onnx_int8"),
    ]:
        with pytest.raises(
            ValueError,
            match=rf"`calibration` must hold raw 0-255 training images for the int8 exports "
            rf"\({named}\); received None",
        ):
            export(model, tmp_path, formats=formats)
    with pytest.raises(
        ValueError, match=r"`input_dtype` must be 'float32' or 'uint8'; received input_dtype='int8'"
    ):
        export(model, tmp_path, input_dtype="int8")
    with pytest.raises(
        ValueError,
        match=r"`model` must have one image input of known size; "
        r"received input shape \(None, None, None, 3\)",
    ):
        export(
            keras_resnet.ResNet20(include_top=False, weights=None),
            tmp_path,
            formats=["saved_model"],
        )
    assert os.listdir(tmp_path) == []  # refused before anything was written


def test_predict_and_bad_inputs(exported, tmp_path):
    model, _, path = exported
    image = pixels(1, seed=9)[0].astype("uint8")
    Image.fromarray(image).save(tmp_path / "good.png")
    Image.fromarray(np.zeros((20, 24, 3), "uint8")).save(tmp_path / "large.png")
    Image.fromarray(np.zeros((SIZE, SIZE), "uint8")).save(tmp_path / "gray.png")
    (tmp_path / "notes.png").write_text("not an image")
    expected = model.predict(image[None].astype("float32"), verbose=0)[0]
    for file in ("model_float32.tflite", "model.onnx", ""):
        [(name, top)] = predict([str(tmp_path / "good.png")], os.path.join(path, file), top_k=2)
        assert [index for _, index, _ in top] == list(np.argsort(-expected)[:2])
        assert top[0][2] == NAMES[expected.argmax()] and top[0][0] == pytest.approx(
            expected.max(), abs=1e-4
        )
    with pytest.raises(
        ValueError,
        match=r"`image` '.*large.png' is 24x20 with 3 channel\(s\); the model takes 16x16 with 3",
    ):
        predict([str(tmp_path / "large.png")], path)
    with pytest.raises(ValueError, match=r"`image` '.*gray.png' is 16x16 with 1 channel\(s\)"):
        predict([str(tmp_path / "gray.png")], path)
    assert (
        len(predict([str(tmp_path / "large.png"), str(tmp_path / "gray.png")], path, resize=True))
        == 2
    )
    with pytest.raises(
        ValueError,
        match=r"`image` must be a JPEG, PNG, GIF, BMP, WEBP file; "
        r"received image='.*notes.png': not an image file",
    ):
        predict([str(tmp_path / "notes.png")], path)
    with pytest.raises(
        ValueError,
        match=r"`images` must have shape \(batch, 16, 16, 3\) for .*; "
        r"received shape \(1, 8, 8, 3\)",
    ):
        runtimes.open_model(os.path.join(path, "model.onnx"))(np.zeros((1, 8, 8, 3)))
    (tmp_path / "model.pt").write_bytes(b"\x80\x02")
    with pytest.raises(
        ValueError,
        match=r"`model` must be a .keras file, .*received model='.*model.pt', which is none",
    ):
        predict([str(tmp_path / "good.png")], str(tmp_path / "model.pt"))


def test_export_and_predict_commands(exported, tmp_path):
    model, _, _ = exported
    model.save(tmp_path / "tiny.keras")
    Image.fromarray(pixels(1, seed=9)[0].astype("uint8")).save(tmp_path / "good.png")
    command = [sys.executable, "-m", "keras_resnet.tools.cli"]
    result = subprocess.run(
        command
        + [
            "export",
            str(tmp_path / "tiny.keras"),
            "--out",
            str(tmp_path / "out"),
            "--formats",
            "saved_model,tflite_float32",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"exported and verified: {tmp_path / 'out' / 'tiny' / '1'}" in result.stdout
    result = subprocess.run(
        command
        + [
            "predict",
            str(tmp_path / "good.png"),
            "--model",
            str(tmp_path / "out" / "tiny" / "1" / "model_float32.tflite"),
            "--top-k",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0] == str(tmp_path / "good.png") and len(lines) == 4
    expected = model.predict(pixels(1, seed=9), verbose=0)[0]
    assert lines[1].split() == [
        f"{expected.max():.4f}",
        "class",
        f"{expected.argmax()}",
        f"({expected.argmax()})",
    ]


def test_benchmark_measures_every_runtime_side_by_side():
    from keras_resnet.tools.benchmark import RUNTIMES, benchmark, format_table

    rows = benchmark(tiny(), batch_size=4, rounds=1, latency_calls=2)
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
