"""Evaluation of a trained model: top-1, top-5, loss and a confusion matrix."""

import json
import os

import keras
import numpy as np

from keras_resnet import data as data_lib
from keras_resnet.files import atomic_write, write_json


def _resolve(model_path):
    """A .keras file, or a run folder (its best.keras, else last.keras) with its config."""
    config = {}
    if os.path.isdir(model_path):
        config_path = os.path.join(model_path, "config.json")
        if os.path.exists(config_path):
            config = json.load(open(config_path))
        for name in ("best.keras", "last.keras"):
            if os.path.exists(os.path.join(model_path, name)):
                return os.path.join(model_path, name), config
        raise ValueError(f"`model` must be a .keras file or a run folder with best.keras or last.keras; received model={model_path!r}.")
    if not model_path.endswith(".keras") or not os.path.isfile(model_path):
        raise ValueError(f"`model` must be an existing .keras file or run folder; received model={model_path!r}.")
    return model_path, config


def evaluate(model_path: str, data: str = data_lib.EMBEDDED, *, split: str = "test", data_dir=None,
             batch_size: int = 256, out: str | None = None) -> dict:
    """Evaluates a model on a data set's split; writes evaluation.json and confusion_matrix.png.

    Example:
        >>> evaluate("runs/resnet20-digits", "digits")["accuracy"] > 0.9
    """
    path, config = _resolve(model_path)
    model = keras.saving.load_model(path)
    size = tuple(model.input_shape[1:3])
    dataset, info = data_lib.load(data, split, data_dir=data_dir, image_size=size if None not in size else None)
    recipe = config.get("recipe", "none")
    batches = data_lib.pipeline(dataset, training=False, batch_size=batch_size, recipe=recipe, image_size=size)
    labels, scores = [], []
    for images, batch_labels in batches:
        scores.append(model(images, training=False).numpy())
        labels.append(batch_labels.numpy())
    labels, scores = np.concatenate(labels), np.concatenate(scores).astype("float64")
    if scores.shape[1] != info.num_classes:
        raise ValueError(f"The model has {scores.shape[1]} classes and {data!r} has {info.num_classes}.")
    probabilities = scores if np.allclose(scores.sum(axis=1), 1, atol=1e-3) else _softmax(scores)
    top5 = np.argsort(-scores, axis=1)[:, :5]
    matrix = np.zeros((info.num_classes, info.num_classes), np.int64)
    np.add.at(matrix, (labels, scores.argmax(axis=1)), 1)
    metrics = {
        "accuracy": float((scores.argmax(axis=1) == labels).mean()),
        "top5": float((top5 == labels[:, None]).any(axis=1).mean()),
        "loss": float(-np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, None)).mean()),
        "examples": int(len(labels)),
        "confusion_matrix": matrix.tolist(),
        "class_names": list(info.class_names),
    }
    out = out or os.path.dirname(os.path.abspath(path))
    os.makedirs(out, exist_ok=True)
    write_json(os.path.join(out, f"evaluation-{split}.json"), metrics)
    _plot_confusion(matrix, info.class_names, os.path.join(out, f"confusion_matrix-{split}.png"))
    return metrics


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


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
