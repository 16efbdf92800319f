"""What every format's convert and verify read, built once per export: the networks, their
input specs, the images compared and the Keras model's outputs on them."""

import dataclasses

import keras
import numpy as np

from keras_resnet.preprocessing import preprocess_input
from keras_resnet.tools._tensorflow import tf
from keras_resnet.tools.export_network import INPUT_NAME, logits_model


@dataclasses.dataclass(frozen=True, eq=False)
class Prepared:
    """The prepared request that the converters and verifiers of `formats.CONVERTERS` share."""

    name: str  # the model's name in TF Serving (the warm-up request names it)
    input_dtype: str  # the SavedModel's input: "float32" or "uint8"
    class_names: list | None
    calibration: np.ndarray | None  # raw 0-255 images for int8
    float_network: keras.Model  # float32, the SavedModel's, float TFLite's and ONNX's
    raw_network: keras.Model | None  # int8's: raw pixels, preprocessing scale inside conv1
    spec: tf.TensorSpec  # the SavedModel's input
    float_spec: tf.TensorSpec  # the float32 input TFLite's and ONNX's converters trace
    sample: np.ndarray  # raw 0-255 pixels compared in every runtime
    model_sample: np.ndarray  # the same images as `float_network` takes them
    reference: np.ndarray  # `float_network`'s outputs on `model_sample`


def _sample(sample, calibration, shape) -> np.ndarray:
    if sample is None:
        sample = (
            np.asarray(calibration[:32])
            if calibration is not None
            else np.random.default_rng(0).uniform(0, 255, (8, *shape))
        )
    sample = np.asarray(sample, np.float32)
    if not np.isfinite(sample).all():
        raise ValueError(
            "`sample` (default: the first 32 calibration images) must hold raw 0-255 pixels; "
            "received NaN or inf values."
        )
    return np.clip(np.round(sample), 0, 255)  # raw pixels, as uint8 inputs see them


def _non_finite_weight(model) -> str | None:
    """The path of `model`'s first weight that holds NaN or inf, if any. Finite outputs do not
    prove finite weights: with one NaN in conv1's kernel, ResNet-20's compiled `predict` gives
    finite logits (the ReLU that TensorFlow's graph optimiser fuses turns NaN into 0), while its
    eager call and LiteRT give NaN."""
    return next(
        (
            weight.path
            for weight in model.weights
            if not np.isfinite(keras.ops.convert_to_numpy(weight)).all()
        ),
        None,
    )


def _not_finite(model, what) -> ValueError:
    return ValueError(
        f"`model` {model.name!r} is not finite ({what} NaN or inf, as after a diverged "
        "training run), so nothing was exported: export an earlier checkpoint, or retrain with a "
        "lower learning rate."
    )


def prepare(request) -> Prepared:
    """The networks, specs, samples and reference outputs of a resolved `Request`; a ValueError
    when the model's outputs are not finite, before anything is converted or written."""
    model, raw = request.model, request.raw
    broken = _non_finite_weight(model)
    if broken is not None:
        raise _not_finite(model, f"its weight {broken!r} holds")
    float_network = logits_model(
        model, None if request.input_dtype == "float32" or raw else request.preprocessing
    )
    shape = tuple(float_network.input_shape[1:])
    sample = _sample(request.sample, request.calibration, shape)
    takes_pixels = raw or request.input_dtype == "uint8" or request.preprocessing is None
    # A copy: preprocess_input writes over a float array, as keras.applications' does.
    model_sample = (
        sample if takes_pixels else preprocess_input(sample.copy(), mode=request.preprocessing)
    )
    # The Keras model's outputs on `sample`'s pixels, whatever input the float exports take.
    reference = float_network.predict(model_sample, verbose=0, batch_size=32)
    if not np.isfinite(reference).all():
        raise _not_finite(model, "its outputs on the sample images hold")
    return Prepared(
        name=request.name,
        input_dtype=request.input_dtype,
        class_names=request.class_names,
        calibration=request.calibration,
        float_network=float_network,
        raw_network=(
            logits_model(model, None if raw else request.preprocessing, fold_preprocessing=True)
            if request.int8
            else None
        ),
        spec=tf.TensorSpec([None, *shape], tf.as_dtype(request.input_dtype), name=INPUT_NAME),
        float_spec=tf.TensorSpec([None, *shape], tf.float32, name=INPUT_NAME),
        sample=sample,
        model_sample=model_sample,
        reference=reference,
    )
