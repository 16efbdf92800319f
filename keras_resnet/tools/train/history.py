"""A run's history: `history.csv` (one row per completed epoch) and `curves.png`."""

import csv
import os

from keras_resnet.files import atomic_write


def write_history(run_dir: str, history: list[dict]) -> None:
    """history.csv and curves.png (loss and accuracy per epoch, training and validation), each
    written atomically.

    Example:
        >>> rows = [{"epoch": 1, "loss": 2.1, "accuracy": 0.3}]
        >>> write_history("runs/resnet20-digits", rows)  # doctest: +SKIP
    """
    keys = sorted({key for row in history for key in row} - {"epoch"})

    def write_csv(partial):
        with open(partial, "w", newline="") as file:
            writer = csv.DictWriter(file, ["epoch", *keys])
            writer.writeheader()
            writer.writerows(history)

    atomic_write(os.path.join(run_dir, "history.csv"), write_csv)
    _plot(history, os.path.join(run_dir, "curves.png"))


def _plot(history, path):
    # A Figure of its own, not pyplot's: no process-wide backend or figure list is touched.
    from matplotlib.figure import Figure

    epochs = [row["epoch"] for row in history]
    figure = Figure(figsize=(10, 4))
    axes = figure.subplots(1, 2)
    for axis, metric in zip(axes, ("loss", "accuracy"), strict=True):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = [row.get(prefix + metric) for row in history]
            if any(v is not None for v in values):
                label = f"{'validation' if prefix else 'training'} {metric}"
                axis.plot(epochs, values, style, label=label)
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    atomic_write(path, lambda partial: figure.savefig(partial, format="png", dpi=100))
