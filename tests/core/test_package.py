"""The package as a library: a light import, the core/tools split, a quiet and fast CLI, no global
side effects, and channels_first from Keras' global image data format."""

import ast
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from keras.src.backend.common import global_state

import keras_resnet
from keras_resnet.tools.cli import _NATIVE_LOG

PACKAGE = Path(keras_resnet.__file__).parent


def run_python(code, **env):
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
        env={**environment, **env},
        check=True,
    )


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


def _tool_imports():
    """{tool module: the tool modules it imports (at any depth)} for every file under tools/,
    named relative to it ("runtimes", "export", "export.tflite"); the tools package itself is ""."""
    tools = PACKAGE / "tools"
    names = {}
    for path in tools.rglob("*.py"):
        parts = path.relative_to(tools).with_suffix("").parts
        names[path] = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    known = set(names.values())

    def tool(module):
        if module == "keras_resnet.tools":
            return ""
        return (
            module.removeprefix("keras_resnet.tools.")
            if module.startswith("keras_resnet.tools.")
            else None
        )

    graph = {}
    for path, name in names.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {tool(alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path}: relative import"  # absolute imports only
                module = tool(node.module or "")
                if module is not None:  # `from package import module` imports the module
                    for alias in node.names:
                        child = f"{module}.{alias.name}".lstrip(".")
                        found.add(child if child in known else module)
        graph[name] = {module for module in found if module in known and module != name}
    return graph


def test_the_tools_have_no_import_cycle():
    """Which tool imports which, subpackages included: the graph has no cycle, and export
    depends on runtimes, never the other way."""
    tools = _tool_imports()

    def reaches(start, goal, seen=()):
        return any(
            child == goal or (child not in seen and reaches(child, goal, (*seen, child)))
            for child in tools.get(start, ())
        )

    assert {"export", "export.formats", "export.onnx", "runtimes", "export_network"} <= set(tools)
    assert "runtimes" in tools["export.request"] and reaches("export", "runtimes")
    export = [name for name in tools if name == "export" or name.startswith("export.")]
    assert [name for name in export if reaches("runtimes", name)] == []
    assert [name for name in tools if reaches(name, name)] == []


def test_import_and_help_load_neither_keras_nor_tensorflow():
    result = run_python(
        "import sys, keras_resnet\n"
        "from keras_resnet.tools import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(name for name in ('keras', 'tensorflow', 'jax', 'torch') if name in sys.modules))"
    )
    assert "usage: keras-resnet" in result.stdout and result.stdout.strip().endswith("[]")


def test_cli_hides_tensorflow_cpp_logs_unless_verbose(tmp_path):
    command = (
        "import sys\nfrom keras_resnet.tools import cli\n"
        "cli.main(['models', 'resnet20'] + sys.argv[1:])"
    )
    quiet = subprocess.run(
        [sys.executable, "-c", command],
        capture_output=True,
        text=True,
        timeout=600,
        env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"},
    )
    verbose = subprocess.run(
        [sys.executable, "-c", command, "--verbose"],
        capture_output=True,
        text=True,
        timeout=600,
        env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"},
    )
    assert quiet.returncode == verbose.returncode == 0
    native = [line for line in verbose.stderr.splitlines() if _NATIVE_LOG.match(line.encode())]
    assert native, "TensorFlow logged nothing at all: the quiet run proves nothing"
    assert [line for line in quiet.stderr.splitlines() if _NATIVE_LOG.match(line.encode())] == []
    assert "resnet20" in quiet.stdout


def test_builders_and_train_leave_global_state_as_they_found_it(tmp_path):
    from keras_resnet.tools.train import TrainConfig, train

    limit = sys.getrecursionlimit()
    keras_resnet.ResNet110()  # 165 blocks: built under a raised limit
    assert sys.getrecursionlimit() == limit
    random.seed(7)
    np.random.seed(7)
    expected = (random.random(), np.random.random())
    random.seed(7)
    np.random.seed(7)
    seed = global_state.get_global_attribute("global_random_seed")
    train(
        TrainConfig(
            epochs=1,
            batch_size=256,
            precision="bfloat16",
            out=str(tmp_path / "run"),
            export=None,
            verbose=0,
            seed=3,
        )
    )
    assert keras.config.dtype_policy().name == "float32"
    assert (random.random(), np.random.random()) == expected
    assert global_state.get_global_attribute("global_random_seed") == seed != 3


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
        match=r"`data_format` must be None, 'channels_last' or 'channels_first'; "
        r"received data_format='NCHW'",
    ):
        keras_resnet.ResNet18(data_format="NCHW")
    with pytest.raises(
        ValueError, match=r"`input_shape` must be \(channels, height, width\), channels first"
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


def test_the_tools_refuse_channels_first_models(tmp_path):
    from keras_resnet.tools.export import export
    from keras_resnet.tools.train import TrainConfig, train

    with pytest.raises(
        ValueError, match=r"`model_options` must not set data_format='channels_first'"
    ):
        train(
            TrainConfig(
                epochs=1,
                out=str(tmp_path / "run"),
                export=None,
                verbose=0,
                model_options={"data_format": "channels_first"},
            )
        )
    model = keras_resnet.ResNet20(
        data_format="channels_first", input_shape=(3, 32, 32), include_preprocessing=True
    )
    with pytest.raises(ValueError, match=r"is channels-first; exports take channels-last models"):
        export(model, str(tmp_path / "exports"), formats=["saved_model"])
    assert not (tmp_path / "exports").exists()
