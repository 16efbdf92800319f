"""What a training run depends on, and the choices the tools accept: plain Python, so that
`keras-resnet --help` lists them without importing Keras or TensorFlow."""

import dataclasses

from keras_resnet._checks import is_int, is_number

EMBEDDED = "digits"  # scikit-learn's bundled 8x8 digits: the data set that needs no download
RECIPES = ("cifar", "imagenet", "none")
STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker")
OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "step")
PRECISIONS = ("float32", "bfloat16", "float16")
TFLITE_FORMATS = {  # format -> file name
    "tflite_float32": "model_float32.tflite",
    "tflite_float16": "model_float16.tflite",
    "tflite_dynamic": "model_dynamic.tflite",
    "tflite_int8": "model_int8.tflite",
}
ONNX_FORMATS = {  # format -> file name
    "onnx": "model.onnx",
    "onnx_int8": "model_int8.onnx",
}
EXPORT_FORMATS = ("saved_model", *TFLITE_FORMATS, *ONNX_FORMATS)
# Quantised on calibration images from the training data; both take raw uint8 pixels.
INT8_FORMATS = ("tflite_int8", "onnx_int8")


@dataclasses.dataclass
class TrainConfig:
    """Everything a run depends on; `keras-resnet train --help` documents each field."""

    model: str = "resnet20"
    data: str = EMBEDDED
    data_dir: str | None = None
    manual_dir: str | None = None
    download: bool = True
    train_split: str = "train"
    eval_split: str = "test"
    image_size: int | None = None
    recipe: str | None = None  # default: "cifar" for CIFAR nets, "imagenet" otherwise
    epochs: int = 30
    batch_size: int = 128  # global, over all replicas
    optimizer: str = "sgd"
    lr: float = 0.1  # at a global batch of 256, scaled linearly (Goyal et al. 2017)
    nesterov: bool = True
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.0
    precision: str = "float32"
    jit_compile: bool = False
    strategy: str = "auto"
    model_options: dict = dataclasses.field(default_factory=dict)
    out: str | None = None
    export: str | None = (
        "saved_models"  # the model base folder for the export at the end; None: no export
    )
    export_formats: tuple = EXPORT_FORMATS
    seed: int = 0
    verbose: int = 1

    @property
    def run_dir(self) -> str:
        """The run folder: `out`, else runs/<model>-<data's name>."""
        import os

        return self.out or os.path.join(
            "runs", f"{self.model}-{os.path.basename(os.path.normpath(self.data))}"
        )

    def check(self):
        """Every value, checked before anything is read or written: a ValueError naming the field,
        the value received and what is accepted."""
        import math

        from keras_resnet.models import MODELS

        def fail(field, accepted):
            raise ValueError(
                f"`{field}` must be {accepted}; received {field}={getattr(self, field)!r}."
            )

        for field, accepted in [
            ("model", tuple(MODELS)),
            ("strategy", STRATEGIES),
            ("optimizer", OPTIMIZERS),
            ("schedule", SCHEDULES),
            ("precision", PRECISIONS),
            ("recipe", (None, *RECIPES)),
            ("verbose", (0, 1, 2)),
        ]:
            if getattr(self, field) not in accepted or isinstance(getattr(self, field), bool):
                fail(field, f"one of {list(accepted)}")
        for field in ("epochs", "batch_size"):
            if not is_int(getattr(self, field)) or getattr(self, field) < 1:
                fail(field, "an integer >= 1")
        if not (is_int(self.seed) and self.seed >= 0):
            fail("seed", "an integer >= 0")
        if self.image_size is not None and not (is_int(self.image_size) and self.image_size >= 1):
            fail("image_size", "None (the images' own size) or an integer >= 1")
        for field, low, high, accepted in [
            ("lr", 0, math.inf, "a number > 0"),
            ("momentum", 0, 1, "a number in [0, 1)"),
            ("weight_decay", 0, math.inf, "a number >= 0"),
            ("warmup_epochs", 0, math.inf, "a number >= 0"),
            ("label_smoothing", 0, 1, "a number in [0, 1)"),
        ]:
            value = getattr(self, field)
            if not is_number(value) or not low <= value < high or (field == "lr" and value == 0):
                fail(field, accepted)
        for field in ("nesterov", "download", "jit_compile"):
            if not isinstance(getattr(self, field), bool):
                fail(field, "True or False")
        if not isinstance(self.model_options, dict) or not all(
            isinstance(key, str) for key in self.model_options
        ):
            fail("model_options", "a dict of the model builder's keyword arguments")
        import inspect

        accepted = [
            name
            for name in inspect.signature(MODELS[self.model]).parameters
            if name
            not in (
                "classes",
                "input_shape",
                "input_tensor",
                "include_top",
                "pooling",
                "name",
                "classifier_activation",
                "include_preprocessing",
            )
        ]
        unknown = sorted(set(self.model_options) - set(accepted))
        if unknown:
            raise ValueError(
                f"`model_options` must be options of {self.model} ({', '.join(accepted)}); "
                f"received {unknown}."
            )
        unknown = [kind for kind in self.export_formats if kind not in EXPORT_FORMATS]
        if unknown or not self.export_formats:
            raise ValueError(
                f"`export_formats` must be a non-empty list from {list(EXPORT_FORMATS)}; "
                f"received export_formats={list(self.export_formats)!r}."
            )
        for field in ("data", "out", "export", "data_dir", "manual_dir"):
            value = getattr(self, field)
            if value is not None and not (isinstance(value, str) and value):
                fail(field, "a non-empty path or name" + ("" if field == "data" else ", or None"))
