"""Pretrained weights: load them from Keras, keras.applications, torchvision and timm files or
by published name, and save ours back in torchvision's naming.

Every loader reads the whole file and checks it against the model before assigning anything,
so a model is never half-loaded; nothing here unpickles (safetensors and HDF5 only). A model
whose input has other than 3 channels loads RGB weights with its stem's kernel adapted by timm's
rule (`assign.adapt_input_conv`), and a warning that says so.

- `catalogue`: the published weights, one literal row each (`CATALOGUE`, `PUBLISHED`).
- `download`: `fetch`, into the Keras cache, checksum verified.
- `readers`: the file formats; `torchvision_names`: torchvision's and timm's tensor names.
- `assign`: the one check-then-set every source goes through.
"""

import os
import re

import keras

from keras_resnet.weights.assign import HEAD, assign
from keras_resnet.weights.catalogue import (
    CATALOGUE,
    DEFAULT_FOR_VARIANT,
    PUBLISHED,
    PublishedWeights,
    build_index,
)
from keras_resnet.weights.download import fetch
from keras_resnet.weights.readers import (
    DamagedFileError,
    check_floats,
    load_keras_file,
    read_legacy_h5,
    read_safetensors,
)
from keras_resnet.weights.torchvision_names import (
    load_torchvision_state,
    save_torchvision,
    torchvision_arrays,
)

__all__ = [
    "CATALOGUE",
    "HEAD",
    "PUBLISHED",
    "DamagedFileError",
    "PublishedWeights",
    "build_index",
    "fetch",
    "is_published_name",
    "load_torchvision_state",
    "load_weights",
    "published",
    "published_tags",
    "save_torchvision",
    "torchvision_arrays",
]

_PICKLES = (".pth", ".pt", ".bin", ".ckpt", ".pkl")


def load_weights(model: keras.Model, path: "str | os.PathLike | PublishedWeights") -> None:
    """Loads a weights file, or published weights, into `model`.

    Args:
        model: a model built by keras_resnet.
        path: `.safetensors` (torchvision/timm names), `.weights.h5` or `.keras` (Keras),
            `.h5` (keras.applications' files, with or without top), or a `PublishedWeights`
            (downloaded once, checksum verified). Into a model of other than 3 input channels,
            an RGB file's first convolution is adapted (`assign.adapt_input_conv`).

    Example:
        >>> tiny = dict(stage_sizes=(1, 1, 1, 1), filters=8, input_shape=(32, 32, 3), classes=3)
        >>> keras_resnet.ResNet("basic", **tiny).save_weights("tiny.weights.h5")
        >>> model = keras_resnet.ResNet("basic", **tiny)
        >>> load_weights(model, "tiny.weights.h5")
        >>> load_weights(model, "resnet50.pth")
        Traceback (most recent call last):
        ...
        ValueError: `weights` must not be a PyTorch pickle; received weights='resnet50.pth'. ...
    """
    if isinstance(path, PublishedWeights):
        include_top = any(layer.name == HEAD for layer in model.layers)
        cached = fetch(path, include_top=include_top)
        try:
            return load_weights(model, cached)
        except DamagedFileError:
            # An unpinned file that arrived damaged (an interrupted copy, a full disk) stays in the
            # cache and would fail every later load: delete it and download it once more.
            os.remove(cached)
            cached = fetch(path, include_top=include_top)
            try:
                return load_weights(model, cached)
            except DamagedFileError as error:
                os.remove(cached)
                raise DamagedFileError(
                    f"{error}. It was downloaded twice and deleted; the published file itself may "
                    "be damaged."
                ) from None
    path = os.fspath(path)
    if is_published_name(path):
        raise ValueError(
            "`weights` must be None or an existing file for a model built with ResNet(); "
            f"received weights={path!r}. Published weights load through the named builders, "
            f"e.g. keras_resnet.ResNet50(weights={path!r})."
        )
    if path.endswith(_PICKLES):
        raise ValueError(
            f"`weights` must not be a PyTorch pickle; received weights={path!r}. Pickles run "
            "code when loaded and need torch: convert it once with `safetensors.torch.save_file("
            "torch.load(path, weights_only=True), 'model.safetensors')` and pass the "
            ".safetensors file."
        )
    if not os.path.isfile(path):
        raise ValueError(
            "`weights` must be None, a published name or an existing file; received "
            f"weights={path!r}, which does not exist."
        )
    if path.endswith(".safetensors"):
        load_torchvision_state(model, read_safetensors(path), source=path)
    elif path.endswith((".weights.h5", ".keras")):
        load_keras_file(model, path)
    elif path.endswith((".h5", ".hdf5")):
        arrays = read_legacy_h5(path)
        check_floats(
            {
                f"{layer}[{i}]": value
                for layer, values in arrays.items()
                for i, value in enumerate(values)
            },
            path,
        )
        assign(model, arrays, source=path)
    else:
        raise ValueError(
            "`weights` must be a .safetensors, .weights.h5, .keras or .h5 file; received "
            f"weights={path!r}."
        )


def published_tags(model_name: str) -> list[str]:
    """The published weights names of `model_name`, sorted.

    Example:
        >>> published_tags("resnet18")
        ['timm:a1_in1k', 'timm:ra2_in1k', 'torchvision:IMAGENET1K_V1']
    """
    return sorted(tag for name, tag in PUBLISHED if name == model_name)


def is_published_name(weights: object) -> bool:
    """Whether `weights` names published weights ("imagenet", "source:tag") rather than a file.

    Example:
        >>> is_published_name("timm:a1_in1k"), is_published_name("model.safetensors")
        (True, False)
    """
    return (
        isinstance(weights, str)
        and not os.path.exists(weights)
        and (weights == "imagenet" or re.fullmatch(r"[a-z]+:\w+", weights) is not None)
    )


def published(model_name: str, weights: str, variant: str) -> PublishedWeights:
    """The published weights `weights` of `model_name`, checked against the model's variant.

    "imagenet" resolves to the best published weights for the variant (`DEFAULT_FOR_VARIANT`).

    Example:
        >>> published("resnet50", "imagenet", "v1.5").tag
        'torchvision:IMAGENET1K_V2'
    """
    if weights == "imagenet":
        for tag in DEFAULT_FOR_VARIANT[variant]:
            if (model_name, tag) in PUBLISHED:
                weights = tag
                break
    available = published_tags(model_name)
    spec = PUBLISHED.get((model_name, weights))
    if spec is None:
        raise ValueError(
            f"`weights` must be None, a file, or one of "
            f"{['imagenet', *available] if available else []} for {model_name} (variant "
            f"{variant!r}); received weights={weights!r}."
        )
    if spec.variant != variant:
        raise ValueError(
            f"`variant` must be {spec.variant!r} for weights {weights!r} of {model_name}; "
            f"received variant={variant!r}."
        )
    return spec
