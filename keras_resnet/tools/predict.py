"""Classifying image files with a model or an export, in the export's own runtime."""

import os

import numpy as np

from keras_resnet.preprocessing import imagenet_classes, preprocess_input
from keras_resnet.tools import runtimes
from keras_resnet.tools._tensorflow import tf
from keras_resnet.tools.data import IMAGE_FORMATS, inspect_image, resize_and_center_crop


def read_image(
    path, size, *, resize: bool = False, crop_pct: float = 1.0, interpolation: str = "bilinear"
) -> np.ndarray:
    """An image file as float32 RGB pixels in [0, 255], shape `size` (height, width, channels).

    An image of another size or channel count is refused (the model would see something else
    than it was trained on) unless `resize`, which converts it to RGB and resizes it as the
    model is evaluated: the shorter side to `size / crop_pct`, antialiased, then a center crop
    (`data.resize_and_center_crop`; torchvision's Resize + CenterCrop), never distorting it.

    Example:
        >>> read_image("cat.jpg", (32, 32, 3), resize=True).shape  # doctest: +SKIP
        (32, 32, 3)
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"`image` must be an existing file; received image={path!r}.")
    with open(path, "rb") as file:
        content = file.read()
    try:
        inspect_image(path)  # the same formats and pixel limit as folders
    except ValueError as error:
        raise ValueError(
            f"`image` must be a {', '.join(IMAGE_FORMATS)} file; received image={path!r}: {error}."
        ) from None
    try:
        image = tf.io.decode_image(content, channels=3 if resize else 0, expand_animations=False)
    except tf.errors.InvalidArgumentError as error:
        raise ValueError(f"`image` {path!r} could not be decoded: {error.message}") from None
    height, width, channels = size
    if resize:
        return resize_and_center_crop(
            image, (height, width), crop_pct=crop_pct, interpolation=interpolation
        ).numpy()
    if tuple(image.shape) != (height, width, channels):
        raise ValueError(
            f"`image` {path!r} is {image.shape[1]}x{image.shape[0]} with {image.shape[2]} "
            f"channel(s); the model takes {width}x{height} with {channels}. "
            "Pass --resize (resize=True) to resize and convert it."
        )
    return image.numpy().astype(np.float32)


def class_names_for(predictor, classes: int) -> list[str]:
    """The export's class names, else ImageNet's for 1,000 classes, else "class <i>"."""
    if predictor.class_names:
        return list(predictor.class_names)
    if classes == 1000:
        return [name for _, name in imagenet_classes()]
    return [f"class {index}" for index in range(classes)]


def predict(
    images, model, *, top_k: int = 5, resize: bool = False, preprocessing: str | None = None
):
    """The `top_k` classes of each image file.

    Args:
        images: image file paths.
        model: a `.keras` file, a run folder, a SavedModel folder, a `.tflite` or an `.onnx` file.
        resize: convert images to RGB and resize them as the model is evaluated (the imagenet
            recipe's crop_pct and interpolation from the manifest; else the shorter side to
            the input size and a center crop).
        preprocessing: apply `preprocess_input(mode=preprocessing)` first, for a model that
            does not take raw pixels itself.

    Returns:
        [(path, [(probability, class index, class name), ...]), ...]

    Example:
        >>> model = "saved_models/resnet20-cifar10/1/model_int8.tflite"
        >>> predict(["cat.jpg"], model, resize=True)  # doctest: +SKIP
    """
    if top_k < 1:
        raise ValueError(f"`top_k` must be at least 1; received top_k={top_k!r}.")
    predictor = runtimes.open_model(model)
    if predictor.manifest.get("tflite_and_onnx_output") == "features":
        raise ValueError(
            f"`model` {model!r} has no classifier head (it outputs features); predict needs one."
        )
    preparation = predictor.preparation
    transform = {
        "crop_pct": preparation.get("crop_pct", 0.875),
        "interpolation": preparation.get("interpolation", "bilinear"),
    }
    if preparation["recipe"] != "imagenet":
        transform["crop_pct"] = (
            1.0  # the model saw whole images: crop only what the aspect ratio must lose
        )
    results = []
    for path in images:
        pixels = read_image(path, predictor.input_shape, resize=resize, **transform)[None]
        if preprocessing:
            pixels = preprocess_input(pixels, mode=preprocessing)
        probabilities = runtimes.softmax(predictor(pixels)[0].astype(np.float64))
        names = class_names_for(predictor, len(probabilities))
        order = np.argsort(-probabilities)[:top_k]
        results.append((path, [(float(probabilities[i]), int(i), names[i]) for i in order]))
    return results
