"""Plain helpers shared by the tests (the fixtures are in conftest.py): data, weights, messages
and the command line in this process."""

import csv
import hashlib
import os
import re
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from keras_resnet.weights import PublishedWeights

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FIXTURES = ROOT.parent / "shared" / "fixtures"
# Any folder benchmarks/make_fixtures.py made can stand in for ../shared/fixtures.
FIXTURES = Path(os.environ.get("KERAS_RESNET_FIXTURES") or DEFAULT_FIXTURES)
# `keras-resnet` in a fresh process, for the tests of processes (signals, locks, logs).
CLI = [sys.executable, "-m", "keras_resnet.tools.cli"]
# A digits run that trains in seconds: batch 256 is 5 steps an epoch.
DIGITS = dict(data="digits", epochs=2, batch_size=256, export=None, verbose=0)
COLOURS = {"red": 0, "green": 1, "blue": 2}
# The model of the export tests: 16x16 raw pixels in, five named classes out.
SIZE, CLASSES = 16, 5
NAMES = ["ant", "bee", "cat", "dog", "eel"]


def images(batch=2, size=32, seed=0):
    """A batch of random channels-last images in [-1, 1]."""
    return np.random.default_rng(seed).uniform(-1, 1, (batch, size, size, 3)).astype("float32")


def randomise_vectors(model, seed=1):
    """Shifts every 1-D weight (biases, BatchNorm gamma/beta/statistics) by U(0.05, 0.2), so that
    a comparison exercises them all; returns the model."""
    rng = np.random.default_rng(seed)
    model.set_weights(
        [
            w + rng.uniform(0.05, 0.2, w.shape).astype(w.dtype) if w.ndim == 1 else w
            for w in model.get_weights()
        ]
    )
    return model


def pixels(batch, seed=0):
    """A batch of random raw pixels (0-255, float32) of the export tests' size."""
    return np.random.default_rng(seed).integers(0, 256, (batch, SIZE, SIZE, 3)).astype("float32")


def export_model(**options):
    """A ResNet-20 at 16x16 that takes raw pixels, with BN statistics that matter (seeded)."""
    import keras

    import keras_resnet

    keras.utils.set_random_seed(0)
    model = keras_resnet.ResNet20(
        classes=CLASSES, input_shape=(SIZE, SIZE, 3), include_preprocessing=True, **options
    )
    return randomise_vectors(model)


def local_weights(path, file_hash):
    """Published weights for resnet18 ("test:local") whose URL is a local file: the real download
    code runs, without a network."""
    return PublishedWeights(
        model="resnet18",
        tag="test:local",
        source="a local file",
        url=Path(path).as_uri(),
        file_hash=file_hash,
        variant="v1.5",
        preprocessing="torch",
    )


def image_folder(
    root,
    classes=("cat", "dog"),
    per_class=6,
    size=12,
    *,
    test_classes=None,
    test_per_class=None,
    tinted=False,
):
    """A folder data set `root/{train,test}/<class>/<index>.png` of random size x size images
    (seeded): uniform noise, or with `tinted` dark noise whose channel named by the class
    (`red`, `green`, `blue`) is raised by 150, so that a classifier tells the classes apart by
    colour. The test split has `test_classes` and `test_per_class` where given. Returns `root`.

    Example:
        >>> image_folder(tmp_path / "data", ("red", "blue"), per_class=8, size=32, tinted=True)
    """
    rng = np.random.default_rng(0)
    splits = [
        ("train", classes, per_class),
        ("test", test_classes or classes, test_per_class or per_class),
    ]
    for split, names, count in splits:
        for name in names:
            folder = Path(root) / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                if tinted:
                    pixels = rng.integers(0, 80, (size, size, 3), np.uint8)
                    pixels[..., COLOURS[name]] += 150
                else:
                    pixels = rng.integers(0, 256, (size, size, 3), np.uint8)
                Image.fromarray(pixels).save(folder / f"{index}.png")
    return Path(root)


def snapshot(folder):
    """Every file of a folder with its bytes' hash: what "nothing changed" means."""
    return {
        os.path.relpath(os.path.join(root, name), folder): hashlib.sha256(
            open(os.path.join(root, name), "rb").read()
        ).hexdigest()
        for root, _, names in os.walk(folder)
        for name in names
        if name != ".lock"
    }


def history(run):
    """The rows of a run's history.csv."""
    with open(Path(run) / "history.csv") as file:
        return list(csv.DictReader(file))


def epochs(run):
    """The epochs a run's history.csv lists, in order: ["1", "2", ...]."""
    return [row["epoch"] for row in history(run)]


def run_cli(capsys, *arguments):
    """`keras-resnet ...` in this process: (exit code, stdout, stderr)."""
    from keras_resnet.tools import cli

    try:
        code = cli.main([str(argument) for argument in arguments])
    except SystemExit as exit:
        code = exit.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def naming(*words):
    """A `match=` pattern for `pytest.raises` that holds when the message contains every one of
    `words`, in any order: the argument's name (with its backticks), the value received, what is
    accepted; rather than a whole sentence, whose wording may change. A word is literal text, or
    an `re.Pattern` for a part that varies.

    Example:
        >>> with pytest.raises(ValueError, match=naming("`epochs`", "epochs=0", ">= 1")):
        ...     train(TrainConfig(epochs=0))
    """
    return "".join(
        f"(?=[\\s\\S]*{word.pattern if isinstance(word, re.Pattern) else re.escape(word)})"
        for word in words
    )


def assert_naming(text, *words):
    """Asserts that `text` contains every one of `words` (literal text, or an `re.Pattern`)."""
    missing = [
        word
        for word in words
        if not (word.search(text) if isinstance(word, re.Pattern) else word in text)
    ]
    assert not missing, f"{missing} not in {text!r}"


def assert_one_line_error(code, error, *words, exit_code=2):
    """A user's error at the command line: exit code 2 (or `exit_code`) and one line,
    `keras-resnet: error: ...`, that names `words`."""
    assert code == exit_code, (code, error)
    assert error.startswith("keras-resnet: error: ") and error.count("\n") == 1, error
    assert error.endswith("\n"), error
    assert_naming(error, *words)
