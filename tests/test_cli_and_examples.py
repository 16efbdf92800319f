"""The main job's command and the residual-block example."""

import subprocess
import sys

from examples import residual_block


def test_models_command_prints_counts_and_macs():
    result = subprocess.run(
        [sys.executable, "-m", "keras_resnet.tools.cli", "models", "resnet18", "resnet20"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert rows["resnet18"][2:] == ["224x224", "1000", "11,689,512", "1.81", "74"]
    assert rows["resnet20"][2:] == ["32x32", "10", "269,722", "0.04", "75"]


def test_models_command_rejects_unknown_names():
    result = subprocess.run(
        [sys.executable, "-m", "keras_resnet.tools.cli", "models", "resnet51"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "unknown model names ['resnet51']" in result.stderr


def test_residual_block_example_equals_its_formula():
    differences = residual_block.main(verbose=False)
    assert differences["seed_block"] < 1e-6 and differences["basic_block"] < 1e-6
