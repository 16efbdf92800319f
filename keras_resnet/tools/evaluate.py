"""Evaluation of a trained model: top-1, top-5, loss and a confusion matrix."""

import os

import numpy as np

from keras_resnet.files import atomic_write, write_json
from keras_resnet.tools import data as data_lib
from keras_resnet.tools import runtimes


def evaluate(model_path: str, data: str = data_lib.EMBEDDED, *, split: str = "test", data_dir=None,
             batch_size: int = 256, out: str | None = None, runtime: str | None = None) -> dict:
    """Evaluates a model or an export on a data set's split; writes evaluation-<split>.json and
    confusion_matrix-<split>.png beside the model (or into `out`).

    Args:
        model_path: a `.keras` file, a run folder (its best.keras), a SavedModel folder, a
            `.tflite` or an `.onnx` file: each runs in its own runtime.
        runtime: force a runtime of `keras_resnet.runtimes.FORMATS` (e.g. "saved_model_tf1").

    Example:
        >>> evaluate("runs/resnet20-digits", "digits")["accuracy"] > 0.9
    """
    predictor = runtimes.open_model(model_path, runtime)
    size = tuple(predictor.input_shape[:2])
    dataset, info = data_lib.load(data, split, data_dir=data_dir, image_size=size if None not in size else None)
    batches = data_lib.pipeline(dataset, training=False, batch_size=batch_size, image_size=size, **predictor.preparation)
    labels, logits = [], []
    for images, batch_labels in batches:
        logits.append(predictor(images.numpy()))
        labels.append(batch_labels.numpy())
    labels, logits = np.concatenate(labels), np.concatenate(logits).astype("float64")
    if logits.shape[1] != info.num_classes:
        raise ValueError(f"The model has {logits.shape[1]} classes and {data!r} has {info.num_classes}.")
    probabilities = runtimes.softmax(logits)
    top5 = np.argsort(-logits, axis=1)[:, :5]
    matrix = np.zeros((info.num_classes, info.num_classes), np.int64)
    np.add.at(matrix, (labels, logits.argmax(axis=1)), 1)
    metrics = {
        "accuracy": float((logits.argmax(axis=1) == labels).mean()),
        "top5": float((top5 == labels[:, None]).any(axis=1).mean()),
        "loss": float(-np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, None)).mean()),
        "examples": int(len(labels)),
        "model": os.fspath(model_path),
        "runtime": predictor.format,
        "confusion_matrix": matrix.tolist(),
        "class_names": list(info.class_names),
    }
    if out is None:
        out = predictor.path if os.path.isdir(predictor.path) else os.path.dirname(os.path.abspath(predictor.path))
    os.makedirs(out, exist_ok=True)
    suffix = split if predictor.format == "keras" else f"{split}-{_file_label(predictor.path)}"
    write_json(os.path.join(out, f"evaluation-{suffix}.json"), metrics)
    _plot_confusion(matrix, info.class_names, os.path.join(out, f"confusion_matrix-{suffix}.png"))
    return metrics


def _file_label(path):
    """"model_int8" for .../model_int8.tflite, "saved_model" for a SavedModel folder."""
    return "saved_model" if os.path.isdir(path) else os.path.splitext(os.path.basename(path))[0]


def _plot_confusion(matrix, class_names, path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    size = max(4, 0.5 * len(class_names))
    figure, axis = plt.subplots(figsize=(size + 1, size))
    image = axis.imshow(matrix, cmap="Blues")
    if len(class_names) <= 30:
        axis.set_xticks(range(len(class_names)), class_names, rotation=90)
        axis.set_yticks(range(len(class_names)), class_names)
        for (i, j), count in np.ndenumerate(matrix):
            axis.text(j, i, count, ha="center", va="center", fontsize=7,
                      color="white" if count > matrix.max() / 2 else "black")
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    figure.colorbar(image)
    figure.tight_layout()
    atomic_write(path, lambda partial: figure.savefig(partial, format="png", dpi=100))
    plt.close(figure)
