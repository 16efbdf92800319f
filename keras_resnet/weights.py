"""Pretrained weights: load them from Keras, keras.applications, torchvision and timm files or
by published name, and save ours back in torchvision's naming.

Every loader reads the whole file and checks it against the model before assigning anything,
so a model is never half-loaded; nothing here unpickles (safetensors and HDF5 only).
"""

import dataclasses
import hashlib
import os
import re
import warnings
from collections.abc import Mapping

import h5py
import keras
import numpy as np
import safetensors
import safetensors.numpy

from keras_resnet.files import atomic_write

HEAD = "predictions"
_BN_PARTS = ("weight", "bias", "running_mean", "running_var")  # gamma, beta, mean, variance
_PICKLES = (".pth", ".pt", ".bin", ".ckpt", ".pkl")


# --- torchvision names ---------------------------------------------------------------------


def _torch_prefix(layer_name: str, avg_down: bool) -> str | None:
    """torchvision's module path for one of our conv/bn/dense layers, or None if it has none."""
    stem = {
        "conv1_conv": "conv1",
        "conv1_bn": "bn1",
        HEAD: "fc",
        # timm's deep stem (ResNet-D): Sequential(conv, bn, relu, conv, bn, relu, conv).
        "conv1_1_conv": "conv1.0",
        "conv1_1_bn": "conv1.1",
        "conv1_2_conv": "conv1.3",
        "conv1_2_bn": "conv1.4",
        "conv1_3_conv": "conv1.6",
    }
    if layer_name in stem:
        return stem[layer_name]
    match = re.fullmatch(r"conv(\d+)_block(\d+)_(\d)_(conv|bn)", layer_name)
    if match:
        stage, block, index, kind = match.groups()
        prefix = f"layer{int(stage) - 1}.{int(block) - 1}"
        if index == "0":  # downsample = Sequential([AvgPool2d,] conv, bn)
            return f"{prefix}.downsample.{int(kind == 'bn') + int(avg_down)}"
        return f"{prefix}.{kind}{index}"
    match = re.fullmatch(r"conv(\d+)_block(\d+)_se_(reduce|expand)", layer_name)
    if match:
        stage, block, part = match.groups()
        return f"layer{int(stage) - 1}.{int(block) - 1}.se.{'fc1' if part == 'reduce' else 'fc2'}"
    return None


def torchvision_arrays(model: keras.Model) -> dict[str, tuple[keras.layers.Layer, int, str]]:
    """Maps every torchvision tensor name to (our layer, index of its weight, layout).

    Example:
        >>> mapping = torchvision_arrays(keras_resnet.ResNet18())
        >>> mapping["layer2.0.downsample.0.weight"][0].name
        'conv3_block1_0_conv'
    """
    # timm's ResNet-D puts an average pool (an Identity where the stride is 1) before every
    # downsample conv, which shifts their indices: downsample.1 (conv) and .2 (bn).
    avg_down = any(
        layer.name == "conv1_1_conv"
        or (isinstance(layer, keras.layers.AveragePooling2D) and layer.name.endswith("_0_pool"))
        for layer in model.layers
    )
    mapping = {}
    for layer in model.layers:
        if not layer.weights:
            continue
        prefix = _torch_prefix(layer.name, avg_down)
        if prefix is None:
            raise ValueError(
                f"Layer {layer.name!r} of model {model.name!r} has weights but no torchvision counterpart."
            )
        if isinstance(layer, keras.layers.BatchNormalization):
            parts = [(p, "vector") for p in _BN_PARTS]
        elif isinstance(layer, keras.layers.Dense):
            parts = [("weight", "linear"), ("bias", "vector")]
        else:
            parts = [("weight", "conv"), ("bias", "vector")][: len(layer.weights)]
        for index, (part, layout) in enumerate(parts):
            mapping[f"{prefix}.{part}"] = (layer, index, layout)
    return mapping


def _to_keras(array: np.ndarray, layout: str) -> np.ndarray:
    if layout == "conv":  # PyTorch OIHW -> Keras HWIO
        return array.transpose(2, 3, 1, 0)
    if layout == "linear":  # PyTorch (out, in) -> Keras (in, out)
        return array.T
    return array


def _to_torch(array: np.ndarray, layout: str) -> np.ndarray:
    if layout == "conv":
        return np.ascontiguousarray(array.transpose(3, 2, 0, 1))
    if layout == "linear":
        return np.ascontiguousarray(array.T)
    return array


def _from_torchvision(model, state: Mapping[str, np.ndarray], source: str):
    """torchvision-named tensors -> {layer name: arrays}, after checking every name."""
    mapping = torchvision_arrays(model)
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    _check_floats(state, source)
    head_keys = {"fc.weight", "fc.bias"}  # the classifier follows the head rule in _assign
    missing = sorted(set(mapping) - set(state) - head_keys)
    unexpected = sorted(set(state) - set(mapping) - head_keys)
    if missing or unexpected:
        raise ValueError(
            f"{source} does not fit model {model.name!r}: "
            f"missing tensors {_some(missing)}, unexpected tensors {_some(unexpected)}. "
            "Is it a checkpoint of another depth or variant (timm's resnet*d need variant='v1d')?"
        )
    layouts = {
        "fc.weight": "linear",
        "fc.bias": "vector",
        **{k: layout for k, (_, _, layout) in mapping.items()},
    }
    arrays, labels = {}, {}
    for key, value in state.items():
        layer, index = (
            (mapping[key][0].name, mapping[key][1])
            if key in mapping
            else (HEAD, int(key == "fc.bias"))
        )
        arrays.setdefault(layer, {})[index] = _to_keras(
            np.asarray(value, dtype=np.float32), layouts[key]
        )
        labels.setdefault(layer, {})[index] = key
    if HEAD in arrays and len(arrays[HEAD]) != 2:
        raise ValueError(f"{source} has only one of 'fc.weight' and 'fc.bias'.")
    return (
        {layer: [parts[i] for i in sorted(parts)] for layer, parts in arrays.items()},
        {layer: [parts[i] for i in sorted(parts)] for layer, parts in labels.items()},
    )


def _some(names, limit=6):
    return (
        f"[{', '.join(map(repr, names[:limit]))}{', ...' if len(names) > limit else ''}]"
        if names
        else "none"
    )


# --- one assignment for every source ---------------------------------------------------------


def _assign(model, arrays: dict[str, list[np.ndarray]], source: str, labels=None) -> None:
    """Checks {layer name: arrays} against the model, then sets them all, or raises.

    The classifier (`predictions`) is loaded only when its shape matches; otherwise, or when
    the model has no top, the backbone is loaded, the head starts fresh, and a warning says so.
    """
    labels = labels or {}
    layers = {layer.name: layer for layer in model.layers if layer.weights}
    arrays = dict(arrays)
    head_note = None
    if HEAD in arrays and HEAD not in layers:
        head_note = "the model has no classifier (include_top=False)"
        del arrays[HEAD]
    elif HEAD in layers and HEAD not in arrays:
        head_note = "the file has no classifier"
    elif HEAD in arrays:
        kernel, theirs = layers[HEAD].weights[0], arrays[HEAD][0]
        if theirs.shape[0] == kernel.shape[0] and theirs.shape[1] != kernel.shape[1]:
            head_note = f"the file's classifier has {theirs.shape[1]} classes and the model's {kernel.shape[1]}"
            del arrays[HEAD]
    expected = set(layers) - ({HEAD} if head_note and HEAD in layers else set())
    missing, unexpected = sorted(expected - set(arrays)), sorted(set(arrays) - set(layers))
    if missing or unexpected:
        raise ValueError(
            f"{source} does not fit model {model.name!r}: layers missing from the file "
            f"{_some(missing)}, layers in the file that the model lacks {_some(unexpected)}. "
            "Is it a file of another depth or variant?"
        )
    for name, values in arrays.items():
        wanted = [tuple(w.shape) for w in layers[name].weights]
        got = [tuple(np.shape(v)) for v in values]
        if wanted != got:
            what = f"tensors {labels[name]}" if name in labels else "weights"
            raise ValueError(
                f"{source}: {what} for layer {name!r} have shapes {got}; the layer expects {wanted}."
            )
    for name, values in arrays.items():
        layers[name].set_weights(values)
    if head_note:
        warnings.warn(
            f"Loaded the backbone from {source}; the classifier {HEAD!r} starts fresh because "
            f"{head_note}. Train it before use (fine-tuning).",
            stacklevel=3,
        )


def load_torchvision_state(
    model: keras.Model, state: Mapping[str, np.ndarray], source: str = "the state dict"
) -> None:
    """Loads a torchvision/timm ResNet state dict (names -> arrays) into `model`.

    Args:
        model: a model built by keras_resnet (variant v1.5 for torchvision and timm's
            resnet*, v1d for timm's resnet*d).
        state: tensor name -> array in PyTorch layout (e.g. `safetensors.numpy.load_file`).
        source: how error messages name the state dict.

    Example:
        >>> model = keras_resnet.ResNet18(classes=10)
        >>> load_torchvision_state(model, safetensors.numpy.load_file("resnet18.safetensors"))
    """
    arrays, labels = _from_torchvision(model, state, source)
    _assign(model, arrays, source, labels)


def save_torchvision(model: keras.Model, path: str | os.PathLike) -> None:
    """Saves the model's weights as a torchvision-named safetensors file (float32, PyTorch layouts).

    torchvision and timm load it with `model.load_state_dict(safetensors.torch.load_file(path))`;
    so does `weights=path` here. The file is written beside `path` and renamed into place, so
    an interrupted save never leaves a half-written file.

    Example:
        >>> save_torchvision(keras_resnet.ResNet50(), "resnet50.safetensors")
    """
    state = {
        name: _to_torch(np.asarray(layer.weights[index].numpy(), dtype=np.float32), layout)
        for name, (layer, index, layout) in torchvision_arrays(model).items()
    }
    for name in [k for k in state if k.endswith(".running_var")]:
        state[name.replace("running_var", "num_batches_tracked")] = np.zeros((), np.int64)
    atomic_write(
        path,
        lambda partial: safetensors.numpy.save_file(
            state, partial, metadata={"format": "pt", "producer": "keras_resnet"}
        ),
    )


# --- files -----------------------------------------------------------------------------------


class DamagedFileError(ValueError):
    """A weights file that cannot be read at all (truncated, corrupt, not the format its name says)."""


def _read_safetensors(path):
    try:
        return safetensors.numpy.load_file(path)
    except (safetensors.SafetensorError, OSError, ValueError) as error:
        raise DamagedFileError(
            f"Cannot read {path} as safetensors (corrupt or truncated?): {error}"
        ) from error


def _check_floats(arrays: Mapping[str, np.ndarray], source: str) -> None:
    """Weights are floating point: an integer or boolean tensor would load as nonsense weights."""
    for name, array in arrays.items():
        if not np.issubdtype(np.asarray(array).dtype, np.floating):
            raise ValueError(
                f"{source}: tensor {name!r} has dtype {np.asarray(array).dtype}; weight files must hold "
                "floating-point tensors (float16, float32 or float64)."
            )


def _read_legacy_h5(path):
    """keras.applications' weight files: Keras 2 HDF5, a group per layer with `weight_names`."""
    try:
        with h5py.File(path, "r") as file:
            group = file["model_weights"] if "model_weights" in file else file
            if "layer_names" not in group.attrs:
                raise ValueError(f"{path} is not a Keras HDF5 weights file (no 'layer_names').")
            arrays = {}
            for layer_name in (
                n.decode() if isinstance(n, bytes) else n for n in group.attrs["layer_names"]
            ):
                names = [
                    n.decode() if isinstance(n, bytes) else n
                    for n in group[layer_name].attrs["weight_names"]
                ]
                if names:
                    arrays[layer_name] = [np.asarray(group[layer_name][n]) for n in names]
            return arrays
    except OSError as error:
        raise DamagedFileError(
            f"Cannot read {path} as HDF5 (corrupt or truncated?): {error}"
        ) from error


def _load_keras_file(model, path):
    """Keras' own .weights.h5/.keras loading, made strict: Keras matches variables by layer
    type and order and only warns about what it skips, so a warning counts as a failure and
    the model gets its old weights back."""
    before = [w.numpy() for w in model.weights]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.load_weights(path)
            problem = next((str(w.message) for w in caught if "saving" in w.filename), None)
        except Exception as error:  # Keras raises ValueError, KeyError, OSError...
            problem = f"{type(error).__name__}: {error}"
    if problem:
        for variable, value in zip(model.weights, before, strict=True):
            variable.assign(value)
        raise ValueError(f"Cannot load {path} into model {model.name!r}: {problem}")


def load_weights(model: keras.Model, path: "str | os.PathLike | PublishedWeights") -> None:
    """Loads a weights file, or published weights, into `model`.

    Args:
        model: a model built by keras_resnet.
        path: `.safetensors` (torchvision/timm names), `.weights.h5` or `.keras` (Keras),
            `.h5` (keras.applications' files, with or without top), or a `PublishedWeights`
            (downloaded once, checksum verified).

    Example:
        >>> load_weights(model, "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5")
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
            f"`weights` must be None or an existing file for a model built with ResNet(); received "
            f"weights={path!r}. Published weights load through the named builders, e.g. keras_resnet.ResNet50(weights={path!r})."
        )
    if path.endswith(_PICKLES):
        raise ValueError(
            f"`weights` must not be a PyTorch pickle; received weights={path!r}. Pickles run "
            "code when loaded and need torch: convert it once with "
            "`safetensors.torch.save_file(torch.load(path, weights_only=True), 'model.safetensors')` "
            "and pass the .safetensors file."
        )
    if not os.path.isfile(path):
        raise ValueError(
            f"`weights` must be None, a published name or an existing file; received weights={path!r}, which does not exist."
        )
    if path.endswith(".safetensors"):
        load_torchvision_state(model, _read_safetensors(path), source=path)
    elif path.endswith((".weights.h5", ".keras")):
        _load_keras_file(model, path)
    elif path.endswith((".h5", ".hdf5")):
        arrays = _read_legacy_h5(path)
        _check_floats(
            {
                f"{layer}[{i}]": value
                for layer, values in arrays.items()
                for i, value in enumerate(values)
            },
            path,
        )
        _assign(model, arrays, source=path)
    else:
        raise ValueError(
            f"`weights` must be a .safetensors, .weights.h5, .keras or .h5 file; received weights={path!r}."
        )


# --- published weights ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PublishedWeights:
    """One set of published ImageNet weights.

    Attributes:
        url: where the file is (`notop_url`: the file without classifier, if published).
        file_hash: the file's SHA-256 (64 hex digits) or, where the publisher gives only that,
            its MD5 (32, keras.applications); None where no hash is pinned here yet.
        variant: the variant the weights are for.
        preprocessing: the `preprocess_input` mode they were trained with.
        top1: ImageNet-1k top-1 accuracy reported by the publisher, in percent.
        input_size, crop_pct, interpolation: the evaluation transform `top1` was measured
            with: resize the shorter side to `floor(input_size / crop_pct)` (antialiased, with
            this interpolation), then center-crop `input_size` (torchvision's
            `Resize` + `CenterCrop`; timm's `crop_pct`). torchvision's V1 weights: 256 -> 224
            (0.875), V2: 232 -> 224 (0.965), both bilinear.
    """

    url: str
    file_hash: str | None
    variant: str
    preprocessing: str
    top1: float | None = None
    notop_url: str | None = None
    notop_hash: str | None = None
    input_size: int = 224
    crop_pct: float = 0.875
    interpolation: str = "bilinear"


# timm's hub repos: (revision, SHA-256 of model.safetensors) as the hub's pages show them, read in
# 2026-11. A pinned revision fixes what the URL serves; None where no full commit or hash was
# found: those download from `main`, and `fetch` warns with the file's SHA-256.
_HUB_PINS = {
    "resnet18.tv_in1k": (
        "590dfdd48494d2316a8385e1ca7fbec3b9359b35",
        "694f673df6520a3158624e8a89af086f59923ee4cd7436fe5bc3bc71d295ad81",
    ),
    "resnet34.tv_in1k": (
        "c983eba7f5e69bc3548a626d1b0b0b914e5de3a6",
        "0bb82595a564991a9d424708b33f5d843f5aaed7f6c0886ff10849ff97022235",
    ),
    "resnet50.tv_in1k": (
        "aa6c2d36d56bc0209040c02b5a7b7d7bf11d57b8",
        "5d061a3c593d795bfe682d9b152bafbcf550579873492def3515b46db1189888",
    ),
    "resnet152.tv_in1k": (
        "2a9b5c2460893a2ab13d8625db2383f3094d704f",
        "15897077afdf4d6334dc0c3f8e6fb483afb3faa9298c139f3c6eb29bca6ae5b2",
    ),
    "resnet50.tv2_in1k": ("f2a8587ea6b4a3a1d84450bcc2561b07952daae2", None),
    "resnet152.tv2_in1k": ("6c03aba8c980980031f286eec039dc10543e01a4", None),
    "resnext50_32x4d.tv_in1k": (
        "ac4eef0c61cc63cb64d8c416bf9b518f757bed1f",
        "c0d85cba49c0e9dedbcf6d4e572e2c5ea5eb68e9d64d0564811fd54d4f72939a",
    ),
    "resnext101_32x8d.tv_in1k": (
        None,
        "71c7427e233904ad828b768b9683876dc71f143876cbadaa26428bfea3560fc3",
    ),
    "resnext101_32x8d.tv2_in1k": (
        "027b0f16bf147c3e56df46309d78421a430cfa05",
        "580cfe940c344745cc8a629517a5c3300b6aeea9bd88a258f61027da010344af",
    ),
    "resnext101_64x4d.tv_in1k": (
        "56d0407ee160d0f4436a455f9d3f66f4454010ac",
        "47528f24e5cd6844249c9e4ea11aed6619431b83a0596afe80efdfffdb369900",
    ),
    "wide_resnet50_2.tv_in1k": (
        "343c5fa59ca8a131e0cdf42144a641b36a0387c2",
        "df6fb6c4824769769de18e14088475fd6ee94236849aa4e5d8022ba9d9a9a16c",
    ),
    "wide_resnet50_2.tv2_in1k": ("349ee6965ad47f083e89f2fb3287f360aaee1dbb", None),
    "wide_resnet101_2.tv2_in1k": (
        "a6575ad1ffc6e79d0ae5f480bb78492e8e63b866",
        "0438046a3b7bb8166e6564dec811985d595f3098c9970181305945e0efa964c3",
    ),
    "resnet18.a1_in1k": (
        "ebd61f9c7420e5b5b53262b8ce6bbe311e1e872a",
        "80c49dee3da4822c009c5a7fe591e9223c5a2cfcf95a4067ca4dfb5a7b89c612",
    ),
    "resnet34.a1_in1k": (
        "0e8757122c4c09b15fb9300c0fd09b3fe89e28bf",
        "829a220f9529d2b1ffdc8719d3273463001e0daf411eaf1916865d9db62c0ed2",
    ),
    "resnet50.a1_in1k": (
        "5d9e13b8fdab4d9718bcf2c8f5c3af01878367e8",
        "773525d5821de224f8f30c33377b7a795d7863e08522698200d3217d3f2a41bb",
    ),
    "resnet101.a1_in1k": (
        "e95c1e3e7cdcc0637817ecc79658817e6dc441bc",
        "1ba5b660e7c175b3c27c557fc7dc8b2815be830c516815b0155f61b403f27380",
    ),
    "resnet152.a1_in1k": (
        "449ee9bfaea31586d09a7e686b5932e9d1272ec6",
        "5a3518da3d35ee04e77a5e69289cff55c3a07a732d7287f6cab20bd4d330eda9",
    ),
    "resnet18d.ra2_in1k": (
        "591cf0147ae10b2e3284b25e0516b2bc5ab17780",
        "0ad5d924c4269ad863590b6ccdd19f5fb48d0bae695c1dd6751de0b0282d8361",
    ),
    "resnet50d.ra2_in1k": ("b5aa118ea31ee6b9e8cceff7764d2156c27b54bc", None),
    "resnet101d.ra2_in1k": (
        None,
        "c2192596da2e8d652cbf0465b8694704247b524efb68ed194504af453830709c",
    ),
    "resnet152d.ra2_in1k": ("3566144f955888325a551683389ff25932c9861a", None),
}


def _hub(timm_name):
    """(url, sha256) of a timm hub repo's model.safetensors, pinned where known."""
    revision, sha256 = _HUB_PINS.get(timm_name, (None, None))
    return (
        f"https://huggingface.co/timm/{timm_name}/resolve/{revision or 'main'}/model.safetensors",
        sha256,
    )


_KERAS = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
# keras.applications publishes MD5s (keras/src/applications/resnet.py, WEIGHTS_HASHES).
_KERAS_MD5 = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}

# (model name, weights name) -> PublishedWeights. torchvision's weights are read from timm's
# safetensors copies on the Hugging Face hub (timm's `*.tv_in1k` / `*.tv2_in1k` are
# torchvision's IMAGENET1K_V1 / _V2), since torchvision itself publishes pickles. Evaluation
# transforms: torchvision/models/resnet.py's `ImageClassification(crop_size, resize_size)` and
# timm/models/resnet.py's `default_cfgs` (input_size, crop_pct, interpolation).
PUBLISHED: dict[tuple[str, str], PublishedWeights] = {}
for _name, _v1, _v2 in [
    ("resnet18", 69.758, None),
    ("resnet34", 73.314, None),
    ("resnet50", 76.130, 80.858),
    ("resnet101", 77.374, 81.886),
    ("resnet152", 78.312, 82.284),
    ("resnext50_32x4d", 77.618, 81.198),
    ("resnext101_32x8d", 79.312, 82.834),
    ("wide_resnet50_2", 78.468, 81.602),
    ("wide_resnet101_2", 78.848, 82.510),
]:
    PUBLISHED[_name, "torchvision:IMAGENET1K_V1"] = PublishedWeights(
        *_hub(f"{_name}.tv_in1k"), "v1.5", "torch", _v1
    )
    if _v2:
        PUBLISHED[_name, "torchvision:IMAGENET1K_V2"] = PublishedWeights(
            *_hub(f"{_name}.tv2_in1k"), "v1.5", "torch", _v2, crop_pct=0.965
        )
# Trained with torchvision's new recipe (pytorch/vision#5935), so evaluated 232 -> 224 although it is "V1".
PUBLISHED["resnext101_64x4d", "torchvision:IMAGENET1K_V1"] = PublishedWeights(
    *_hub("resnext101_64x4d.tv_in1k"), "v1.5", "torch", 83.246, crop_pct=0.965
)
for _name, _top1 in [
    ("resnet18", 71.49),
    ("resnet34", 75.03),
    ("resnet50", 80.38),
    ("resnet101", 81.93),
    ("resnet152", 82.73),
]:
    PUBLISHED[_name, "timm:a1_in1k"] = PublishedWeights(
        *_hub(f"{_name}.a1_in1k"), "v1.5", "torch", _top1, crop_pct=0.95, interpolation="bicubic"
    )
for _name, _top1, _size, _crop in [
    ("resnet18", 73.67, 224, 0.875),
    ("resnet34", 77.11, 224, 0.875),
    ("resnet50", 80.53, 224, 0.875),
    ("resnet101", 82.31, 256, 0.95),
    ("resnet152", 83.13, 256, 0.95),
]:
    PUBLISHED[_name, "timm:ra2_in1k"] = PublishedWeights(
        *_hub(f"{_name}d.ra2_in1k"),
        "v1d",
        "torch",
        _top1,
        input_size=_size,
        crop_pct=_crop,
        interpolation="bicubic",
    )
for _name, (_top, _notop) in _KERAS_MD5.items():
    _file = f"{_name}_weights_tf_dim_ordering_tf_kernels"
    PUBLISHED[_name.removesuffix("v2"), f"keras:imagenet{'v2' if _name.endswith('v2') else ''}"] = (
        PublishedWeights(
            f"{_KERAS}{_file}.h5",
            _top,
            "v2" if _name.endswith("v2") else "v1",
            "tf" if _name.endswith("v2") else "caffe",
            None,
            f"{_KERAS}{_file}_notop.h5",
            _notop,
        )
    )

# "imagenet" picks the best published weights for the model's variant.
_DEFAULT_FOR_VARIANT = {
    "v1.5": ("torchvision:IMAGENET1K_V2", "torchvision:IMAGENET1K_V1"),
    "v1": ("keras:imagenet",),
    "v2": ("keras:imagenetv2",),
    "v1d": ("timm:ra2_in1k",),
}


def published_tags(model_name: str) -> list[str]:
    """The published weights names of `model_name`, e.g. ["keras:imagenet", "torchvision:IMAGENET1K_V1", ...]."""
    return sorted(tag for name, tag in PUBLISHED if name == model_name)


def is_published_name(weights) -> bool:
    """Whether `weights` names published weights ("imagenet", "source:tag") rather than a file."""
    return (
        isinstance(weights, str)
        and not os.path.exists(weights)
        and (weights == "imagenet" or re.fullmatch(r"[a-z]+:\w+", weights) is not None)
    )


def published(model_name: str, weights: str, variant: str) -> PublishedWeights:
    """The published weights `weights` of `model_name`, checked against the model's variant."""
    if weights == "imagenet":
        for tag in _DEFAULT_FOR_VARIANT[variant]:
            if (model_name, tag) in PUBLISHED:
                weights = tag
                break
    available = published_tags(model_name)
    spec = PUBLISHED.get((model_name, weights))
    if spec is None:
        raise ValueError(
            f"`weights` must be None, a file, or one of {['imagenet', *available] if available else []} "
            f"for {model_name} (variant {variant!r}); received weights={weights!r}."
        )
    if spec.variant != variant:
        raise ValueError(
            f"`variant` must be {spec.variant!r} for weights {weights!r} of {model_name}; received variant={variant!r}."
        )
    return spec


def _digest(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(spec: PublishedWeights, *, include_top: bool = True, cache_dir: str | None = None) -> str:
    """Downloads published weights into the Keras cache (once) and verifies their checksum.

    A cached file whose checksum does not match (damaged, or an older download) is deleted and
    downloaded again, once; a second mismatch raises and leaves nothing in the cache. Without a
    network, the error says how to load a local copy instead. Returns the file's path.
    """
    url, expected = spec.url, spec.file_hash
    if not include_top and spec.notop_url:
        url, expected = spec.notop_url, spec.notop_hash
    parts = url.split("/")
    file_name = parts[-1] if "huggingface.co" not in url else f"{parts[-4]}.safetensors"
    if cache_dir is not None:
        os.makedirs(cache_dir, exist_ok=True)  # else Keras falls back to /tmp/.keras
    algorithm = "md5" if expected and len(expected) == 32 else "sha256"
    for _attempt in (1, 2):
        try:
            path = keras.utils.get_file(
                file_name,
                url,
                cache_dir=cache_dir,
                cache_subdir=os.path.join("models", "keras_resnet"),
            )
        except (
            Exception
        ) as error:  # Keras raises a bare Exception("URL fetch failure on ...") offline
            pinned = f" (its {algorithm}: {expected})" if expected else ""
            raise ConnectionError(
                f"Cannot download {url}: {error}. Offline? Download {file_name}{pinned} on a connected machine and "
                f"load the file itself: weights='/path/to/{file_name}'."
            ) from None
        actual = _digest(path, algorithm)
        if expected is None:
            warnings.warn(
                f"No checksum is pinned for {url}; the downloaded file {path} has SHA-256 {actual}.",
                stacklevel=3,
            )
            return path
        if actual == expected.lower():
            return path
        os.remove(path)  # a damaged or stale copy: the next attempt downloads it afresh
    raise ValueError(
        f"Checksum mismatch for {url}: expected {algorithm} {expected}, the download has {actual} (twice). "
        "The file was deleted; the published file may have changed."
    )
