"""Exports for TF Serving (SavedModel), LiteRT (TFLite) and onnxruntime (ONNX), each verified.

Everything is written into a hidden folder beside the target (`saved_models/<name>/.partial-*`,
which TF Serving ignores), loaded back by its own runtime, compared with the Keras model, and only
then renamed to `saved_models/<name>/<version>/`. A failed verification leaves nothing a server
would pick up, and an existing version is never touched.

Layout of one version:
    saved_model.pb, variables/        the SavedModel (signature `serving_default`)
    assets.extra/tf_serving_warmup_requests
    model_float32.tflite, model_float16.tflite, model_dynamic.tflite, model_int8.tflite
    model.onnx, model_int8.onnx
    manifest.json                     input spec, classes, preprocessing, sizes, parity figures
"""

import datetime
import os
import shutil
import tempfile

import keras
import numpy as np

from keras_resnet import files as files_lib
from keras_resnet.files import write_json
from keras_resnet.preprocessing import preprocess_input
from keras_resnet.tools import require, runtimes
from keras_resnet.tools._tensorflow import tf
from keras_resnet.tools.config import EXPORT_FORMATS as FORMATS
from keras_resnet.tools.config import INT8_FORMATS, ONNX_FORMATS, TFLITE_FORMATS
from keras_resnet.tools.runtimes import INPUT_NAME, has_preprocessing, logits_model

ONNX_OPSET = 17
TOP_K = 5
# Parity bounds on the logits: max |export - Keras| / max(1, max |Keras|), i.e. absolute for
# logits up to 1 and relative beyond (float32 rounding grows with the values: a fresh ResNet-50's
# logits reach ~10^3). float16 is relative to the logits' scale.
TOLERANCES = {
    "saved_model": 1e-5,
    "saved_model_tf1": 1e-5,
    "tflite_float32": 1e-4,
    "onnx": 1e-4,
    "tflite_float16": 1e-2,
}


def _write_saved_model(path, function, spec):
    archive = (
        keras.export.ExportArchive()
    )  # one endpoint, no track(): weights stored once (DEVELOPERS.md)
    archive.add_endpoint("serving_default", function, input_signature=[spec])
    archive.write_out(path, verbose=False)


def _serving_function(network, input_dtype, class_names):
    def serve(images):
        outputs = network(tf.cast(images, tf.float32), training=False)
        if network.layers[-1].name != "logits":
            return {"features": outputs}
        probabilities = tf.nn.softmax(outputs)
        top = tf.math.top_k(probabilities, k=min(TOP_K, outputs.shape[-1]))
        result = {
            "logits": outputs,
            "probabilities": probabilities,
            "top_classes": top.indices,
            "top_scores": top.values,
        }
        if class_names:
            result["top_names"] = tf.gather(tf.constant(list(class_names)), top.indices)
        return result

    return serve


def _output_function(network, pixels=False):
    """The network's one output (logits or features), named, for TFLite and ONNX, from float32
    or uint8 images. With `pixels`, the input is pinned to [0, 255] in steps of 1, so that int8's
    uint8 input has scale 1 and zero point 0 (raw pixels) whatever the calibration images' range."""

    def call(images):
        images = tf.cast(images, tf.float32)
        if pixels:
            images = tf.quantization.fake_quant_with_min_max_args(
                images, min=0.0, max=255.0, num_bits=8
            )
        return {network.layers[-1].name: network(images, training=False)}

    return call


def _write_warmup(path, model_name, sample, input_dtype):
    """`assets.extra/tf_serving_warmup_requests`: one PredictRequest that TF Serving replays at load."""
    apis = require("tensorflow_serving.apis", "export")
    model_pb2, predict_pb2, prediction_log_pb2 = (
        require(f"{apis.__name__}.{name}", "export")
        for name in ("model_pb2", "predict_pb2", "prediction_log_pb2")
    )

    request = predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(name=model_name, signature_name="serving_default")
    )
    request.inputs[INPUT_NAME].CopyFrom(tf.make_tensor_proto(sample[:1].astype(input_dtype)))
    log = prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=request)
    )
    os.makedirs(os.path.join(path, "assets.extra"), exist_ok=True)
    with tf.io.TFRecordWriter(
        os.path.join(path, "assets.extra", "tf_serving_warmup_requests")
    ) as writer:
        writer.write(log.SerializeToString())


def _convert_tflite(logits_saved_model, kind, calibration):
    converter = tf.lite.TFLiteConverter.from_saved_model(logits_saved_model)
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS
    ]  # no TF Select: XNNPACK runs it all
    if kind != "tflite_float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if kind == "tflite_float16":
        converter.target_spec.supported_types = [tf.float16]
    if kind == "tflite_int8":

        def representative():
            for image in calibration:
                yield [image[None].astype(np.float32)]

        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8  # raw pixels; the scale is inside
        converter.inference_output_type = tf.float32  # logits, dequantised
    return converter.convert()


def _convert_onnx(network, spec, path):
    tf2onnx = require("tf2onnx", "export")

    function = tf.function(_output_function(network))
    tf2onnx.convert.from_function(
        function, input_signature=[spec], opset=ONNX_OPSET, output_path=path
    )


def _pad_into_max_pool(path):
    """Moves a zero Pad that only pads height and width, between a Relu and a MaxPool, into the
    MaxPool's own padding (which pads with -inf: the same maximum over non-negative values).
    tf2onnx keeps ResNet's pool1 pad apart, and onnxruntime has no quantised Pad, so the int8
    file would dequantise pool1's input, pad it in float32 and quantise it again."""
    onnx = require("onnx", "export")

    model = onnx.load(path)
    graph = model.graph
    producers = {output: node for node in graph.node for output in node.output}
    consumers = [name for node in graph.node for name in node.input]
    constants = {tensor.name: onnx.numpy_helper.to_array(tensor) for tensor in graph.initializer}
    for pool in graph.node:
        pad = producers.get(pool.input[0])
        if (
            pool.op_type != "MaxPool"
            or pad is None
            or pad.op_type != "Pad"
            or consumers.count(pad.output[0]) != 1
        ):
            continue
        source = producers.get(pad.input[0])
        pads = constants.get(pad.input[1]) if len(pad.input) > 1 else None
        value = (
            constants.get(pad.input[2], np.zeros(()))
            if len(pad.input) > 2 and pad.input[2]
            else np.zeros(())
        )
        mode = next(
            (attribute.s for attribute in pad.attribute if attribute.name == "mode"), b"constant"
        )
        if (
            source is None
            or source.op_type != "Relu"
            or pads is None
            or len(pads) != 8
            or pads[[0, 1, 4, 5]].any()
            or value.any()
            or mode != b"constant"
            or any(attribute.name == "pads" for attribute in pool.attribute)
        ):
            continue
        pool.attribute.append(
            onnx.helper.make_attribute("pads", [int(pads[i]) for i in (2, 3, 6, 7)])
        )
        pool.input[0] = pad.input[0]
        graph.node.remove(pad)
    used = {name for node in graph.node for name in node.input}
    for tensor in [tensor for tensor in graph.initializer if tensor.name not in used]:
        graph.initializer.remove(tensor)
    onnx.save(model, path)


def _convert_onnx_int8(raw_network, spec, calibration, path, scratch):
    """onnxruntime's static int8 quantisation of the raw-pixel network, in QDQ format: weights
    int8 per output channel, activations uint8 (U8S8, the pair x86's VNNI kernels run), ranges
    from `calibration` (min and max, as the int8 TFLite file's converter takes them). The input
    is uint8 pixels, cast to float inside, like the int8 TFLite file's."""
    quantization = require("onnxruntime.quantization", "export")

    float_path, prepared = (
        os.path.join(scratch, "raw.onnx"),
        os.path.join(scratch, "raw_prepared.onnx"),
    )
    _convert_onnx(raw_network, tf.TensorSpec(spec.shape, tf.uint8, name=INPUT_NAME), float_path)
    _pad_into_max_pool(float_path)
    # Shape inference and onnxruntime's graph fusions (BatchNorm's multiply and add into the
    # convolutions) before quantising, so that ranges are taken where the fused graph runs. ONNX's
    # own shape inference knows every op here; the symbolic one would need sympy.
    quantization.quant_pre_process(float_path, prepared, skip_symbolic_shape=True)

    class Reader(quantization.CalibrationDataReader):
        def __init__(self):
            pixels = np.clip(np.round(np.asarray(calibration, np.float32)), 0, 255).astype(np.uint8)
            self._batches = iter(np.array_split(pixels, max(1, len(pixels) // 8)))

        def get_next(self):
            batch = next(self._batches, None)
            return None if batch is None else {INPUT_NAME: batch}

    quantization.quantize_static(
        prepared,
        path,
        Reader(),
        quant_format=quantization.QuantFormat.QDQ,
        per_channel=True,
        activation_type=quantization.QuantType.QUInt8,
        weight_type=quantization.QuantType.QInt8,
        calibrate_method=quantization.CalibrationMethod.MinMax,
    )


def _compare(kind, outputs, reference):
    difference = float(np.max(np.abs(outputs - reference)))
    scale = float(np.max(np.abs(reference)))
    figures = {
        "max_abs_diff": difference,
        "max_rel_diff": difference / scale if scale else difference,
        "max_scaled_diff": difference / max(1.0, scale),
        "top1_agreement": float(np.mean(outputs.argmax(-1) == reference.argmax(-1))),
        "examples": int(len(reference)),
    }
    bound = TOLERANCES.get(kind)
    if bound is not None:
        measured = figures["max_rel_diff" if kind == "tflite_float16" else "max_scaled_diff"]
        figures["bound"] = bound
        if not measured <= bound:
            raise RuntimeError(
                f"Export verification failed: {kind} differs from the Keras model by {measured:.3g} "
                f"(bound {bound:g}); nothing was published."
            )
    return figures


def int8_formats(formats) -> list:
    """The int8 formats among `formats`: those that need calibration images and take uint8 pixels.

    Example:
        >>> int8_formats(["saved_model", "onnx_int8"])
        ['onnx_int8']
    """
    return [kind for kind in formats if kind in INT8_FORMATS]


def _next_version(root):
    versions = (
        [int(name) for name in os.listdir(root) if name.isdigit()] if os.path.isdir(root) else []
    )
    return max(versions, default=0) + 1


def export(
    model,
    out: str = "saved_models",
    *,
    name: str | None = None,
    version: int | None = None,
    formats=FORMATS,
    input_dtype: str = "float32",
    preprocessing: str | None = None,
    calibration=None,
    sample=None,
    class_names=None,
    extra: dict | None = None,
) -> str:
    """Exports `model` to `out/<name>/<version>/` in every format of `formats`, each verified.

    Args:
        model: a Keras model, a `.keras` file or a run folder (its best.keras).
        out: the model base folder TF Serving watches (`--model_base_path=<out>/<name>`).
        name: the model's name (default: the run folder's or file's name, else the Keras model's).
        version: an integer version; default the next free one. An existing one raises.
        formats: any of `FORMATS`.
        input_dtype: "float32" (what the Keras model takes) or "uint8" (raw pixels, with the
            preprocessing inside) for the SavedModel, float TFLite files and ONNX. The int8
            TFLite file always takes uint8 pixels.
        preprocessing: "torch", "caffe" or "tf" for a model that does not take raw pixels itself,
            needed by input_dtype="uint8" and by int8.
        calibration: raw 0-255 images (N, H, W, 3) from the training data, for int8 (a few
            hundred); `calibration_images` reads them from a data set. Default for a run
            folder: 256 images of its training data.
        sample: images compared between each export and the Keras model (default: 32 from
            `calibration`, else seeded random pixels).
        class_names: names of the classes, for the manifest and the signature's `top_names`.
        extra: more manifest entries (e.g. the training recipe).

    Returns:
        The published version folder.

    Example:
        >>> export(ResNet20(classes=10, include_preprocessing=True), name="resnet20", formats=["saved_model"])
        'saved_models/resnet20/1'
    """
    source = model if isinstance(model, (str, os.PathLike)) else None
    if source is not None:
        predictor = runtimes.open_model(source, "keras")
        class_names = class_names or predictor.class_names
        extra = {
            "recipe": predictor.manifest.get("recipe"),
            "eval_transform": predictor.manifest.get("eval_transform"),
            **(extra or {}),
        }
        model = predictor.keras_model
        name = (
            name or os.path.splitext(os.path.basename(os.path.normpath(source)))[0]
        )  # the run's or file's name
        run = predictor.manifest  # a run folder's config.json: calibrate on its training data
        if calibration is None and int8_formats(formats) and run.get("data"):
            calibration = _run_calibration(source, run, predictor)
    formats = list(formats)
    unknown = [kind for kind in formats if kind not in FORMATS]
    if unknown or not formats:
        raise ValueError(
            f"`formats` must be a non-empty list from {FORMATS}; received formats={formats!r}."
        )
    if input_dtype not in ("float32", "uint8"):
        raise ValueError(
            f"`input_dtype` must be 'float32' or 'uint8'; received input_dtype={input_dtype!r}."
        )
    raw = has_preprocessing(model)
    int8 = int8_formats(formats)
    if (input_dtype == "uint8" or int8) and not raw and preprocessing is None:
        raise ValueError(
            "`preprocessing` must be 'torch', 'caffe' or 'tf' to export raw-pixel (uint8) inputs of a model "
            "without an ImagePreprocessing layer; received preprocessing=None."
        )
    if int8 and calibration is None:
        raise ValueError(
            f"`calibration` must hold raw 0-255 training images for the int8 exports ({', '.join(int8)}); "
            "received None. See keras_resnet.tools.export.calibration_images."
        )
    name = name or model.name
    if not name or os.sep in name or name.startswith("."):
        raise ValueError(f"`name` must be a plain folder name; received name={name!r}.")
    root = os.path.join(out, name)
    if version is not None and (
        not isinstance(version, int) or isinstance(version, bool) or version < 1
    ):
        raise ValueError(f"`version` must be a positive integer; received version={version!r}.")
    if version is not None and os.path.exists(os.path.join(root, str(version))):
        raise FileExistsError(
            f"`version` {version} already exists at {os.path.join(root, str(version))}; it is never "
            "overwritten. Pass another version, or none for the next free one."
        )
    if class_names is not None and len(class_names) != model.output_shape[-1]:
        raise ValueError(
            f"`class_names` must have one name per class ({model.output_shape[-1]}); received {len(class_names)}."
        )

    float_network = logits_model(model, None if input_dtype == "float32" or raw else preprocessing)
    # The int8 files' network: raw pixels in, the preprocessing's scale inside the first conv.
    raw_network = (
        logits_model(model, None if raw else preprocessing, fold_preprocessing=True)
        if int8
        else None
    )
    height, width, channels = float_network.input_shape[1:]
    if sample is None:
        sample = (
            np.asarray(calibration[:32])
            if calibration is not None
            else np.random.default_rng(0).uniform(0, 255, (8, height, width, channels))
        )
    sample = np.clip(
        np.round(np.asarray(sample, np.float32)), 0, 255
    )  # raw pixels, as uint8 inputs see them
    takes_pixels = raw or input_dtype == "uint8" or preprocessing is None
    model_sample = sample if takes_pixels else preprocess_input(sample, preprocessing).numpy()
    # The Keras model's outputs on `sample`'s pixels, whatever input the float exports take.
    reference = float_network.predict(model_sample, verbose=0, batch_size=32)

    os.makedirs(root, exist_ok=True)
    # What killed exports left: partial versions here, scratch folders in the temporary folder.
    files_lib.remove_stale(root, ".partial-")
    files_lib.remove_stale(tempfile.gettempdir(), "keras_resnet_export-")
    partial = tempfile.mkdtemp(dir=root, prefix=f".partial-{os.getpid()}-")
    scratch = tempfile.mkdtemp(prefix=f"keras_resnet_export-{os.getpid()}-")
    spec = tf.TensorSpec(
        [None, height, width, channels], tf.dtypes.as_dtype(input_dtype), name=INPUT_NAME
    )
    float_spec = tf.TensorSpec([None, height, width, channels], tf.float32, name=INPUT_NAME)
    files, verification = {}, {}
    try:
        if "saved_model" in formats:
            _write_saved_model(
                partial, _serving_function(float_network, input_dtype, class_names), spec
            )
            _write_warmup(partial, name, model_sample, input_dtype)
            files["saved_model"] = "saved_model.pb"
            for runtime in ("saved_model", "saved_model_tf1"):
                outputs = runtimes.open_model(partial, runtime)(model_sample)
                verification[runtime] = _compare(runtime, outputs, reference)
        tflite = [kind for kind in formats if kind in TFLITE_FORMATS]
        if tflite:
            logits_path = os.path.join(scratch, "logits")
            _write_saved_model(logits_path, _output_function(float_network), float_spec)
            if "tflite_int8" in tflite:
                _write_saved_model(
                    logits_path + "_raw", _output_function(raw_network, pixels=True), float_spec
                )
            for kind in tflite:
                converted = _convert_tflite(
                    logits_path + "_raw" if kind == "tflite_int8" else logits_path,
                    kind,
                    calibration,
                )
                path = os.path.join(partial, TFLITE_FORMATS[kind])
                with open(path, "wb") as file:
                    file.write(converted)
                files[kind] = TFLITE_FORMATS[kind]
                predictor = runtimes.LiteRTPredictor(path)
                takes_uint8 = kind == "tflite_int8"
                outputs = predictor(sample if takes_uint8 else model_sample)
                verification[kind] = {
                    **_compare(kind, outputs, reference),
                    **predictor.ops(),
                    "input_quantization": list(predictor._input["quantization"]),
                }
        if "onnx" in formats:
            path = os.path.join(partial, ONNX_FORMATS["onnx"])
            _convert_onnx(float_network, float_spec, path)
            files["onnx"] = ONNX_FORMATS["onnx"]
            verification["onnx"] = _compare(
                "onnx", runtimes.OnnxPredictor(path)(model_sample), reference
            )
        if "onnx_int8" in formats:
            path = os.path.join(partial, ONNX_FORMATS["onnx_int8"])
            _convert_onnx_int8(raw_network, float_spec, calibration, path, scratch)
            files["onnx_int8"] = ONNX_FORMATS["onnx_int8"]
            predictor = runtimes.OnnxPredictor(path)
            verification["onnx_int8"] = {
                **_compare("onnx_int8", predictor(sample), reference),
                **predictor.ops(),
            }
        os.chmod(partial, 0o755)  # mkdtemp makes folders private
        # One publisher at a time picks the version and renames into it, so concurrent exports of
        # one name each get their own version; the long work above runs in parallel.
        with files_lib.exclusive(
            os.path.join(out, f".{name}.lock"), f"model folder {root}", wait=True
        ):
            if version is None:
                chosen = _next_version(root)
            elif os.path.exists(os.path.join(root, str(version))):
                raise FileExistsError(
                    f"`version` {version} was published meanwhile at {os.path.join(root, str(version))}; "
                    "it is never overwritten."
                )
            else:
                chosen = version
            write_json(
                os.path.join(partial, runtimes.MANIFEST),
                _manifest(
                    model,
                    name,
                    chosen,
                    float_network,
                    input_dtype,
                    raw,
                    preprocessing,
                    class_names,
                    partial,
                    files,
                    verification,
                    extra,
                ),
            )
            target = os.path.join(root, str(chosen))
            os.rename(partial, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if os.path.exists(partial):
            shutil.rmtree(partial, ignore_errors=True)
    return target


def _folder_bytes(path):
    return sum(
        os.path.getsize(os.path.join(folder, file))
        for folder, _, names in os.walk(path)
        for file in names
    )


def _manifest(
    model,
    name,
    version,
    network,
    input_dtype,
    raw,
    preprocessing,
    class_names,
    folder,
    files,
    verification,
    extra,
):
    import importlib.metadata as metadata

    sizes = {kind: os.path.getsize(os.path.join(folder, file)) for kind, file in files.items()}
    if (
        "saved_model" in sizes
    ):  # the SavedModel proper: graph and variables, not the other files beside it
        sizes["saved_model"] += _folder_bytes(os.path.join(folder, "variables"))
    versions = {}
    for package in (
        "keras-resnet",
        "tensorflow",
        "keras",
        "ai-edge-litert",
        "tf2onnx",
        "onnxruntime",
        "onnx",
    ):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    pixels = "raw RGB pixels in [0, 255]"
    return {
        "name": name,
        "version": version,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "input": {
            "name": INPUT_NAME,
            "shape": [None, *network.input_shape[1:]],
            "dtype": input_dtype,
            "values": pixels if (raw or input_dtype == "uint8") else "the Keras model's input",
            "int8": {
                "dtype": "uint8",
                "values": pixels,
                "files": [files[kind] for kind in int8_formats(files)],
            },
        },
        "preprocessing": "inside the model"
        if raw
        else (
            preprocessing
            if input_dtype == "uint8"
            else f"none inside: apply it before ({preprocessing or 'see the weights'})"
        ),
        "outputs": (
            ["logits", "probabilities", "top_classes", "top_scores"]
            + (["top_names"] if class_names else [])
            if network.layers[-1].name == "logits"
            else ["features"]
        ),
        "tflite_and_onnx_output": network.layers[-1].name,
        "class_names": list(class_names) if class_names else None,
        "files": files,
        "bytes": sizes,
        "float32_parameter_bytes": int(model.count_params() * 4),
        "verification": verification,
        "versions": versions,
        **{key: value for key, value in (extra or {}).items() if value is not None},
    }


def _run_calibration(source, run, predictor):
    """A run folder's calibration images, from the training data its config.json names (the
    absolute path where it records one), or an error that says where the path came from."""
    data = run.get("data_path") or run["data"]
    try:
        return calibration_images(
            data,
            split=run.get("train_split", "train"),
            image_size=predictor.input_shape[:2],
            data_dir=run.get("data_dir"),
            **predictor.preparation,
        )
    except Exception as error:
        raise ValueError(
            f"Cannot read the calibration images for the int8 export from the run's training data {data!r} "
            f"(from {os.path.join(source, 'config.json')}; looked for from {os.getcwd()}): {error}. Pass "
            "--calibration-data (calibration=... in Python) with a folder or tfds name of training images, "
            "or export from the folder the run was trained in."
        ) from None


def calibration_images(
    source: str,
    *,
    split: str = "train",
    count: int = 256,
    image_size=None,
    recipe: str = "none",
    data_dir=None,
    crop_pct: float = 0.875,
    interpolation: str = "bilinear",
) -> np.ndarray:
    """`count` raw-pixel images spread evenly over a data set's split (every class, not the
    first folder), prepared as for evaluation (`crop_pct`, `interpolation`: the imagenet
    recipe's resize and crop): the int8 export's representative sample.

    Example:
        >>> calibration_images("digits", count=64).shape
        (64, 8, 8, 3)
    """
    from keras_resnet.tools import data as data_lib

    dataset, info = data_lib.load(source, split, data_dir=data_dir)
    size = tuple(image_size or info.image_shape[:2])
    examples = info.splits.get(split) or count
    dataset = dataset.shard(max(1, examples // count), 0).take(count)
    batches = data_lib.pipeline(
        dataset,
        training=False,
        batch_size=count,
        recipe=recipe,
        image_size=size,
        cache=False,
        crop_pct=crop_pct,
        interpolation=interpolation,
    )
    return np.concatenate([images.numpy() for images, _ in batches])
