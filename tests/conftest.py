"""The tests' shared fixtures. Plain helpers (images, weights, the image folder, message checks,
the command line in this process) are functions in tests/helpers.py, imported by name; what
several tests share and would otherwise recompute is a fixture here: the torchvision fixtures
folder, one digits run trained once per session, one tiny model exported once per session.

tests/core/ tests the backend-neutral core (keras_resnet/*, models/, weights/), tests/tools/ the
TensorFlow tooling (keras_resnet/tools/). Markers: `process` (tests that start processes, hold
locks across them, send signals or run concurrently) and `slow` (real-size models) are left out
of the default suite; `pytest -m process` and `pytest -m slow` run them (.ci/run does both).
pytest-xdist runs every selection on two workers, a test file at a time (pyproject.toml).
"""

import ast
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Two logical CPU devices for the tf.distribute tests; this must happen before TensorFlow
# initialises its runtime, hence here, before any test module runs an op.
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2
)
if os.environ.get("PYTEST_XDIST_WORKER"):
    # One thread per op in each pytest-xdist worker: the workers already use every core, and
    # more threads than cores only add switching (the suite's tiny ops gain nothing from them).
    tf.config.threading.set_intra_op_parallelism_threads(1)

# Appended, not prepended: `import examples...` finds the repo's folder, and `import keras_resnet`
# still finds the installed package (CI runs this suite against the built wheel).
sys.path.append(str(Path(__file__).resolve().parents[1]))

from helpers import (  # noqa: E402
    DEFAULT_FIXTURES,
    DIGITS,
    FIXTURES,
    NAMES,
    export_model,
    pixels,
)

# The session fixtures that cost seconds, each with the fixtures that request it: the test
# files that use one run on one pytest-xdist worker, so that it is made once (`--dist loadfile`
# with these files as one unit; see `pytest_xdist_make_scheduler`).
SHARED = {
    "exported": "exported",
    "digits_training": "digits run",
    "digits_run": "digits run",
    "copied_run": "digits run",
}


def shared_units(tests):
    """{test file, relative to the repo: its unit} for the files whose tests request a fixture
    of `SHARED`."""
    units = {}
    for path in Path(tests).rglob("test_*.py"):
        requested = {
            argument.arg
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
            for argument in node.args.args
        }
        unit = next((SHARED[name] for name in sorted(requested) if name in SHARED), None)
        if unit:
            units[path.relative_to(Path(tests).parent).as_posix()] = unit
    return units


def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile`, where the files of a `shared_units` unit go to one worker together.
    (`--dist loadgroup` with `xdist_group` marks would say the same, but on pytest 9.2 xdist 3.8
    loses the groups: pytest-dev/pytest-xdist#1386.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    units = shared_units(Path(__file__).parent)

    class SharedFixtureScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid):
            path = super()._split_scope(nodeid)
            return units.get(path, path)

    return SharedFixtureScheduling(config, log)


@pytest.fixture(scope="session")
def fixtures_dir():
    """The torchvision fixtures: $KERAS_RESNET_FIXTURES, else ../shared/fixtures. A missing
    ../shared/fixtures skips the tests that read it, except in CI (.ci/run sets
    KERAS_RESNET_CI), where the parity tests must run; a missing folder named by
    KERAS_RESNET_FIXTURES always fails, since someone asked for it."""
    if not FIXTURES.is_dir():
        message = f"torchvision fixtures not found at {FIXTURES}"
        if FIXTURES != DEFAULT_FIXTURES:
            pytest.fail(message + " (named by KERAS_RESNET_FIXTURES)")
        if os.environ.get("KERAS_RESNET_CI"):
            pytest.fail(message + " (in CI they must be there)")
        pytest.skip(message)
    return FIXTURES


@pytest.fixture(scope="session")
def digits_training(tmp_path_factory):
    """(run folder, metrics): a finished 2-epoch ResNet-20 run on the embedded digits
    (`helpers.DIGITS`), trained once, and what `train` returned."""
    from keras_resnet.tools.train import TrainConfig, train

    run = tmp_path_factory.mktemp("runs") / "resnet20-digits"
    metrics = train(TrainConfig(out=str(run), **DIGITS))
    return run, metrics


@pytest.fixture
def digits_run(digits_training):
    """`digits_training`'s run folder, for tests that only read it (they check it is unchanged);
    `copied_run` for the others."""
    return digits_training[0]


@pytest.fixture
def copied_run(digits_run, tmp_path):
    """A copy of `digits_run` in this test's folder, to change."""
    return Path(shutil.copytree(digits_run, tmp_path / digits_run.name))


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """(model, out, path): `helpers.export_model()` exported once in every format, as version 1
    of "tiny" under `out`, with int8 calibration images and class names. Read only; a test that
    exports again copies `out` first."""
    from keras_resnet.tools.export import export

    model = export_model()
    out = tmp_path_factory.mktemp("saved_models")
    path = export(model, out, name="tiny", calibration=pixels(64, seed=1), class_names=NAMES)
    return model, out, path
