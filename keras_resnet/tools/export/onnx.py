"""The onnxruntime files: `model.onnx` (float32, through tf2onnx) and `model_int8.onnx`
(onnxruntime's static QDQ quantisation of the raw-pixel network, pool1's pad moved into its
MaxPool first)."""

import os

import numpy as np

from keras_resnet.tools import require, runtimes
from keras_resnet.tools._tensorflow import tf
from keras_resnet.tools.config import ONNX_FORMATS
from keras_resnet.tools.export.saved_model import output_function
from keras_resnet.tools.export.verify import compare
from keras_resnet.tools.export_network import INPUT_NAME

ONNX_OPSET = 17


def _trace(network, spec, path):
    tf2onnx = require("tf2onnx", "export")

    function = tf.function(output_function(network))
    tf2onnx.convert.from_function(
        function, input_signature=[spec], opset=ONNX_OPSET, output_path=path
    )


def _movable_pads(onnx, pad, pool, producers, constants):
    """The MaxPool `pads` attribute that replaces the Pad node `pad` in front of `pool`, or None
    when `pad` is not a constant zero pad of height and width only after a Relu."""
    source = producers.get(pad.input[0])
    pads = constants.get(pad.input[1]) if len(pad.input) > 1 else None
    has_value = len(pad.input) > 2 and pad.input[2]
    value = constants.get(pad.input[2], np.zeros(())) if has_value else np.zeros(())
    mode = next((item.s for item in pad.attribute if item.name == "mode"), b"constant")
    if (
        source is None
        or source.op_type != "Relu"
        or pads is None
        or len(pads) != 8
        or pads[[0, 1, 4, 5]].any()
        or value.any()
        or mode != b"constant"
        or any(item.name == "pads" for item in pool.attribute)
    ):
        return None
    return onnx.helper.make_attribute("pads", [int(pads[i]) for i in (2, 3, 6, 7)])


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
        if pool.op_type != "MaxPool" or pad is None or pad.op_type != "Pad":
            continue
        pads = _movable_pads(onnx, pad, pool, producers, constants)
        if pads is None or consumers.count(pad.output[0]) != 1:
            continue
        pool.attribute.append(pads)
        pool.input[0] = pad.input[0]
        graph.node.remove(pad)
    used = {name for node in graph.node for name in node.input}
    for tensor in [tensor for tensor in graph.initializer if tensor.name not in used]:
        graph.initializer.remove(tensor)
    onnx.save(model, path)


def _calibration_reader(quantization, calibration):
    """onnxruntime's reader of the calibration images, as uint8 pixels in batches of about 8."""

    class Reader(quantization.CalibrationDataReader):
        def __init__(self):
            pixels = np.clip(np.round(np.asarray(calibration, np.float32)), 0, 255).astype(np.uint8)
            self._batches = iter(np.array_split(pixels, max(1, len(pixels) // 8)))

        def get_next(self):
            batch = next(self._batches, None)
            return None if batch is None else {INPUT_NAME: batch}

    return Reader()


def _quantize(raw_network, calibration, path, scratch):
    """onnxruntime's static int8 quantisation of the raw-pixel network, in QDQ format: weights
    int8 per output channel, activations uint8 (U8S8, the pair x86's VNNI kernels run), ranges
    from `calibration` (min and max, as the int8 TFLite file's converter takes them). The input
    is uint8 pixels, cast to float inside, like the int8 TFLite file's."""
    quantization = require("onnxruntime.quantization", "export")

    float_path = os.path.join(scratch, "raw.onnx")
    prepared = os.path.join(scratch, "raw_prepared.onnx")
    spec = tf.TensorSpec(raw_network.input_shape, tf.uint8, name=INPUT_NAME)
    _trace(raw_network, spec, float_path)
    _pad_into_max_pool(float_path)
    # Shape inference and onnxruntime's graph fusions (BatchNorm's multiply and add into the
    # convolutions) before quantising, so that ranges are taken where the fused graph runs. ONNX's
    # own shape inference knows every op here; the symbolic one would need sympy.
    quantization.quant_pre_process(float_path, prepared, skip_symbolic_shape=True)
    quantization.quantize_static(
        prepared,
        path,
        _calibration_reader(quantization, calibration),
        quant_format=quantization.QuantFormat.QDQ,
        per_channel=True,
        activation_type=quantization.QuantType.QUInt8,
        weight_type=quantization.QuantType.QInt8,
        calibrate_method=quantization.CalibrationMethod.MinMax,
    )


def convert(prepared, folder, scratch) -> str:
    """`model.onnx` into `folder`: the float network, float32 images in."""
    _trace(prepared.float_network, prepared.float_spec, os.path.join(folder, ONNX_FORMATS["onnx"]))
    return ONNX_FORMATS["onnx"]


def convert_int8(prepared, folder, scratch) -> str:
    """`model_int8.onnx` into `folder`: the raw-pixel network quantised, uint8 pixels in."""
    path = os.path.join(folder, ONNX_FORMATS["onnx_int8"])
    _quantize(prepared.raw_network, prepared.calibration, path, scratch)
    return ONNX_FORMATS["onnx_int8"]


def verify(prepared, path) -> dict:
    """`model.onnx` through onnxruntime."""
    outputs = runtimes.OnnxPredictor(path)(prepared.model_sample)
    return {"onnx": compare("onnx", outputs, prepared.reference)}


def verify_int8(prepared, path) -> dict:
    """`model_int8.onnx` through onnxruntime on the raw pixels, with its quantised operators."""
    predictor = runtimes.OnnxPredictor(path)
    return {
        "onnx_int8": {
            **compare("onnx_int8", predictor(prepared.sample), prepared.reference),
            **predictor.ops(),
        }
    }
