"""What `export` was asked: a model file or run folder opened, the defaults filled in, and every
argument checked before anything is built or written."""

import dataclasses
import os
from typing import Any

from keras_resnet.tools import runtimes
from keras_resnet.tools.config import EXPORT_FORMATS as FORMATS
from keras_resnet.tools.export.calibration import run_calibration
from keras_resnet.tools.export.formats import int8_formats
from keras_resnet.tools.export_network import has_preprocessing


@dataclasses.dataclass(frozen=True, eq=False)
class Request:
    """`export`'s arguments, as its docstring describes them; `resolved()` gives the checked one."""

    model: Any  # a keras.Model; a .keras file or run folder until resolved
    out: str | os.PathLike
    name: str | None
    version: int | None
    formats: tuple
    input_dtype: str
    preprocessing: str | None
    calibration: Any
    sample: Any
    class_names: Any
    extra: dict | None

    @property
    def root(self) -> str:
        """The model base folder TF Serving watches: `<out>/<name>`."""
        return os.path.join(self.out, self.name)

    @property
    def raw(self) -> bool:
        """Whether the model takes raw 0-255 pixels itself."""
        return has_preprocessing(self.model)

    @property
    def int8(self) -> list:
        return int8_formats(self.formats)

    def resolved(self) -> "Request":
        """The request with its model loaded (from a file or run folder, with the run's class
        names, recipe and calibration images) and its name filled in; a ValueError (or
        FileExistsError) for any argument that cannot be exported."""
        request = self._opened() if isinstance(self.model, (str, os.PathLike)) else self
        request = dataclasses.replace(request, name=request.name or request.model.name)
        request._check_options()
        request._check_target()
        return request

    def _opened(self) -> "Request":
        source = self.model
        predictor = runtimes.open_model(source, "keras")
        run = predictor.manifest  # a run folder's config.json: calibrate on its training data
        calibration = self.calibration
        if calibration is None and self.int8 and run.get("data"):
            calibration = run_calibration(source, predictor)
        return dataclasses.replace(
            self,
            model=predictor.keras_model,
            # The run's or file's name.
            name=self.name or os.path.splitext(os.path.basename(os.path.normpath(source)))[0],
            class_names=self.class_names or predictor.class_names,
            calibration=calibration,
            extra={
                "recipe": run.get("recipe"),
                "eval_transform": run.get("eval_transform"),
                **(self.extra or {}),
            },
        )

    def _check_options(self):
        unknown = [kind for kind in self.formats if kind not in FORMATS]
        if unknown or not self.formats:
            raise ValueError(
                f"`formats` must be a non-empty list from {FORMATS}; received "
                f"formats={list(self.formats)!r}."
            )
        if self.input_dtype not in ("float32", "uint8"):
            raise ValueError(
                "`input_dtype` must be 'float32' or 'uint8'; received "
                f"input_dtype={self.input_dtype!r}."
            )
        if (self.input_dtype == "uint8" or self.int8) and not self.raw and not self.preprocessing:
            raise ValueError(
                "`preprocessing` must be 'torch', 'caffe' or 'tf' to export raw-pixel (uint8) "
                "inputs of a model without an ImagePreprocessing layer; received "
                f"preprocessing={self.preprocessing!r}."
            )
        if self.int8 and self.calibration is None:
            raise ValueError(
                "`calibration` must hold raw 0-255 training images for the int8 exports "
                f"({', '.join(self.int8)}); received None. See "
                "keras_resnet.tools.export.calibration_images."
            )
        classes = self.model.output_shape[-1]
        if self.class_names is not None and len(self.class_names) != classes:
            raise ValueError(
                f"`class_names` must have one name per class ({classes}); received "
                f"{len(self.class_names)}."
            )

    def _check_target(self):
        if not self.name or os.sep in self.name or self.name.startswith("."):
            raise ValueError(f"`name` must be a plain folder name; received name={self.name!r}.")
        version = self.version
        if version is not None and (
            not isinstance(version, int) or isinstance(version, bool) or version < 1
        ):
            raise ValueError(f"`version` must be a positive integer; received version={version!r}.")
        target = os.path.join(self.root, str(version))
        if version is not None and os.path.exists(target):
            raise FileExistsError(
                f"`version` {version} already exists at {target}; it is never overwritten. Pass "
                "another version, or none for the next free one."
            )
