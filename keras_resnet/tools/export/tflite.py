"""The LiteRT (TFLite) files: float32, float16, dynamic-range and int8, built-in operators only,
each converted from a one-output SavedModel of the export network."""

import os

import numpy as np

from keras_resnet.tools import runtimes
from keras_resnet.tools._tensorflow import tf
from keras_resnet.tools.config import TFLITE_FORMATS
from keras_resnet.tools.export.saved_model import output_function, write_saved_model
from keras_resnet.tools.export.verify import compare


def _source(prepared, scratch, int8):
    """The SavedModel the converter reads, written once per export into `scratch`: the float
    network, or for int8 the raw-pixel network with its input pinned to [0, 255]."""
    path = os.path.join(scratch, "logits_raw" if int8 else "logits")
    if not os.path.exists(path):
        network = prepared.raw_network if int8 else prepared.float_network
        write_saved_model(path, output_function(network, pixels=int8), prepared.float_spec)
    return path


def _converted(saved_model, kind, calibration) -> bytes:
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
    # No TF Select: XNNPACK runs it all.
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
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


def convert(kind, prepared, folder, scratch) -> str:
    """The TFLite file of `kind` (one of `TFLITE_FORMATS`) into `folder`."""
    source = _source(prepared, scratch, int8=kind == "tflite_int8")
    with open(os.path.join(folder, TFLITE_FORMATS[kind]), "wb") as file:
        file.write(_converted(source, kind, prepared.calibration))
    return TFLITE_FORMATS[kind]


def verify(kind, prepared, path) -> dict:
    """The file through LiteRT (uint8 pixels for int8), with its operators, XNNPACK partitions
    and input quantisation."""
    predictor = runtimes.LiteRTPredictor(path)
    images = prepared.sample if kind == "tflite_int8" else prepared.model_sample
    return {
        kind: {
            **compare(kind, predictor(images), prepared.reference),
            **predictor.ops(),
            "input_quantization": list(predictor.input_quantization),
        }
    }
