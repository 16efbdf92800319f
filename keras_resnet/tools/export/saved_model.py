"""The SavedModel that TF Serving loads: the serving signature, its warm-up request, and the
plain one-output SavedModels that the TFLite converter and tf2onnx start from."""

import os

import keras

from keras_resnet.tools import require, runtimes
from keras_resnet.tools._tensorflow import tf
from keras_resnet.tools.export.verify import compare
from keras_resnet.tools.export_network import INPUT_NAME

TOP_K = 5
FILE = "saved_model.pb"


def write_saved_model(path, function, spec) -> None:
    """`function` as the one endpoint `serving_default` of a SavedModel at `path`, for inputs
    of `spec`. Keras 3.15's `model.export(format="tf_saved_model")` stores every weight twice;
    an ExportArchive with one endpoint and no `track()` stores them once, and its SavedModel
    loads in both TF2's and TF1's loaders."""
    archive = keras.export.ExportArchive()
    archive.add_endpoint("serving_default", function, input_signature=[spec])
    archive.write_out(path, verbose=False)


def serving_function(network, class_names=None):
    """TF Serving's signature over `network` (float32 logits or features): the logits, the
    probabilities and the top classes (with their names, given `class_names`), for images of
    any dtype the SavedModel's input spec declares (cast to float32 inside)."""

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


def output_function(network, pixels=False):
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
    """`assets.extra/tf_serving_warmup_requests`: one PredictRequest, which TF Serving replays
    when it loads the model."""
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


def convert(prepared, folder, scratch) -> str:
    """The SavedModel into `folder` itself (TF Serving's version folder), with its warm-up."""
    function = serving_function(prepared.float_network, prepared.class_names)
    write_saved_model(folder, function, prepared.spec)
    _write_warmup(folder, prepared.name, prepared.model_sample, prepared.input_dtype)
    return FILE


def verify(prepared, path) -> dict:
    """The SavedModel through TF2's loader and TF1's (TF Serving's)."""
    folder = os.path.dirname(path)
    return {
        runtime: compare(
            runtime, runtimes.open_model(folder, runtime)(prepared.model_sample), prepared.reference
        )
        for runtime in ("saved_model", "saved_model_tf1")
    }
