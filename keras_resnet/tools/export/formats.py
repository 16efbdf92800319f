"""The export formats as one table: for each, how it is converted and how it is verified."""

import functools
import os

from keras_resnet.tools.config import INT8_FORMATS, TFLITE_FORMATS
from keras_resnet.tools.export import onnx, saved_model, tflite

# format -> (convert(prepared, folder, scratch): writes the file into `folder`, returns its name;
#            verify(prepared, path): {runtime: figures}, raising past `TOLERANCES`).
CONVERTERS = {
    "saved_model": (saved_model.convert, saved_model.verify),
    **{
        kind: (functools.partial(tflite.convert, kind), functools.partial(tflite.verify, kind))
        for kind in TFLITE_FORMATS
    },
    "onnx": (onnx.convert, onnx.verify),
    "onnx_int8": (onnx.convert_int8, onnx.verify_int8),
}


def int8_formats(formats) -> list:
    """The int8 formats among `formats`: those that need calibration images and take uint8 pixels.

    Example:
        >>> int8_formats(["saved_model", "onnx_int8"])
        ['onnx_int8']
    """
    return [kind for kind in formats if kind in INT8_FORMATS]


def convert_and_verify(prepared, formats, folder, scratch) -> tuple[dict, dict]:
    """Each of `formats`, in the table's order, converted into `folder` and verified there:
    ({format: file name}, {runtime: figures}). `scratch` holds the intermediate files."""
    files, verification = {}, {}
    for kind, (convert, verify) in CONVERTERS.items():
        if kind in formats:
            files[kind] = convert(prepared, folder, scratch)
            verification.update(verify(prepared, os.path.join(folder, files[kind])))
    return files, verification
