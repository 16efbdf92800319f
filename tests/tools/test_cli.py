"""The command line (keras_resnet.tools.cli), mostly in this process (`helpers.run_cli`): its
commands, user errors in one line with exit code 2, internal errors with their traceback; in
fresh processes (marker `process`) what only a fresh process shows: `--help` without Keras or
TensorFlow, and TensorFlow's C++ logs hidden. And the tools' import graph, which has no cycle."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import assert_one_line_error, export_model, pixels, run_cli
from PIL import Image

import keras_resnet
from keras_resnet.tools import cli
from keras_resnet.tools.cli import _NATIVE_LOG

PACKAGE = Path(keras_resnet.__file__).parent


def test_models_command_prints_counts_and_macs(capsys):
    code, output, _ = run_cli(capsys, "models", "resnet18", "resnet20")
    assert code == 0
    rows = {line.split()[0]: line.split() for line in output.splitlines()[1:]}
    assert rows["resnet18"][2:] == ["224x224", "1000", "11,689,512", "1.81", "74"]
    assert rows["resnet20"][2:] == ["32x32", "10", "269,722", "0.04", "75"]


def test_models_command_rejects_unknown_names(capsys):
    code, _, error = run_cli(capsys, "models", "resnet51")
    assert code == 2 and "unknown model names ['resnet51']" in error, error


@pytest.mark.parametrize(
    "arguments, words",
    [
        (["--weight-decay", "-1"], ("`weight_decay`", "a number >= 0", "weight_decay=-1.0")),
        (["--warmup-epochs", "-3"], ("`warmup_epochs`", "a number >= 0", "warmup_epochs=-3.0")),
        (["--image-size", "0"], ("`image_size`", "None", "an integer >= 1", "image_size=0")),
        (
            ["--option", "zero_init_residual=maybe"],
            ("`zero_init_residual`", "True or False", "zero_init_residual='maybe'"),
        ),
        (["--lr", "nan"], ("`lr`", "a number > 0", "lr=nan")),
    ],
)
def test_meaningless_values_are_one_line_errors(tmp_path, capsys, arguments, words):
    code, _, error = run_cli(capsys, "train", "--out", tmp_path / "run", "--no-export", *arguments)
    assert_one_line_error(code, error, *words)
    assert not (tmp_path / "run").exists()


def test_an_unwritable_export_fails_before_training(tmp_path, capsys):
    (tmp_path / "a-file").write_text("")
    exports = tmp_path / "a-file" / "exports"
    code, _, error = run_cli(capsys, "train", "--out", tmp_path / "run", "--export", exports)
    assert_one_line_error(
        code,
        error,
        "`export`",
        "a folder this process can write",
        f"export='{exports}'",
        f"{tmp_path / 'a-file'} is a file",
    )
    assert not (tmp_path / "run").exists()


def test_internal_errors_keep_their_traceback(monkeypatch, capsys):
    """Not one of the user's errors: `main` lets it through, so Python prints its traceback and
    exits 1."""

    def broken(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "_models", broken)
    with pytest.raises(RuntimeError, match="a bug") as error:
        cli.main(["models"])
    assert error.traceback[-1].name == "broken"  # raised where it happened, not re-raised
    assert capsys.readouterr().err == ""  # nothing of it turned into a one-line error


def test_export_and_predict_commands(tmp_path, capsys):
    model = export_model()
    model.save(tmp_path / "tiny.keras")
    Image.fromarray(pixels(1, seed=9)[0].astype("uint8")).save(tmp_path / "good.png")
    formats = "saved_model,tflite_float32"
    code, output, error = run_cli(
        capsys, "export", tmp_path / "tiny.keras", "--out", tmp_path / "out", "--formats", formats
    )
    assert code == 0, error[-2000:]
    assert f"exported and verified: {tmp_path / 'out' / 'tiny' / '1'}" in output
    tflite = tmp_path / "out" / "tiny" / "1" / "model_float32.tflite"
    code, output, error = run_cli(
        capsys, "predict", tmp_path / "good.png", "--model", tflite, "--top-k", "3"
    )
    assert code == 0, error[-2000:]
    lines = output.splitlines()
    assert lines[0] == str(tmp_path / "good.png") and len(lines) == 4
    expected = model.predict(pixels(1, seed=9), verbose=0)[0]
    assert lines[1].split() == [
        f"{expected.max():.4f}",
        "class",
        f"{expected.argmax()}",
        f"({expected.argmax()})",
    ]


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


def python(*arguments):
    """A fresh `python *arguments`, with TensorFlow's C++ logging at its own default."""
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run(
        [sys.executable, *arguments], capture_output=True, text=True, timeout=600, env=environment
    )


@pytest.mark.process
def test_import_and_help_load_neither_keras_nor_tensorflow():
    result = python(
        "-c",
        "import sys, keras_resnet\n"
        "from keras_resnet.tools import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "names = ('keras', 'tensorflow', 'jax', 'torch')\n"
        "print(sorted(name for name in names if name in sys.modules))",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage: keras-resnet" in result.stdout and result.stdout.strip().endswith("[]")


@pytest.mark.process
def test_cli_hides_tensorflow_cpp_logs_unless_verbose():
    command = (
        "import sys\nfrom keras_resnet.tools import cli\n"
        "cli.main(['models', 'resnet20'] + sys.argv[1:])"
    )
    quiet, verbose = python("-c", command), python("-c", command, "--verbose")
    assert quiet.returncode == verbose.returncode == 0
    native = [line for line in verbose.stderr.splitlines() if _NATIVE_LOG.match(line.encode())]
    assert native, "TensorFlow logged nothing at all: the quiet run proves nothing"
    assert [line for line in quiet.stderr.splitlines() if _NATIVE_LOG.match(line.encode())] == []
    assert "resnet20" in quiet.stdout
