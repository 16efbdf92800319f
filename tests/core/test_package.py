"""The core as a library: what the installed package holds, an import that never reaches the
tools or TensorFlow, builders without global side effects, channels_first from Keras' global
image data format, and one docstring per builder."""

import ast
import re
import sys
from pathlib import Path

import keras
import pytest
from helpers import ROOT, naming

import keras_resnet

PACKAGE = Path(keras_resnet.__file__).parent


def test_the_installed_package_holds_every_module():
    """Every module of the repo's keras_resnet/ is in the package imported, wherever it was
    installed from (CI runs this suite against the built wheel: a subpackage missing from the
    wheel fails here)."""
    repo = {
        str(path.relative_to(ROOT / "keras_resnet")) for path in ROOT.glob("keras_resnet/**/*.py")
    }
    installed = {str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")}
    assert {"__init__.py", "models/resnet.py", "tools/train/plan.py"} <= repo
    assert sorted(repo - installed) == [], f"keras_resnet imported from {PACKAGE}"
    print(f"keras_resnet imported from {PACKAGE}")


def imports(path, top_level=False):
    """The modules a file imports: at its top level, or anywhere (functions too)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level else list(ast.walk(tree))
    names = {alias.name for node in nodes if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module for node in nodes if isinstance(node, ast.ImportFrom) and node.module}
    return names


def test_the_core_never_imports_the_tools_or_tensorflow():
    """Only BatchNormalization's fused path imports TensorFlow, inside a call on the TF backend.
    Every core module is read, in subpackages (models/, weights/) too."""
    core = [path for path in PACKAGE.rglob("*.py") if path.relative_to(PACKAGE).parts[0] != "tools"]
    assert {"models/resnet.py", "weights/readers.py"} <= {
        str(path.relative_to(PACKAGE)) for path in core
    }
    for path in core:
        where = str(path.relative_to(PACKAGE))
        assert not {name for name in imports(path) if name.startswith("keras_resnet.tools")}, where
        assert not {
            name for name in imports(path, top_level=True) if name.startswith("tensorflow")
        }, where


def test_builders_leave_global_state_as_they_found_it():
    limit = sys.getrecursionlimit()
    keras_resnet.ResNet110()  # 165 blocks: built under a raised limit
    assert sys.getrecursionlimit() == limit


def test_channels_first_from_keras_image_data_format():
    keras.config.set_image_data_format("channels_first")
    try:
        model = keras_resnet.ResNet18(classes=10)
        layer = model.get_layer("conv1_bn")
    finally:
        keras.config.set_image_data_format("channels_last")
    assert model.input_shape == (None, 3, 224, 224) and model.output_shape == (None, 10)
    assert model.get_layer("conv1_conv").kernel.shape == (
        7,
        7,
        3,
        64,
    )  # the weights of channels_last
    assert layer.axis == 1 and layer.gamma.shape == (64,)
    assert keras_resnet.ResNet18(data_format="channels_first", include_top=False).input_shape == (
        None,
        3,
        None,
        None,
    )
    with pytest.raises(
        ValueError,
        match=naming("`data_format`", "'channels_last' or 'channels_first'", "data_format='NCHW'"),
    ):
        keras_resnet.ResNet18(data_format="NCHW")
    with pytest.raises(
        ValueError,
        match=naming("`input_shape`", "(channels, height, width)", "input_shape=(224, 224)"),
    ):
        keras_resnet.ResNet18(data_format="channels_first", input_shape=(224, 224))


def test_builders_list_their_options_and_share_one_docstring():
    import inspect

    for name, builder in keras_resnet.MODELS.items():
        parameters = inspect.signature(builder).parameters
        assert list(parameters)[:8] == [
            "include_top",
            "weights",
            "input_tensor",
            "input_shape",
            "pooling",
            "classes",
            "classifier_activation",
            "name",
        ], name
        assert {"variant", "data_format", "include_preprocessing"} <= set(parameters), name
        assert ("shortcut" in parameters) == builder.is_cifar, name
        assert (
            builder.__doc__.count("Args:") == 1
            and f"keras_resnet.{builder.__name__}(" in builder.__doc__
        )
    assert re.search(r'"torchvision:IMAGENET1K_V2"', keras_resnet.ResNet50.__doc__)
    assert keras_resnet.ResNet20.__doc__.count("none yet") == 1
