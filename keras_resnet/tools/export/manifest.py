"""`manifest.json`, beside the files of each version: the input they take, the classes, the
preprocessing, the files' sizes, the verification figures and the versions that made them."""

import dataclasses
import datetime
import importlib.metadata as metadata
import os

import keras_resnet
from keras_resnet.tools import DISTRIBUTION
from keras_resnet.tools.config import INT8_FORMATS
from keras_resnet.tools.export_network import INPUT_NAME

# The packages whose versions made the files, beside ours.
PACKAGES = ("tensorflow", "keras", "ai-edge-litert", "tf2onnx", "onnxruntime", "onnx")
PIXELS = "raw RGB pixels in [0, 255]"


def _versions() -> dict:
    versions = {DISTRIBUTION: keras_resnet.__version__}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return versions


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _sizes(folder, files) -> dict:
    """{format: bytes}; the SavedModel's are its graph and variables, not the files beside it."""
    sizes = {kind: os.path.getsize(os.path.join(folder, file)) for kind, file in files.items()}
    if "saved_model" in sizes:
        sizes["saved_model"] += sum(
            os.path.getsize(os.path.join(path, file))
            for path, _, names in os.walk(os.path.join(folder, "variables"))
            for file in names
        )
    return sizes


@dataclasses.dataclass(frozen=True)
class Manifest:
    """One version's description; `as_json()` is what `manifest.json` holds."""

    name: str
    version: int | None  # chosen when published
    input_shape: tuple  # (height, width, channels)
    input_dtype: str  # the SavedModel's input
    raw_pixels: bool  # the model holds its own preprocessing
    preprocessing: str | None  # the one put in front, or to apply before
    output: str  # the network's output layer: "logits", else features
    class_names: list | None
    files: dict  # {format: file name}
    sizes: dict  # {format: bytes}
    parameters: int
    verification: dict  # {runtime: figures}
    extra: dict  # more entries (the recipe, the evaluation); None values are left out
    created: str = dataclasses.field(default_factory=_now)
    versions: dict = dataclasses.field(default_factory=_versions)

    @classmethod
    def of(cls, request, network, folder, files, verification) -> "Manifest":
        """The manifest of `request`'s export, whose `files` (run by `network`) lie in `folder`."""
        return cls(
            name=request.name,
            version=None,
            input_shape=tuple(network.input_shape[1:]),
            input_dtype=request.input_dtype,
            raw_pixels=request.raw,
            preprocessing=request.preprocessing,
            output=network.layers[-1].name,
            class_names=list(request.class_names) if request.class_names else None,
            files=dict(files),
            sizes=_sizes(folder, files),
            parameters=request.model.count_params(),
            verification=verification,
            extra=request.extra or {},
        )

    def _preprocessing(self) -> str:
        if self.raw_pixels:
            return "inside the model"
        if self.input_dtype == "uint8":
            return self.preprocessing
        return f"none inside: apply it before ({self.preprocessing or 'see the weights'})"

    def _outputs(self) -> list:
        if self.output != "logits":
            return ["features"]
        names = ["logits", "probabilities", "top_classes", "top_scores"]
        return names + (["top_names"] if self.class_names else [])

    def as_json(self) -> dict:
        """The manifest as `manifest.json` holds it.

        Example:
            >>> manifest.as_json()["input"]["dtype"]  # doctest: +SKIP
            'float32'
        """
        takes_pixels = self.raw_pixels or self.input_dtype == "uint8"
        return {
            "name": self.name,
            "version": self.version,
            "created": self.created,
            "input": {
                "name": INPUT_NAME,
                "shape": [None, *self.input_shape],
                "dtype": self.input_dtype,
                "values": PIXELS if takes_pixels else "the Keras model's input",
                "int8": {
                    "dtype": "uint8",
                    "values": PIXELS,
                    "files": [file for kind, file in self.files.items() if kind in INT8_FORMATS],
                },
            },
            "preprocessing": self._preprocessing(),
            "outputs": self._outputs(),
            "tflite_and_onnx_output": self.output,
            "class_names": self.class_names,
            "files": self.files,
            "bytes": self.sizes,
            "float32_parameter_bytes": int(self.parameters * 4),
            "verification": self.verification,
            "versions": self.versions,
            **{key: value for key, value in self.extra.items() if value is not None},
        }
