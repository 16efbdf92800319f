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

The modules, in the order an export runs them: `request` (the arguments, checked), `prepared`
(the networks and the reference outputs, built once), `formats` (the table from each format to
its converter in `saved_model`, `tflite` or `onnx` and its verifier, which compares through
`verify`), `manifest` and `publish`; `calibration` reads int8's calibration images.
"""

from keras_resnet.tools.config import EXPORT_FORMATS as FORMATS
from keras_resnet.tools.config import INT8_FORMATS, ONNX_FORMATS, TFLITE_FORMATS
from keras_resnet.tools.export.calibration import calibration_images
from keras_resnet.tools.export.formats import CONVERTERS, convert_and_verify, int8_formats
from keras_resnet.tools.export.manifest import Manifest
from keras_resnet.tools.export.prepared import prepare
from keras_resnet.tools.export.publish import publish, staging
from keras_resnet.tools.export.request import Request
from keras_resnet.tools.export.verify import TOLERANCES

__all__ = [
    "CONVERTERS",
    "FORMATS",
    "INT8_FORMATS",
    "ONNX_FORMATS",
    "TFLITE_FORMATS",
    "TOLERANCES",
    "calibration_images",
    "export",
    "int8_formats",
]


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
        input_dtype: the SavedModel's input: "float32" (what the Keras model takes) or "uint8"
            (raw pixels, with the preprocessing inside). With "uint8", the float TFLite and ONNX
            files take the same raw pixels as float32. The int8 files always take uint8 pixels.
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

    Raises:
        ValueError: an argument that cannot be exported, or a model whose outputs are not finite
            (NaN or inf), before anything is written.
        RuntimeError: an export that differs from the Keras model past `TOLERANCES`; nothing is
            published, and a folder this export created is removed again.

    Example:
        >>> model = ResNet20(classes=10, include_preprocessing=True)  # doctest: +SKIP
        >>> export(model, name="resnet20", formats=["saved_model"])  # doctest: +SKIP
        'saved_models/resnet20/1'
    """
    request = Request(
        model=model,
        out=out,
        name=name,
        version=version,
        formats=tuple(formats),
        input_dtype=input_dtype,
        preprocessing=preprocessing,
        calibration=calibration,
        sample=sample,
        class_names=class_names,
        extra=extra,
    ).resolved()
    prepared = prepare(request)
    with staging(request.root) as (partial, scratch):
        files, verification = convert_and_verify(prepared, request.formats, partial, scratch)
        manifest = Manifest.of(request, prepared.float_network, partial, files, verification)
        return publish(request, partial, manifest)
