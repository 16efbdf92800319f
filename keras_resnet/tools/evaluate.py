"""Evaluation of a trained model: top-1, top-5, loss and a confusion matrix."""

import datetime
import os

import numpy as np

from keras_resnet.files import atomic_write, write_json
from keras_resnet.tools import data as data_lib
from keras_resnet.tools import runtimes


def evaluate(
    model_path: str,
    data: str = data_lib.EMBEDDED,
    *,
    split: str = "test",
    data_dir=None,
    batch_size: int = 256,
    out: str = "evaluations",
    runtime: str | None = None,
) -> dict:
    """Evaluates a model or an export on a data set's split, into a new folder of its own.

    The data's class names are compared with the model's (its manifest's, or its run's) before
    any inference, and the results go to `out/<model>-<split>-<n>/` (evaluation.json,
    confusion_matrix.png), a new `n` each time: an evaluation never writes into an export (a
    version folder TF Serving serves) and never replaces an earlier evaluation.

    Args:
        model_path: a `.keras` file, a run folder (its best.keras), a SavedModel folder, a
            `.tflite` or an `.onnx` file: each runs in its own runtime.
        data: the data set, as `keras-resnet train --data` takes it.
        split: the split of `data` to evaluate.
        data_dir: tensorflow-datasets' data folder, where `data` is a tfds name.
        batch_size: images per inference batch.
        out: the folder that collects evaluations.
        runtime: force a runtime of `keras_resnet.tools.runtimes.FORMATS` (e.g. "saved_model_tf1").

    Returns:
        The metrics, also in `<folder>/evaluation.json` with the model, data, split, number of
        images, class names and the folder itself ("folder").

    Example:
        >>> evaluate("runs/resnet20-digits", "digits")["accuracy"] > 0.9  # doctest: +SKIP
    """
    if not (isinstance(batch_size, int) and not isinstance(batch_size, bool) and batch_size >= 1):
        raise ValueError(
            f"`batch_size` must be an integer >= 1; received batch_size={batch_size!r}."
        )
    predictor = runtimes.open_model(model_path, runtime)
    size = tuple(predictor.input_shape[:2])
    dataset, info = data_lib.load(data, split, data_dir=data_dir)
    classes = predictor(np.zeros((1, *predictor.input_shape), predictor.input_dtype)).shape[1]
    if predictor.class_names is not None and list(predictor.class_names) != list(info.class_names):
        raise ValueError(
            f"The classes of {data!r} ({split}) are not the model's: only in the data: "
            f"{sorted(set(info.class_names) - set(predictor.class_names))}, only in the model: "
            f"{sorted(set(predictor.class_names) - set(info.class_names))}"
            + (
                ""
                if set(info.class_names) != set(predictor.class_names)
                else " (the same names in another order)"
            )
            + f". The model's are {list(predictor.class_names)}."
        )
    if classes != info.num_classes:
        raise ValueError(
            f"The model has {classes} classes and {data!r} ({split}) has {info.num_classes}."
        )
    batches = data_lib.pipeline(
        dataset, training=False, batch_size=batch_size, image_size=size, **predictor.preparation
    )
    labels, logits = [], []
    for images, batch_labels in batches:
        logits.append(predictor(images.numpy()))
        labels.append(batch_labels.numpy())
    labels, logits = np.concatenate(labels), np.concatenate(logits).astype("float64")
    probabilities = runtimes.softmax(logits)
    top5 = np.argsort(-logits, axis=1)[:, :5]
    matrix = np.zeros((info.num_classes, info.num_classes), np.int64)
    np.add.at(matrix, (labels, logits.argmax(axis=1)), 1)
    folder = _new_folder(out, f"{_model_label(predictor)}-{split}")
    metrics = {
        "accuracy": float((logits.argmax(axis=1) == labels).mean()),
        "top5": float((top5 == labels[:, None]).any(axis=1).mean()),
        "loss": float(
            -np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, None)).mean()
        ),
        "examples": int(len(labels)),
        "model": os.path.abspath(predictor.path),
        "runtime": predictor.format,
        "data": os.path.abspath(data) if os.path.isdir(data) else data,
        "split": split,
        "skipped_files": len(info.skipped),
        "class_names": list(info.class_names),
        "confusion_matrix": matrix.tolist(),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "folder": folder,
    }
    write_json(os.path.join(folder, "evaluation.json"), metrics)
    _plot_confusion(matrix, info.class_names, os.path.join(folder, "confusion_matrix.png"))
    return metrics


def _model_label(predictor):
    """ "resnet20-digits-v1-model_int8.tflite" for runs/../resnet20-digits/1/model_int8.tflite,
    the run's or file's name otherwise."""
    path = os.path.abspath(predictor.path)
    parent = os.path.basename(os.path.dirname(path))
    if parent.isdigit():  # an export's version folder: <name>/<version>/<file>
        name = os.path.basename(os.path.dirname(os.path.dirname(path)))
        return f"{name}-v{parent}-{_file_label(path)}"
    if os.path.isdir(path) and os.path.basename(path).isdigit():  # a SavedModel version folder
        return f"{os.path.basename(os.path.dirname(path))}-v{os.path.basename(path)}-saved_model"
    return (
        _file_label(path)
        if not path.endswith(("best.keras", "last.keras"))
        else f"{parent}-{_file_label(path)}"
    )


def _new_folder(out, label):
    """`out/<label>-<n>`, created here with the first free n: concurrent evaluations
    never share one."""
    os.makedirs(out, exist_ok=True)
    number = 1
    while True:
        folder = os.path.join(out, f"{label}-{number}")
        try:
            os.mkdir(folder)
            return folder
        except FileExistsError:
            number += 1


def _file_label(path):
    """ "model_int8.tflite" for .../model_int8.tflite (model_int8.onnx sits beside it), "best" for
    .../best.keras, "saved_model" for a SavedModel folder."""
    if os.path.isdir(path):
        return "saved_model"
    name = os.path.basename(path)
    return name.removesuffix(".keras")


def _plot_confusion(matrix, class_names, path):
    from matplotlib.figure import Figure  # not pyplot: no process-wide backend or figure list

    size = max(4, 0.5 * len(class_names))
    figure = Figure(figsize=(size + 1, size))
    axis = figure.subplots()
    image = axis.imshow(matrix, cmap="Blues")
    if len(class_names) <= 30:
        axis.set_xticks(range(len(class_names)), class_names, rotation=90)
        axis.set_yticks(range(len(class_names)), class_names)
        for (i, j), count in np.ndenumerate(matrix):
            axis.text(
                j,
                i,
                count,
                ha="center",
                va="center",
                fontsize=7,
                color="white" if count > matrix.max() / 2 else "black",
            )
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    figure.colorbar(image)
    figure.tight_layout()
    atomic_write(path, lambda partial: figure.savefig(partial, format="png", dpi=100))
