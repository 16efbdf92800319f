import os
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

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FIXTURES = ROOT.parent / "shared" / "fixtures"
# Any folder benchmarks/make_fixtures.py made can stand in for ../shared/fixtures.
FIXTURES = Path(os.environ.get("KERAS_RESNET_FIXTURES") or DEFAULT_FIXTURES)
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # for `import examples...` and `import helpers`


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
