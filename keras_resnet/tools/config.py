"""What a training run depends on, and the choices the tools accept: plain Python, so that
`keras-resnet --help` lists them without importing Keras or TensorFlow."""

import dataclasses

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
EXPORT_FORMATS = ("saved_model", *TFLITE_FORMATS, "onnx")


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
    export: str | None = "saved_models"  # the model base folder for the export at the end; None: no export
    export_formats: tuple = EXPORT_FORMATS
    seed: int = 0
    verbose: int = 1

    def check(self):
        from keras_resnet.models import MODELS

        for field, value, accepted in [
            ("model", self.model, tuple(MODELS)), ("strategy", self.strategy, STRATEGIES),
            ("optimizer", self.optimizer, OPTIMIZERS), ("schedule", self.schedule, SCHEDULES),
            ("precision", self.precision, PRECISIONS), ("recipe", self.recipe, (None, *RECIPES)),
        ]:
            if value not in accepted:
                raise ValueError(f"`{field}` must be one of {list(accepted)}; received {field}={value!r}.")
        for field in ("epochs", "batch_size"):
            if not isinstance(getattr(self, field), int) or getattr(self, field) < 1:
                raise ValueError(f"`{field}` must be an integer >= 1; received {field}={getattr(self, field)!r}.")
        if not self.lr > 0:
            raise ValueError(f"`lr` must be > 0; received lr={self.lr!r}.")
        unknown = [kind for kind in self.export_formats if kind not in EXPORT_FORMATS]
        if unknown:
            raise ValueError(f"`export_formats` must be from {list(EXPORT_FORMATS)}; received export_formats={unknown!r}.")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"`label_smoothing` must be in [0, 1); received label_smoothing={self.label_smoothing!r}.")
